#include <doctest/doctest.h>
#include <sys/stat.h>

#include "store/layout.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::test;
namespace fs = std::filesystem;

TEST_CASE("certificate names are safe directory names") {
  for (const char* good : {"www", "example.com", "api_v2", "a-b.c", "9lives"}) {
    CAPTURE(good);
    CHECK(store::validate_certificate_name(good));
  }
  for (const char* bad : {"", ".", "..", "../etc", "a/b", ".hidden", "-flag", "sp ace", "é"}) {
    CAPTURE(bad);
    CHECK_FALSE(store::validate_certificate_name(bad));
  }
  CHECK_FALSE(store::validate_certificate_name(std::string(65, 'a')));
}

TEST_CASE("version labels sort by age") {
  CHECK(store::version_label(kT0, "abcdef0123") == "20260101T000000Z-abcdef01");
  CHECK(store::version_label(kT0, "ff") < store::version_label(kT0 + 1, "00"));
}

TEST_CASE("installing versions keeps each and points current at the newest") {
  TempDir dir;
  store::StateLayout layout(dir / "state");
  REQUIRE(layout.prepare());
  CHECK((fs::status(layout.keys_dir()).permissions() & fs::perms::all) == fs::perms::owner_all);
  auto v1 = layout.install_certificate("www", "v1", "CERT1\n", "CHAIN\n");
  REQUIRE(v1);
  CHECK(read_text(layout.current("www") / "fullchain.pem") == "CERT1\nCHAIN\n");
  REQUIRE(layout.install_certificate("www", "v2", "CERT2\n", "CHAIN\n"));
  CHECK(fs::read_symlink(layout.current("www")) == "v2");
  CHECK(read_text(layout.current("www") / "cert.pem") == "CERT2\n");
  CHECK(read_text(*v1 / "cert.pem") == "CERT1\n");  // old versions stay
  CHECK_FALSE(layout.install_certificate("../escape", "v1", "x", "y"));
}

TEST_CASE("private keys are written 0600 and never replaced") {
  TempDir dir;
  store::StateLayout layout(dir / "state");
  REQUIRE(layout.prepare());
  auto path = layout.write_private_key("www", "v1", "KEY1");
  REQUIRE(path);
  struct stat st {};
  REQUIRE(::stat(path->c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = layout.write_private_key("www", "v1", "KEY2");
  REQUIRE_FALSE(again);
  CHECK(read_text(*path) == "KEY1");
}

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
  auto key1 = layout.write_private_key("www", "k1", "KEY1\n");
  auto key2 = layout.write_private_key("www", "k2", "KEY2\n");
  REQUIRE((key1 && key2));
  auto v1 = layout.install_certificate("www", "v1", "CERT1\n", "CHAIN\n", *key1);
  REQUIRE(v1);
  CHECK(read_text(layout.current("www") / "fullchain.pem") == "CERT1\nCHAIN\n");
  CHECK(read_text(layout.current("www") / "privkey.pem") == "KEY1\n");
  REQUIRE(layout.install_certificate("www", "v2", "CERT2\n", "CHAIN\n", *key2));
  CHECK(fs::read_symlink(layout.current("www")) == "v2");
  CHECK(read_text(layout.current("www") / "cert.pem") == "CERT2\n");
  // current/ is always a matching pair; each version keeps its own key.
  CHECK(read_text(layout.current("www") / "privkey.pem") == "KEY2\n");
  CHECK(read_text(*v1 / "privkey.pem") == "KEY1\n");
  CHECK(read_text(*v1 / "cert.pem") == "CERT1\n");  // old versions stay
  // The link is relative: the state directory can move.
  CHECK(fs::read_symlink(*v1 / "privkey.pem").is_relative());
  // The user's own CSR: no key of ours, no link.
  auto v3 = layout.install_certificate("www", "v3", "CERT3\n", "CHAIN\n", "");
  REQUIRE(v3);
  CHECK_FALSE(fs::exists(fs::symlink_status(*v3 / "privkey.pem")));
  CHECK_FALSE(layout.install_certificate("../escape", "v1", "x", "y", ""));
}

TEST_CASE("a relative state directory is kept as an absolute path") {
  TempDir dir;
  const auto before = fs::current_path();
  fs::current_path(dir.path());
  store::StateLayout layout("state");
  fs::current_path(before);
  CHECK(layout.root().is_absolute());
  CHECK(layout.keys_dir() == fs::weakly_canonical(dir.path()) / "state" / "keys");
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

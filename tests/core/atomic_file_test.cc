#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::test;
namespace fs = std::filesystem;

namespace {

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Anything left behind by a writer: temporary files start with '.'.
int leftovers(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    n += e.path().filename().string().starts_with(".") ? 1 : 0;
  }
  return n;
}

}  // namespace

TEST_CASE("good: an atomic write lands whole, with its mode, and leaves nothing behind") {
  TempDir dir;
  REQUIRE(write_file_atomic(dir / "key.pem", "secret", WriteOptions{.mode = 0600}));
  CHECK(read_text(dir / "key.pem") == "secret");
  CHECK(mode_of(dir / "key.pem") == 0600);
  REQUIRE(write_file_atomic(dir / "key.pem", "replaced", WriteOptions{.mode = 0640}));
  CHECK(read_text(dir / "key.pem") == "replaced");
  CHECK(mode_of(dir / "key.pem") == 0640);
  CHECK(leftovers(dir.path()) == 0);
}

TEST_CASE("bad: replace_existing=false never overwrites, and the old file survives") {
  TempDir dir;
  write_text(dir / "key.pem", "original");
  auto written = write_file_atomic(dir / "key.pem", "new", WriteOptions{0600, std::nullopt, false});
  REQUIRE_FALSE(written);
  CHECK(written.error().message.find("refusing to replace") != std::string::npos);
  CHECK(read_text(dir / "key.pem") == "original");
  CHECK(leftovers(dir.path()) == 0);
}

TEST_CASE("bad: a failed rename keeps the target and removes the temporary file") {
  TempDir dir;
  fs::create_directory(dir / "target");  // rename(file, non-empty dir) fails
  write_text(dir / "target" / "inside", "x");
  auto written = write_file_atomic(dir / "target", "data");
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Errc::io);
  CHECK(written.error().context == (dir / "target").string());
  CHECK(fs::is_directory(dir / "target"));
  CHECK(leftovers(dir.path()) == 0);
}

TEST_CASE("bad: a write into a missing directory fails cleanly") {
  TempDir dir;
  auto written = write_file_atomic(dir / "missing" / "file", "data");
  REQUIRE_FALSE(written);
  CHECK(written.error().message.find("No such file or directory") != std::string::npos);
}

TEST_CASE("good: a symlink is switched atomically") {
  TempDir dir;
  fs::create_directory(dir / "v1");
  fs::create_directory(dir / "v2");
  REQUIRE(replace_symlink_atomic("v1", dir / "current"));
  CHECK(fs::read_symlink(dir / "current") == "v1");
  REQUIRE(replace_symlink_atomic("v2", dir / "current"));
  CHECK(fs::read_symlink(dir / "current") == "v2");
  CHECK(leftovers(dir.path()) == 0);
}

TEST_CASE("read_file enforces its size limit and names directories") {
  TempDir dir;
  write_text(dir / "big", std::string(1000, 'x'));
  CHECK(read_file(dir / "big", 1000).value().size() == 1000);
  auto too_big = read_file(dir / "big", 999);
  REQUIRE_FALSE(too_big);
  CHECK(too_big.error().code == Errc::too_large);
  auto is_dir = read_file(dir.path());
  REQUIRE_FALSE(is_dir);
  CHECK(is_dir.error().message == "is a directory");
  auto missing = read_file(dir / "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("No such file") != std::string::npos);
}

TEST_CASE("stale temporaries of a killed writer are removed; fresh ones and others stay") {
  TempDir dir;
  std::filesystem::create_directories(dir / "sub");
  const auto old_time = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  auto make = [&](const std::filesystem::path& p, bool old) {
    write_text(p, "x");
    if (old) {
      std::filesystem::last_write_time(p, old_time);
    }
  };
  make(dir / ".www.pem.tmp-abcdefghij12", true);        // a killed write: goes
  make(dir / "sub" / ".k.key.tmp-0123456789ab", true);  // below: goes when recursive
  make(dir / ".fresh.pem.tmp-abcdefghij12", false);     // in flight elsewhere: stays
  make(dir / ".www.pem.tmp-short", true);               // not ours: stays
  make(dir / "www.pem.tmp-abcdefghij12", true);         // not ours (no dot): stays
  make(dir / "www.pem", true);                          // the file itself: stays
  CHECK(remove_stale_temporaries(dir.path(), false, std::chrono::seconds(60)) == 1);
  CHECK(std::filesystem::exists(dir / "sub" / ".k.key.tmp-0123456789ab"));
  CHECK(remove_stale_temporaries(dir.path(), true, std::chrono::seconds(60)) == 1);
  CHECK(std::filesystem::exists(dir / ".fresh.pem.tmp-abcdefghij12"));
  CHECK(std::filesystem::exists(dir / ".www.pem.tmp-short"));
  CHECK(std::filesystem::exists(dir / "www.pem.tmp-abcdefghij12"));
  CHECK(std::filesystem::exists(dir / "www.pem"));
  CHECK(remove_stale_temporaries(dir / "missing", true, std::chrono::seconds(0)) == 0);
}

TEST_CASE("a file lock: one holder at a time, the other told who; let go when dropped") {
  TempDir dir;
  const auto path = dir / "name.lock";
  {
    auto held = FileLock::try_acquire(path);
    REQUIRE(held);
    auto second = FileLock::try_acquire(path);
    REQUIRE_FALSE(second);
    CHECK(second.error().message ==
          "held by another process (pid " + std::to_string(::getpid()) + ")");
    FileLock moved = std::move(*held);  // still held
    CHECK_FALSE(FileLock::try_acquire(path));
  }
  CHECK(FileLock::try_acquire(path));
  auto nowhere = FileLock::try_acquire(dir / "missing" / "x.lock");
  REQUIRE_FALSE(nowhere);
  CHECK(nowhere.error().describe().find("cannot open lock file") != std::string::npos);
}

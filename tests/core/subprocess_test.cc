#include "core/subprocess.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tests/support/test_support.h"

using namespace ck;
using ck::test::read_text;
using ck::test::TempDir;

TEST_CASE("a program gets its input, its extra environment and its exit code back") {
  auto run = run_program({"sh", "-c", "cat; echo \"[$GREETING]\"; exit 3"}, {"GREETING=hello"},
                         std::chrono::seconds(10), {}, "from stdin\n");
  REQUIRE(run);
  CHECK(run->exit_code == 3);
  CHECK(run->output == "from stdin\n[hello]\n");
}

TEST_CASE("without input a program reads nothing; too much input is refused before it runs") {
  auto run = run_program({"cat"}, {}, std::chrono::seconds(10));
  REQUIRE(run);
  CHECK(run->exit_code == 0);
  CHECK(run->output.empty());
  auto big = run_program({"cat"}, {}, std::chrono::seconds(10), {},
                         std::string(kMaxProgramInput + 1, 'x'));
  REQUIRE_FALSE(big);
  CHECK(big.error().code == Errc::too_large);
}

TEST_CASE("a program inherits none of our descriptors but its standard three") {
  const int ours = ::open("/dev/null", O_RDONLY);  // without O_CLOEXEC, as libcurl's sockets
  REQUIRE(ours > 2);
  auto run =
      run_program({"sh", "-c", "if [ -e /proc/self/fd/$1 ]; then echo kept; else echo closed; fi",
                   "sh", std::to_string(ours)},
                  {}, std::chrono::seconds(10));
  ::close(ours);
  REQUIRE(run);
  CHECK(run->output == "closed\n");
}

TEST_CASE("a program that outlives its time is killed and named") {
  auto run = run_program({"sleep", "30"}, {}, std::chrono::milliseconds(200));
  REQUIRE_FALSE(run);
  CHECK(run.error().code == Errc::timeout);
  CHECK(run.error().describe().find("sleep") != std::string::npos);
}

TEST_CASE("a timeout kills what the program started too") {
  TempDir dir;
  const auto pid_file = dir / "child.pid";
  auto run = run_program({"sh", "-c", "sleep 30 & echo $! > \"$1\"; wait", "sh", pid_file.string()},
                         {}, std::chrono::milliseconds(2000));
  REQUIRE_FALSE(run);
  CHECK(run.error().code == Errc::timeout);
  CHECK(run.error().describe().find("within 2 s") != std::string::npos);
  const std::string written = read_text(pid_file);
  REQUIRE_MESSAGE(!written.empty(), "the shell did not start within the timeout");
  const pid_t child = std::stoi(written);
  // Reaped by whoever inherits it; a zombie on the way counts as gone.
  auto gone = [&] {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string pid, name, state;
    return !(stat >> pid >> name >> state) || state == "Z";
  };
  for (int i = 0; i < 500 && !gone(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(gone());
}

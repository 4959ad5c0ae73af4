#include "core/subprocess.h"

#include <doctest/doctest.h>

using namespace ck;

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

TEST_CASE("a program that outlives its time is killed and named") {
  auto run = run_program({"sleep", "30"}, {}, std::chrono::milliseconds(200));
  REQUIRE_FALSE(run);
  CHECK(run.error().code == Errc::timeout);
  CHECK(run.error().describe().find("sleep") != std::string::npos);
}

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "tests/support/test_support.h"

namespace ck::test {
namespace {

std::set<int> ports(int count) {
  std::set<int> picked;
  for (int i = 0; i < count; ++i) {
    picked.insert(free_port());
  }
  return picked;
}

}  // namespace

// Run by the test below in a second process of this binary: prints its ports.
TEST_CASE("free_port: the second process") {
  if (std::getenv("CK_FREE_PORT_SECOND_PROCESS") == nullptr) {
    return;
  }
  for (int port : ports(50)) {
    std::cout << "port " << port << '\n';
  }
}

// Tests run side by side: a port handed to one must not be the kernel's pick
// for someone's outgoing connection, nor handed to the test process beside it.
TEST_CASE("free_port: outside the ephemeral range, never the same port for two processes") {
  int low = 0;
  int high = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
  REQUIRE(low > 0);
  const std::set<int> mine = ports(50);
  CHECK(mine.size() == 50);
  for (int port : mine) {
    CHECK_MESSAGE((port < low || port > high), port);
  }

  // This process still holds its ports while the second one picks.
  const auto second = run({std::filesystem::read_symlink("/proc/self/exe").string(),
                           "--test-case=free_port: the second process"},
                          {{"CK_FREE_PORT_SECOND_PROCESS", "1"}});
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  std::istringstream lines(second.out);
  std::string word;
  int theirs = 0;
  while (lines >> word) {
    int port = 0;
    if (word == "port" && lines >> port) {
      ++theirs;
      CHECK_MESSAGE(mine.count(port) == 0, port);
      CHECK_MESSAGE((port < low || port > high), port);
    }
  }
  CHECK(theirs == 50);
}

}  // namespace ck::test

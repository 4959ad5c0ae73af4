#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/deadline_stop.h"

using namespace ck;
using std::chrono::hours;
using std::chrono::milliseconds;

namespace {

// Blocks until `stop` is requested: what a stalled job does.
void wait_for(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  static_cast<void>(wake.wait(lock, stop, [] { return false; }));
}

}  // namespace

TEST_CASE("a deadline stop fires when its time has passed, and says so") {
  const DeadlineStop deadline(std::stop_token{}, milliseconds(20));
  wait_for(deadline.token());
  CHECK(deadline.token().stop_requested());
  CHECK(deadline.passed());
}

TEST_CASE("a deadline stop fires with its parent, which is not its time passing") {
  std::stop_source parent;
  const DeadlineStop deadline(parent.get_token(), hours(1));
  CHECK_FALSE(deadline.token().stop_requested());
  parent.request_stop();
  CHECK(deadline.token().stop_requested());
  CHECK_FALSE(deadline.passed());
}

TEST_CASE("a deadline stop whose parent stopped already is stopped from the start") {
  std::stop_source parent;
  parent.request_stop();
  const DeadlineStop deadline(parent.get_token(), hours(1));
  CHECK(deadline.token().stop_requested());
}

TEST_CASE("a job done before the deadline ends its timer at once") {
  // Destroyed right away: the timer of an hour is stopped and joined, not waited out.
  for (int i = 0; i < 100; ++i) {
    const DeadlineStop deadline(std::stop_token{}, hours(1));
    CHECK_FALSE(deadline.passed());
  }
}

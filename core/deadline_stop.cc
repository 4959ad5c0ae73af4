#include "core/deadline_stop.h"

#include <condition_variable>
#include <mutex>

namespace ck {

DeadlineStop::DeadlineStop(std::stop_token parent, std::chrono::milliseconds timeout) {
  forward_.emplace(std::move(parent), std::function<void()>([this] { source_.request_stop(); }));
  timer_ = std::jthread([this, timeout](std::stop_token done) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    // Returns early when the job is over (the predicate never holds).
    static_cast<void>(wake.wait_for(lock, done, timeout, [] { return false; }));
    if (!done.stop_requested()) {
      passed_ = true;
      source_.request_stop();
    }
  });
}

}  // namespace ck

#pragma once
// A stop token that fires when its parent's does or when a time has passed:
// bounds a whole job, whatever it is blocked in (a request stalled mid-answer,
// a wait between polls), the way a shutdown stops it.

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <thread>

namespace ck {

class DeadlineStop {
 public:
  DeadlineStop(std::stop_token parent, std::chrono::milliseconds timeout);
  ~DeadlineStop() = default;  // the timer thread is stopped and joined first
  DeadlineStop(const DeadlineStop&) = delete;
  DeadlineStop& operator=(const DeadlineStop&) = delete;

  [[nodiscard]] std::stop_token token() const { return source_.get_token(); }
  // Whether the stop came from the time running out (not from the parent).
  [[nodiscard]] bool passed() const { return passed_; }

 private:
  std::stop_source source_;
  std::atomic<bool> passed_{false};
  std::optional<std::stop_callback<std::function<void()>>> forward_;
  std::jthread timer_;  // last: stopped and joined before the rest goes
};

}  // namespace ck

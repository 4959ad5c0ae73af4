#pragma once
// A stop token that fires when its parent's does or when a time has passed:
// bounds a whole job, whatever it is blocked in (a request stalled mid-answer,
// a wait between polls), the way a shutdown stops it.

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "core/error.h"

namespace ck {

// The longest timeout a command or a socket request may ask for: a day is
// already far past any CA's patience, and it keeps the clock sums in range.
inline constexpr std::chrono::seconds kLongestTimeout{24 * 60 * 60};

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

// Runs `job(token)`, a Result-returning call, with a token that stops when
// `parent` does or when `timeout` has passed. A failure caused by the time
// running out becomes a retryable Errc::timeout: "<who> did not finish within
// N s", with `context`.
template <typename Job>
auto within(std::stop_token parent, std::chrono::seconds timeout, const std::string& who,
            const std::string& context, Job&& job) -> decltype(job(std::stop_token{})) {
  const DeadlineStop deadline(std::move(parent), timeout);
  auto outcome = std::forward<Job>(job)(deadline.token());
  if (!outcome && deadline.passed()) {
    return fail(Errc::timeout,
                who + " did not finish within " + std::to_string(timeout.count()) + " s", context,
                true);
  }
  return outcome;
}

}  // namespace ck

#include "core/clock.h"

#include <ctime>
#include <string>
#include <string_view>

namespace ck {

std::int64_t Clock::unix_seconds() const {
  return to_unix_seconds(wall());
}

ManualClock::ManualClock(std::int64_t unix_seconds) : wall_(from_unix_seconds(unix_seconds)) {}

WallTime ManualClock::wall() const {
  std::lock_guard lock(mutex_);
  return wall_;
}

MonoTime ManualClock::monotonic() const {
  std::lock_guard lock(mutex_);
  return mono_;
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  std::lock_guard lock(mutex_);
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
  mono_ += by;
}

void ManualClock::set_unix_seconds(std::int64_t unix_seconds) {
  std::lock_guard lock(mutex_);
  wall_ = from_unix_seconds(unix_seconds);
}

std::int64_t to_unix_seconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

WallTime from_unix_seconds(std::int64_t seconds) {
  return WallTime(std::chrono::seconds(seconds));
}

std::string format_rfc3339(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::int64_t> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) {
    return std::nullopt;
  }
  if (*end == '.') {  // fractional seconds: ignored
    ++end;
    while (*end >= '0' && *end <= '9') {
      ++end;
    }
  }
  if (std::string_view(end) != "Z") {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace ck

#pragma once
// Time is a parameter: code below daemon/ never reads the system clock itself; it
// is handed a Clock. Wall time (certificate validity, schedules) and monotonic time
// (timeouts, measuring) are kept apart. ManualClock lets tests travel in time.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace ck {

using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual WallTime wall() const = 0;
  [[nodiscard]] virtual MonoTime monotonic() const = 0;
  // Wall time as whole seconds since the Unix epoch.
  [[nodiscard]] std::int64_t unix_seconds() const;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] WallTime wall() const override { return std::chrono::system_clock::now(); }
  [[nodiscard]] MonoTime monotonic() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t unix_seconds);
  [[nodiscard]] WallTime wall() const override;
  [[nodiscard]] MonoTime monotonic() const override;
  void advance(std::chrono::nanoseconds by);
  void set_unix_seconds(std::int64_t unix_seconds);

 private:
  mutable std::mutex mutex_;
  WallTime wall_;
  MonoTime mono_{};
};

[[nodiscard]] std::int64_t to_unix_seconds(WallTime t);
[[nodiscard]] WallTime from_unix_seconds(std::int64_t seconds);
// RFC 3339 UTC, e.g. "2026-11-26T23:05:21Z".
[[nodiscard]] std::string format_rfc3339(std::int64_t unix_seconds);
// RFC 3339 UTC back to Unix seconds; fractional seconds are ignored, offsets
// other than Z refused (nullopt).
[[nodiscard]] std::optional<std::int64_t> parse_rfc3339(const std::string& text);

}  // namespace ck

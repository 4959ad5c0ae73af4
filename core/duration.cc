#include "core/duration.h"

#include <cstdint>
#include <limits>

namespace ck {
namespace {

std::int64_t unit_seconds(char unit) {
  switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 7 * 86400;
    default: return 0;
  }
}

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) {
    return fail(Errc::invalid_argument, "empty duration; use e.g. 30d, 12h, 90m, 45s");
  }
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (number > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        return fail(Errc::invalid_argument, "duration " + quoted + " is too large");
      }
      number = number * 10 + (text[i] - '0');
    }
    if (digits == 0) {
      return fail(Errc::invalid_argument, "invalid duration " + quoted +
                                              ": expected a number at position " +
                                              std::to_string(i + 1));
    }
    if (i == text.size()) {
      return fail(Errc::invalid_argument,
                  "invalid duration " + quoted + ": missing unit (s, m, h, d or w)");
    }
    std::int64_t unit = unit_seconds(text[i]);
    if (unit == 0) {
      return fail(Errc::invalid_argument, "invalid duration " + quoted + ": unknown unit '" +
                                              std::string(1, text[i]) + "' (use s, m, h, d or w)");
    }
    ++i;
    if (number > (std::numeric_limits<std::int64_t>::max() - total) / unit) {
      return fail(Errc::invalid_argument, "duration " + quoted + " is too large");
    }
    total += number * unit;
  }
  return std::chrono::seconds(total);
}

std::string format_duration(std::chrono::seconds d) {
  std::int64_t s = d.count();
  if (s == 0) {
    return "0s";
  }
  std::string out;
  if (s < 0) {
    out += '-';
    s = -s;
  }
  for (char unit : {'d', 'h', 'm', 's'}) {
    std::int64_t size = unit_seconds(unit);
    if (s >= size) {
      out += std::to_string(s / size) + unit;
      s %= size;
    }
  }
  return out;
}

}  // namespace ck

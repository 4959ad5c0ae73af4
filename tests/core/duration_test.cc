#include <doctest/doctest.h>

#include "core/duration.h"

using namespace ck;
using std::chrono::seconds;

TEST_CASE("durations parse from s, m, h, d and w") {
  const std::pair<const char*, long> good[] = {
      {"0s", 0},        {"45s", 45},     {"90m", 5400},     {"12h", 43200},
      {"30d", 2592000}, {"2w", 1209600}, {"1d12h", 129600}, {"1h30m15s", 5415},
  };
  for (const auto& [text, expected] : good) {
    const std::string input = text;
    CAPTURE(input);
    auto parsed = parse_duration(text);
    REQUIRE(parsed);
    CHECK(parsed->count() == expected);
  }
}

TEST_CASE("bad durations name the problem") {
  const std::pair<const char*, const char*> bad[] = {
      {"", "empty"},
      {"30", "missing unit"},
      {"30x", "unknown unit"},
      {"d", "expected a number"},
      {"-5d", "expected a number"},
      {"1.5d", "unknown unit"},
      {"99999999999999999999d", "too large"},
      {"1d ", "expected a number at position 3"},
  };
  for (const auto& [text, reason] : bad) {
    const std::string input = text;
    CAPTURE(input);
    auto parsed = parse_duration(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::invalid_argument);
    CHECK(parsed.error().message.find(reason) != std::string::npos);
  }
}

TEST_CASE("durations format back to their shortest spelling") {
  CHECK(format_duration(seconds(0)) == "0s");
  CHECK(format_duration(seconds(86400)) == "1d");
  CHECK(format_duration(seconds(90000)) == "1d1h");
  CHECK(format_duration(seconds(61)) == "1m1s");
  for (long s : {1L, 59L, 3600L, 129600L, 2592000L, 5415L}) {
    CAPTURE(s);
    CHECK(parse_duration(format_duration(seconds(s))).value().count() == s);
  }
}

#include "validator/der.h"

namespace ck::validator::der {
namespace {

int digits(std::string_view s, std::size_t at, std::size_t count) {
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return -1;
    }
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

Result<Element> Reader::next() {
  if (rest_.size() < 2) {
    return fail(Errc::parse, "truncated DER element");
  }
  Element e;
  e.tag = static_cast<unsigned char>(rest_[0]);
  if ((e.tag & 0x1f) == 0x1f) {
    return fail(Errc::parse, "multi-byte DER tags are not supported");
  }
  std::size_t length = static_cast<unsigned char>(rest_[1]);
  std::size_t header = 2;
  if (length & 0x80) {
    const std::size_t octets = length & 0x7f;
    if (octets == 0 || octets > 4) {
      return fail(Errc::parse, "indefinite or oversized DER length");
    }
    if (rest_.size() < 2 + octets) {
      return fail(Errc::parse, "truncated DER length");
    }
    length = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      length = (length << 8) | static_cast<unsigned char>(rest_[2 + i]);
    }
    if (length < 0x80 || (octets > 1 && (length >> (8 * (octets - 1))) == 0)) {
      return fail(Errc::parse, "non-minimal DER length");
    }
    header += octets;
  }
  if (rest_.size() - header < length) {
    return fail(Errc::parse, "DER element longer than its container");
  }
  e.content = rest_.substr(header, length);
  e.encoding = rest_.substr(0, header + length);
  rest_.remove_prefix(header + length);
  return e;
}

Result<Element> Reader::expect(unsigned char tag, std::string_view what) {
  if (peek() != tag) {
    return fail(Errc::parse, "expected " + std::string(what));
  }
  return next();
}

Result<std::int64_t> parse_time(const Element& e) {
  const std::string_view s = e.content;
  int year = 0;
  std::size_t at = 0;
  if (e.tag == kUtcTime && s.size() == 13) {
    year = digits(s, 0, 2);
    year += year < 0 ? 0 : (year >= 50 ? 1900 : 2000);
    at = 2;
  } else if (e.tag == kGeneralizedTime && s.size() == 15) {
    year = digits(s, 0, 4);
    at = 4;
  } else {
    return fail(Errc::parse, "a time must be UTCTime or GeneralizedTime in Z to the second");
  }
  const int month = digits(s, at, 2);
  const int day = digits(s, at + 2, 2);
  const int hour = digits(s, at + 4, 2);
  const int minute = digits(s, at + 6, 2);
  const int second = digits(s, at + 8, 2);
  if (s.back() != 'Z' || year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return fail(Errc::parse, "malformed time \"" + std::string(s) + "\"");
  }
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

Result<std::int64_t> parse_small_integer(const Element& e) {
  if (e.content.empty() || e.content.size() > 7 || (e.content[0] & 0x80)) {
    return fail(Errc::parse, "expected a small non-negative integer");
  }
  std::int64_t value = 0;
  for (char c : e.content) {
    value = (value << 8) | static_cast<unsigned char>(c);
  }
  return value;
}

}  // namespace ck::validator::der

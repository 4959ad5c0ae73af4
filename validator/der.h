#pragma once
// A strict DER reader (X.690) for the parts certkeeper parses itself: CRLs,
// whose revoked list can hold millions of entries and is far cheaper to walk
// than to materialise through OpenSSL. Views only: the input must outlive the
// reader and everything it returns. Single-byte tags, definite minimal lengths.

#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace ck::validator::der {

inline constexpr unsigned char kBoolean = 0x01;
inline constexpr unsigned char kInteger = 0x02;
inline constexpr unsigned char kBitString = 0x03;
inline constexpr unsigned char kOctetString = 0x04;
inline constexpr unsigned char kOid = 0x06;
inline constexpr unsigned char kEnumerated = 0x0a;
inline constexpr unsigned char kUtcTime = 0x17;
inline constexpr unsigned char kGeneralizedTime = 0x18;
inline constexpr unsigned char kSequence = 0x30;
// Context-specific tags: [n] constructed (EXPLICIT or IMPLICIT SEQUENCE) and primitive.
constexpr unsigned char context_constructed(unsigned n) {
  return static_cast<unsigned char>(0xa0 | n);
}
constexpr unsigned char context_primitive(unsigned n) {
  return static_cast<unsigned char>(0x80 | n);
}

struct Element {
  unsigned char tag = 0;
  std::string_view content;   // the value octets
  std::string_view encoding;  // tag, length and value
};

class Reader {
 public:
  explicit Reader(std::string_view data) : rest_(data) {}
  [[nodiscard]] bool empty() const { return rest_.empty(); }
  // The next tag without consuming it; 0 at the end.
  [[nodiscard]] unsigned char peek() const {
    return rest_.empty() ? 0 : static_cast<unsigned char>(rest_.front());
  }
  [[nodiscard]] Result<Element> next();
  // The next element, which must have `tag`.
  [[nodiscard]] Result<Element> expect(unsigned char tag, std::string_view what);

 private:
  std::string_view rest_;
};

// UTCTime (years 1950-2049) or GeneralizedTime, both "Z" and to the second
// (RFC 5280 §4.1.2.5.1, §4.1.2.5.2), to Unix seconds.
[[nodiscard]] Result<std::int64_t> parse_time(const Element& element);

// The value of a small non-negative INTEGER or ENUMERATED.
[[nodiscard]] Result<std::int64_t> parse_small_integer(const Element& element);

}  // namespace ck::validator::der

#pragma once
// ClientHellos a scan builds itself, so that any suite of the IANA registry can
// be offered at any version from SSL 3.0 to TLS 1.3, and SSL 2.0's own hello,
// whatever the local OpenSSL still implements. Only the server's first answer
// is read (server_hello.h, and read_sslv2_server_hello below): nothing it says
// is trusted and no key is ever derived. TLS 1.3 hellos carry no key share, so
// that a server answers with a HelloRetryRequest naming its suite and group
// (RFC 8446 §4.1.1, §4.2.8). Pure: bytes out, bytes in.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ck::validator {

struct HelloOffer {
  std::uint16_t version = 0x0303;     // 0x0300 SSL 3.0 ... 0x0304 TLS 1.3
  std::vector<std::uint16_t> suites;  // in order of preference
  std::vector<std::uint16_t> groups;  // supported_groups; TLS 1.3 sends no key share for any
  std::string server_name;            // "" sends none
};

// The named groups a scan offers by default: X25519MLKEM768, the elliptic
// curves and the finite-field groups (RFC 8446 §4.2.7, RFC 7919).
[[nodiscard]] std::vector<std::uint16_t> all_named_groups();
[[nodiscard]] std::string group_name(std::uint16_t group);    // "x25519", "0x1234" when unknown
[[nodiscard]] std::uint16_t group_id(std::string_view name);  // 0 when unknown
// RFC 7919 §2: the finite-field groups' range (ffdhe2048 is 0x0100).
[[nodiscard]] constexpr bool is_finite_field_group(std::uint16_t group) {
  return group >= 0x0100 && group <= 0x01FF;
}

// One TLS record holding the ClientHello; `random` fills its random field.
[[nodiscard]] std::string build_client_hello(const HelloOffer& offer,
                                             std::span<const unsigned char, 32> random);

// SSL 2.0's CLIENT-HELLO offering `ciphers` (3-byte kinds); `challenge` is its 16 bytes.
[[nodiscard]] std::string build_sslv2_client_hello(std::span<const std::uint32_t> ciphers,
                                                   std::span<const unsigned char, 16> challenge);

struct Sslv2Reading {
  enum class Kind { incomplete, hello, refused, malformed };
  Kind kind = Kind::incomplete;
  std::vector<std::uint32_t> ciphers;  // hello: the kinds the server shares with the offer
  std::string problem;                 // malformed
};
// `bytes` is everything received so far. Anything that is not an SSL 2.0
// record (a TLS alert, say) is a refusal.
[[nodiscard]] Sslv2Reading read_sslv2_server_hello(std::span<const unsigned char> bytes);

}  // namespace ck::validator

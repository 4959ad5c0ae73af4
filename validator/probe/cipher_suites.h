#pragma once
// The cipher suites a scan can offer, by their IANA value and name, whatever
// the local OpenSSL implements: each is only named in a ClientHello we build,
// never used. What a suite is made of (and so how weak it is) is read from its
// IANA name, which spells out key exchange, cipher and MAC.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ck::validator {

struct CipherSuite {
  std::uint16_t id;
  std::string_view name;  // IANA: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
};

// The registry, sorted by value.
[[nodiscard]] std::span<const CipherSuite> iana_cipher_suites();
[[nodiscard]] const CipherSuite* find_cipher_suite(std::uint16_t id);  // null when unknown
[[nodiscard]] bool is_tls13_suite(const CipherSuite& suite);           // TLS_AES_128_GCM_SHA256...
// AEAD and SHA-2 MACs came with TLS 1.2: not offered below it.
[[nodiscard]] bool needs_tls12(const CipherSuite& suite);
// A finite-field (EC-less) Diffie-Hellman suite, whose ServerKeyExchange is
// ServerDHParams: DHE_RSA, DHE_DSS, DH_anon (RFC 5246 §7.4.3).
[[nodiscard]] bool sends_dh_params(const CipherSuite& suite);

struct Sslv2Cipher {
  std::uint32_t id;  // 3 bytes on the wire
  std::string_view name;
};
[[nodiscard]] std::span<const Sslv2Cipher> sslv2_ciphers();

enum class Bulk { none, rc4, des, triple_des, rc2, idea, other };

// What a suite is made of, from its IANA name (or an SSLv2 kind's).
struct CipherTraits {
  std::string name;
  bool forward_secrecy = true;  // an ephemeral key exchange (or TLS 1.3)
  bool anonymous = false;       // no server authentication
  bool export_grade = false;
  Bulk bulk = Bulk::other;
  bool cbc = false;  // a block cipher in CBC mode (MAC-then-encrypt)
};
[[nodiscard]] CipherTraits traits_of(std::string_view name);

}  // namespace ck::validator

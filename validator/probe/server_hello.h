#pragma once
// Reads the server's first answer to a ClientHello straight from the TLS
// records, without OpenSSL: a ServerHello (or HelloRetryRequest) naming the
// chosen version and cipher suite, or an alert. Scans need only that much, and
// reading it here spares parsing the certificates and deriving the keys of
// every handshake a scan starts (RFC 8446 §4.1.3, §4.2.1; RFC 5246 §7.4.1.3).
// Pure: bytes in, a verdict out.

#include <cstdint>
#include <span>
#include <string>

namespace ck::validator {

// RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
inline constexpr unsigned char kHelloRetryRandom[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

struct ServerHelloReading {
  enum class Kind {
    incomplete,  // more bytes are needed
    hello,       // a ServerHello or HelloRetryRequest
    alert,       // the server refused with an alert
    malformed,   // anything else: not a TLS server, or a broken one
  };
  Kind kind = Kind::incomplete;
  std::uint16_t version = 0;       // hello: supported_versions when present, else legacy_version
  std::uint16_t cipher_suite = 0;  // hello
  bool hello_retry = false;        // hello: a HelloRetryRequest
  std::uint16_t group = 0;         // hello: the key exchange's group, when known (0 when not)
  // TLS <= 1.2 with a DHE suite: the ServerKeyExchange's prime and generator,
  // big-endian (RFC 5246 §7.4.3), which name its group when it is a known one.
  std::string dh_prime;
  std::string dh_generator;
  std::uint8_t alert_level = 0;  // alert
  std::uint8_t alert_description = 0;
  std::string problem;  // malformed: what was wrong
};

// `bytes` is everything received so far, from the first record on.
[[nodiscard]] ServerHelloReading read_server_hello(std::span<const unsigned char> bytes);

// The same, read on to TLS 1.2's ServerKeyExchange (past the Certificate) for
// the ECDHE group it names (RFC 8422 §5.4), set in `group`, or a DHE suite's
// prime and generator; neither when the flight ends (ServerHelloDone) without
// one. A TLS 1.3 answer ends at its ServerHello, as above.
[[nodiscard]] ServerHelloReading read_server_key_exchange(std::span<const unsigned char> bytes);

}  // namespace ck::validator

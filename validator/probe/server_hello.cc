#include "validator/probe/server_hello.h"

#include <algorithm>
#include <vector>

namespace ck::validator {
namespace {

constexpr unsigned char kAlert = 21;
constexpr unsigned char kHandshake = 22;
constexpr unsigned char kServerHello = 2;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kMaxRecord = (1u << 14) + 2048;  // RFC 5246 §6.2.3
constexpr std::uint16_t kSupportedVersions = 43;
constexpr std::uint16_t kKeyShare = 51;

ServerHelloReading malformed(std::string problem) {
  ServerHelloReading r;
  r.kind = ServerHelloReading::Kind::malformed;
  r.problem = std::move(problem);
  return r;
}

// Big-endian reads over a bounded cursor; any overrun makes it fail.
struct Cursor {
  std::span<const unsigned char> rest;
  bool ok = true;

  std::uint32_t number(std::size_t octets) {
    if (!ok || rest.size() < octets) {
      ok = false;
      return 0;
    }
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      value = (value << 8) | rest[i];
    }
    rest = rest.subspan(octets);
    return value;
  }
  std::span<const unsigned char> take(std::size_t octets) {
    if (!ok || rest.size() < octets) {
      ok = false;
      return {};
    }
    auto taken = rest.first(octets);
    rest = rest.subspan(octets);
    return taken;
  }
};

// The body of a complete ServerHello message (after its 4-byte header).
ServerHelloReading parse_body(std::span<const unsigned char> body) {
  Cursor in{body};
  ServerHelloReading r;
  r.kind = ServerHelloReading::Kind::hello;
  r.version = static_cast<std::uint16_t>(in.number(2));
  const auto random = in.take(32);
  r.hello_retry = in.ok && std::ranges::equal(random, kHelloRetryRandom);
  in.take(in.number(1));  // legacy_session_id
  r.cipher_suite = static_cast<std::uint16_t>(in.number(2));
  in.number(1);  // compression method
  if (!in.ok) {
    return malformed("truncated ServerHello");
  }
  if (in.rest.empty()) {
    return r;  // TLS 1.2 and older may end here: no extensions
  }
  Cursor extensions{in.take(in.number(2))};
  if (!in.ok || !in.rest.empty()) {
    return malformed("ServerHello extensions do not fill the message");
  }
  while (extensions.ok && !extensions.rest.empty()) {
    const auto type = extensions.number(2);
    Cursor data{extensions.take(extensions.number(2))};
    if (extensions.ok && type == kSupportedVersions) {
      r.version = static_cast<std::uint16_t>(data.number(2));
      if (!data.ok || !data.rest.empty()) {
        return malformed("bad supported_versions in ServerHello");
      }
    }
    if (extensions.ok && type == kKeyShare) {  // HRR: the group alone; ServerHello: and a key
      r.group = static_cast<std::uint16_t>(data.number(2));
      if (!data.ok) {
        return malformed("bad key_share in ServerHello");
      }
    }
  }
  return extensions.ok ? r : malformed("truncated ServerHello extension");
}

}  // namespace

ServerHelloReading read_server_hello(std::span<const unsigned char> bytes) {
  std::vector<unsigned char> handshake;  // handshake-record payloads, joined
  while (bytes.size() >= kRecordHeader) {
    const unsigned char type = bytes[0];
    const std::size_t length = (std::size_t{bytes[3]} << 8) | bytes[4];
    if (type != kAlert && type != kHandshake) {
      return malformed("not a TLS handshake answer (record type " + std::to_string(type) + ")");
    }
    if (bytes[1] != 3 || length == 0 || length > kMaxRecord) {
      return malformed("not a TLS record header");
    }
    if (bytes.size() < kRecordHeader + length) {
      break;
    }
    const auto payload = bytes.subspan(kRecordHeader, length);
    bytes = bytes.subspan(kRecordHeader + length);
    if (type == kAlert) {
      if (!handshake.empty() || payload.size() != 2) {
        return malformed("bad alert record");
      }
      ServerHelloReading r;
      r.kind = ServerHelloReading::Kind::alert;
      r.alert_level = payload[0];
      r.alert_description = payload[1];
      return r;
    }
    handshake.insert(handshake.end(), payload.begin(), payload.end());
    if (handshake[0] != kServerHello) {
      return malformed("the server's first message is not a ServerHello (type " +
                       std::to_string(handshake[0]) + ")");
    }
    if (handshake.size() >= 4) {
      const std::size_t body =
          (std::size_t{handshake[1]} << 16) | (std::size_t{handshake[2]} << 8) | handshake[3];
      if (handshake.size() >= 4 + body) {
        return parse_body(std::span(handshake).subspan(4, body));
      }
      if (body > kMaxRecord) {
        return malformed("ServerHello too long");
      }
    }
  }
  if (!bytes.empty() && bytes[0] != kAlert && bytes[0] != kHandshake) {
    return malformed("not a TLS handshake answer (record type " + std::to_string(bytes[0]) + ")");
  }
  return {};
}

}  // namespace ck::validator

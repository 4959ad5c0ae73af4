#include "validator/probe/server_hello.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "validator/probe/cipher_suites.h"

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

namespace {

constexpr unsigned char kServerKeyExchange = 12;
constexpr unsigned char kServerHelloDone = 14;
constexpr unsigned char kNamedCurve = 3;  // RFC 8422 §5.4: ECCurveType named_curve

// The handshake-record payloads of `bytes` joined, as far as records are
// complete; `stop` is set by an alert or anything that is not a TLS record.
struct Joined {
  std::vector<unsigned char> handshake;
  std::optional<ServerHelloReading> stop;
};

Joined join_handshake(std::span<const unsigned char> bytes) {
  Joined j;
  while (bytes.size() >= kRecordHeader) {
    const unsigned char type = bytes[0];
    const std::size_t length = (std::size_t{bytes[3]} << 8) | bytes[4];
    if (type != kAlert && type != kHandshake) {
      j.stop = malformed("not a TLS handshake answer (record type " + std::to_string(type) + ")");
      return j;
    }
    if (bytes[1] != 3 || length == 0 || length > kMaxRecord) {
      j.stop = malformed("not a TLS record header");
      return j;
    }
    if (bytes.size() < kRecordHeader + length) {
      return j;
    }
    const auto payload = bytes.subspan(kRecordHeader, length);
    bytes = bytes.subspan(kRecordHeader + length);
    if (type == kAlert) {
      if (payload.size() != 2) {
        j.stop = malformed("bad alert record");
        return j;
      }
      ServerHelloReading r;
      r.kind = ServerHelloReading::Kind::alert;
      r.alert_level = payload[0];
      r.alert_description = payload[1];
      j.stop = r;
      return j;
    }
    j.handshake.insert(j.handshake.end(), payload.begin(), payload.end());
  }
  if (!bytes.empty() && bytes[0] != kAlert && bytes[0] != kHandshake) {
    j.stop = malformed("not a TLS handshake answer (record type " + std::to_string(bytes[0]) + ")");
  }
  return j;
}

// The handshake message at `at` of `joined`: its type and body, when complete.
struct Message {
  unsigned char type = 0;
  std::span<const unsigned char> body;
  bool complete = false;
  bool too_long = false;
};

Message message_at(std::span<const unsigned char> joined, std::size_t at) {
  Message m;
  if (joined.size() < at + 4) {
    return m;
  }
  m.type = joined[at];
  const std::size_t length =
      (std::size_t{joined[at + 1]} << 16) | (std::size_t{joined[at + 2]} << 8) | joined[at + 3];
  m.too_long = m.type == kServerHello && length > kMaxRecord;
  if (joined.size() >= at + 4 + length) {
    m.body = joined.subspan(at + 4, length);
    m.complete = true;
  }
  return m;
}

}  // namespace

ServerHelloReading read_server_hello(std::span<const unsigned char> bytes) {
  const Joined j = join_handshake(bytes);
  const Message hello = message_at(j.handshake, 0);
  if (!j.handshake.empty() && j.handshake[0] != kServerHello) {
    return malformed("the server's first message is not a ServerHello (type " +
                     std::to_string(j.handshake[0]) + ")");
  }
  if (hello.complete) {
    return parse_body(hello.body);
  }
  if (hello.too_long) {
    return malformed("ServerHello too long");
  }
  return j.stop.value_or(ServerHelloReading{});
}

ServerHelloReading read_server_key_exchange(std::span<const unsigned char> bytes) {
  ServerHelloReading r = read_server_hello(bytes);
  if (r.kind != ServerHelloReading::Kind::hello || r.version >= 0x0304) {
    return r;
  }
  const Joined j = join_handshake(bytes);
  std::size_t at = 0;
  for (Message m = message_at(j.handshake, at); m.complete;
       at += 4 + m.body.size(), m = message_at(j.handshake, at)) {
    if (m.type == kServerHelloDone) {
      return r;  // no ServerKeyExchange: no group
    }
    if (m.type == kServerKeyExchange) {
      Cursor in{m.body};
      if (const CipherSuite* suite = find_cipher_suite(r.cipher_suite);
          suite && sends_dh_params(*suite)) {
        const auto prime = in.take(in.number(2));
        const auto generator = in.take(in.number(2));
        r.dh_prime.assign(prime.begin(), prime.end());
        r.dh_generator.assign(generator.begin(), generator.end());
      } else if (in.number(1) == kNamedCurve) {
        r.group = static_cast<std::uint16_t>(in.number(2));
      }
      return in.ok ? r : malformed("truncated ServerKeyExchange");
    }
  }
  return j.stop.value_or(ServerHelloReading{});
}

}  // namespace ck::validator

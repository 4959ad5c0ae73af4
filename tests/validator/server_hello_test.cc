// The scan's reader of a server's first answer, over hand-built records: every
// shape a server may send (split, coalesced, alerts, garbage) and every prefix.

#include <doctest/doctest.h>

#include <vector>

#include "validator/probe/server_hello.h"

using namespace ck::validator;
using Bytes = std::vector<unsigned char>;
using Kind = ServerHelloReading::Kind;

namespace {

void append_u16(Bytes& out, unsigned value) {
  out.push_back(static_cast<unsigned char>(value >> 8));
  out.push_back(static_cast<unsigned char>(value));
}

// A ServerHello handshake message (with its 4-byte header).
Bytes server_hello(unsigned version, unsigned cipher, const Bytes& extensions, bool retry = false) {
  Bytes body;
  append_u16(body, version);
  Bytes random(32, 0x42);
  if (retry) {
    random = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
              0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
              0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
  }
  body.insert(body.end(), random.begin(), random.end());
  body.push_back(32);  // a session id
  body.insert(body.end(), 32, 0x07);
  append_u16(body, cipher);
  body.push_back(0);  // no compression
  if (!extensions.empty()) {
    append_u16(body, static_cast<unsigned>(extensions.size()));
    body.insert(body.end(), extensions.begin(), extensions.end());
  }
  Bytes message = {2, 0, static_cast<unsigned char>(body.size() >> 8),
                   static_cast<unsigned char>(body.size())};
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

Bytes supported_versions(unsigned version) {
  Bytes e;
  append_u16(e, 43);
  append_u16(e, 2);
  append_u16(e, version);
  return e;
}

Bytes record(unsigned char type, const Bytes& payload) {
  Bytes out = {type, 3, 3};
  append_u16(out, static_cast<unsigned>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes joined(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

ServerHelloReading read(const Bytes& bytes) {
  return read_server_hello(bytes);
}

}  // namespace

TEST_CASE("good: a TLS 1.2 ServerHello names its version and cipher suite") {
  for (const Bytes& extensions :
       {Bytes{}, Bytes{0xff, 0x01, 0, 1, 0}}) {  // with renegotiation_info
    auto r = read(record(22, server_hello(0x0303, 0xc02c, extensions)));
    CHECK(r.kind == Kind::hello);
    CHECK(r.version == 0x0303);
    CHECK(r.cipher_suite == 0xc02c);
    CHECK_FALSE(r.hello_retry);
  }
}

TEST_CASE("good: TLS 1.3 is told by supported_versions, and a HelloRetryRequest is one") {
  auto hello = read(record(22, server_hello(0x0303, 0x1302, supported_versions(0x0304))));
  CHECK(hello.kind == Kind::hello);
  CHECK(hello.version == 0x0304);
  CHECK(hello.cipher_suite == 0x1302);
  auto retry = read(record(22, server_hello(0x0303, 0x1301, supported_versions(0x0304), true)));
  CHECK(retry.kind == Kind::hello);
  CHECK(retry.hello_retry);
  CHECK(retry.cipher_suite == 0x1301);
}

TEST_CASE("good: a ServerHello split over records, or sharing one with the Certificate") {
  const Bytes hello = server_hello(0x0303, 0x009c, {});
  const Bytes split = joined({record(22, Bytes(hello.begin(), hello.begin() + 3)),
                              record(22, Bytes(hello.begin() + 3, hello.end()))});
  CHECK(read(split).cipher_suite == 0x009c);
  const Bytes certificate = {11, 0, 0, 3, 0, 0, 0};
  CHECK(read(record(22, joined({hello, certificate}))).cipher_suite == 0x009c);
}

TEST_CASE("every prefix of an answer is incomplete, never a verdict") {
  const Bytes answer = joined(
      {record(22, server_hello(0x0303, 0x1301, supported_versions(0x0304))), record(20, {1})});
  const std::size_t hello_end = answer.size() - 6;
  for (std::size_t n = 0; n < hello_end; ++n) {
    CAPTURE(n);
    CHECK(read(Bytes(answer.begin(), answer.begin() + static_cast<long>(n))).kind ==
          Kind::incomplete);
  }
  CHECK(read(answer).kind == Kind::hello);
}

TEST_CASE("an alert is a refusal with its level and description") {
  auto r = read(record(21, {2, 70}));  // fatal protocol_version
  CHECK(r.kind == Kind::alert);
  CHECK(r.alert_level == 2);
  CHECK(r.alert_description == 70);
}

TEST_CASE("bad: what no TLS server sends is malformed, with the reason") {
  const std::string http = "HTTP/1.1 400 Bad Request\r\n\r\n";
  CHECK(read(Bytes(http.begin(), http.end())).kind == Kind::malformed);
  CHECK(read(Bytes{'H'}).kind == Kind::malformed);  // told from the first byte
  auto certificate_first = read(record(22, {11, 0, 0, 3, 0, 0, 0}));
  CHECK(certificate_first.kind == Kind::malformed);
  CHECK(certificate_first.problem.find("not a ServerHello") != std::string::npos);
  Bytes truncated = {2, 0, 0, 10};
  truncated.insert(truncated.end(), 10, 0x03);
  CHECK(read(record(22, truncated)).kind == Kind::malformed);
  Bytes bad_extensions = server_hello(0x0303, 0x1301, supported_versions(0x0304));
  bad_extensions.back() = 0x05;  // supported_versions now says 0x0305, still well formed
  CHECK(read(record(22, bad_extensions)).version == 0x0305);
  Bytes overlong = server_hello(0x0303, 0x1301, supported_versions(0x0304));
  overlong[overlong.size() - 3] = 9;  // the extension claims more than the message holds
  CHECK(read(record(22, overlong)).kind == Kind::malformed);
  CHECK(read(Bytes{22, 3, 3, 0, 0}).kind == Kind::malformed);        // an empty record
  CHECK(read(Bytes{22, 3, 3, 0xff, 0xff}).kind == Kind::malformed);  // longer than TLS allows
  CHECK(read(record(21, {2})).kind == Kind::malformed);
}

TEST_CASE("every single-bit flip of an answer is read without harm") {
  const Bytes answer = record(
      22, server_hello(0x0303, 0x1301, joined({supported_versions(0x0304), {0, 51, 0, 2, 0, 29}})));
  for (std::size_t i = 0; i < answer.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes flipped = answer;
      flipped[i] ^= static_cast<unsigned char>(1u << bit);
      auto r = read(flipped);
      if (r.kind == Kind::malformed) {
        CHECK_FALSE(r.problem.empty());
      }
    }
  }
}

namespace {

// A handshake message of `type` around `body`.
Bytes message(unsigned char type, const Bytes& body) {
  Bytes out = {type, 0, static_cast<unsigned char>(body.size() >> 8),
               static_cast<unsigned char>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace

TEST_CASE("TLS 1.2 read on to the ServerKeyExchange: the curve it names, on every prefix") {
  const Bytes certificate = message(11, Bytes(300, 0x30));
  const Bytes key_exchange = message(12, {3, 0x00, 0x18, 65, 4, 1, 2, 3});  // named_curve P-384
  const Bytes done = message(14, {});
  // Split across records the way servers do: the ServerHello alone, the rest together.
  const Bytes flight = joined({record(22, server_hello(0x0303, 0xc02c, {})),
                               record(22, joined({certificate, key_exchange, done}))});
  for (std::size_t n = 0; n < flight.size() - done.size(); ++n) {
    CAPTURE(n);
    const auto r = read_server_key_exchange(std::span(flight).first(n));
    CHECK(r.kind == Kind::incomplete);
  }
  const auto r = read_server_key_exchange(flight);
  REQUIRE(r.kind == Kind::hello);
  CHECK(r.cipher_suite == 0xc02c);
  CHECK(r.group == 0x0018);
  // No ServerKeyExchange (static RSA): the flight ends, and names no group.
  const auto plain = read_server_key_exchange(joined(
      {record(22, server_hello(0x0303, 0x002f, {})), record(22, joined({certificate, done}))}));
  CHECK(plain.kind == Kind::hello);
  CHECK(plain.group == 0);
  // A DHE ServerKeyExchange names no curve: its prime and generator are read
  // (dh_p, dh_g, dh_Ys, then the signature).
  auto dhe_answer = [&](const Bytes& key_exchange_body) {
    return read_server_key_exchange(
        joined({record(22, server_hello(0x0303, 0x009e, {})),
                record(22, joined({certificate, message(12, key_exchange_body), done}))}));
  };
  const auto dhe = dhe_answer({0, 3, 0xF1, 0xF2, 0xF3, 0, 1, 2, 0, 2, 7, 7, 4, 1, 0, 1, 9});
  REQUIRE(dhe.kind == Kind::hello);
  CHECK(dhe.group == 0);
  CHECK(dhe.dh_prime == "\xF1\xF2\xF3");
  CHECK(dhe.dh_generator == "\x02");
  CHECK(dhe_answer({0, 3, 0xF1, 0xF2}).kind == Kind::malformed);     // the prime cut short
  CHECK(dhe_answer({0, 1, 0xF1, 0, 2, 2}).kind == Kind::malformed);  // the generator too
  // A truncated ServerKeyExchange is malformed, never a group.
  const auto cut = read_server_key_exchange(
      joined({record(22, server_hello(0x0303, 0xc02c, {})),
              record(22, joined({certificate, message(12, {3, 0x00}), done}))}));
  CHECK(cut.kind == Kind::malformed);
  // TLS 1.3 ends at its ServerHello, as read_server_hello does.
  const auto tls13 = read_server_key_exchange(
      record(22, server_hello(0x0303, 0x1301, supported_versions(0x0304))));
  CHECK(tls13.kind == Kind::hello);
  CHECK(tls13.version == 0x0304);
}

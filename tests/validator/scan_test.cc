// The scan's own hellos: their shape, SSL 2.0's answer read on every prefix,
// and a whole scan of a server that still speaks SSL 2.0 and SSL 3.0 (a
// responder scripted here: Debian has no such server).

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/clock.h"
#include "validator/probe/cipher_suites.h"
#include "validator/probe/client_hello.h"
#include "validator/probe/scan.h"

using namespace ck;
using namespace ck::validator;
using Bytes = std::vector<unsigned char>;

namespace {

unsigned u16(std::string_view b, std::size_t at) {
  return static_cast<unsigned>(static_cast<unsigned char>(b[at])) << 8 |
         static_cast<unsigned char>(b[at + 1]);
}

// The parts of a ClientHello record a server looks at.
struct ParsedHello {
  unsigned record_version = 0;
  unsigned legacy_version = 0;
  std::vector<std::uint16_t> suites;
  std::map<unsigned, std::string> extensions;  // type: data
};

ParsedHello parse_hello(std::string_view b) {
  ParsedHello h;
  REQUIRE(b.size() > 5);
  REQUIRE(static_cast<unsigned char>(b[0]) == 22);
  h.record_version = u16(b, 1);
  REQUIRE(u16(b, 3) == b.size() - 5);
  REQUIRE(b[5] == 1);  // client_hello
  std::size_t at = 9;
  h.legacy_version = u16(b, at);
  at += 2 + 32;
  at += 1 + static_cast<unsigned char>(b[at]);  // session id
  const unsigned suites = u16(b, at);
  for (unsigned i = 0; i < suites; i += 2) {
    h.suites.push_back(static_cast<std::uint16_t>(u16(b, at + 2 + i)));
  }
  at += 2 + suites;
  at += 1 + static_cast<unsigned char>(b[at]);  // compression
  if (at == b.size()) {
    return h;
  }
  const std::size_t end = at + 2 + u16(b, at);
  REQUIRE(end == b.size());
  for (at += 2; at < end;) {
    const unsigned type = u16(b, at);
    const unsigned length = u16(b, at + 2);
    h.extensions[type] = std::string(b.substr(at + 4, length));
    at += 4 + length;
  }
  REQUIRE(at == end);
  return h;
}

constexpr unsigned char kRandom[32] = {1, 2, 3};

}  // namespace

TEST_CASE("scan hellos: every version's shape") {
  const std::vector<std::uint16_t> suites{0x0005, 0xC02F, 0x000A};
  SUBCASE("TLS 1.2: the suites as given, SNI, groups, signature algorithms") {
    const auto h = parse_hello(build_client_hello(
        {0x0303, suites, {0x001D, 0x0017}, "www.example.test"}, std::span(kRandom)));
    CHECK(h.record_version == 0x0301);
    CHECK(h.legacy_version == 0x0303);
    CHECK(h.suites == suites);
    REQUIRE(h.extensions.contains(0x0000));
    CHECK(h.extensions.at(0x0000).find("www.example.test") != std::string::npos);
    CHECK(h.extensions.at(0x000A) == std::string("\x00\x04\x00\x1d\x00\x17", 6));
    CHECK(h.extensions.contains(0x000D));
    CHECK_FALSE(h.extensions.contains(0x002B));
  }
  SUBCASE("TLS 1.3: supported_versions says so, and no key share is sent") {
    const auto h = parse_hello(
        build_client_hello({0x0304, {0x1301}, all_named_groups(), ""}, std::span(kRandom)));
    CHECK(h.legacy_version == 0x0303);
    CHECK(h.extensions.at(0x002B) == std::string("\x02\x03\x04", 3));
    CHECK(h.extensions.at(0x0033) == std::string("\x00\x00", 2));
    CHECK_FALSE(h.extensions.contains(0x0000));  // no name, no SNI
  }
  SUBCASE("SSL 3.0: its own record version, no extensions") {
    const auto h =
        parse_hello(build_client_hello({0x0300, suites, {0x001D}, "x"}, std::span(kRandom)));
    CHECK(h.record_version == 0x0300);
    CHECK(h.legacy_version == 0x0300);
    CHECK(h.extensions.empty());
  }
}

TEST_CASE("SSL 2.0: the hello, and the answer read on every prefix") {
  const std::uint32_t kinds[] = {0x010080, 0x0700C0};
  const unsigned char challenge[16] = {9};
  const std::string hello = build_sslv2_client_hello(kinds, challenge);
  CHECK((static_cast<unsigned char>(hello[0]) & 0x80) != 0);
  CHECK(((static_cast<std::size_t>(static_cast<unsigned char>(hello[0]) & 0x7f) << 8) |
         static_cast<unsigned char>(hello[1])) == hello.size() - 2);
  CHECK(hello[2] == 1);  // CLIENT-HELLO
  CHECK(u16(hello, 3) == 0x0002);
  CHECK(u16(hello, 5) == 6);  // two kinds

  // SERVER-HELLO: a 3-byte certificate, the two kinds, a 16-byte connection id.
  Bytes message = {4,  0,    1,    0x00, 0x02, 0,    3,    0,    6,    0,
                   16, 0xAA, 0xBB, 0xCC, 0x01, 0x00, 0x80, 0x07, 0x00, 0xC0};
  message.insert(message.end(), 16, 0x55);
  Bytes answer = {static_cast<unsigned char>(0x80 | (message.size() >> 8)),
                  static_cast<unsigned char>(message.size())};
  answer.insert(answer.end(), message.begin(), message.end());
  for (std::size_t n = 0; n < answer.size(); ++n) {
    CAPTURE(n);
    CHECK(read_sslv2_server_hello(std::span(answer).first(n)).kind ==
          Sslv2Reading::Kind::incomplete);
  }
  const auto read = read_sslv2_server_hello(answer);
  REQUIRE(read.kind == Sslv2Reading::Kind::hello);
  CHECK(read.ciphers == std::vector<std::uint32_t>{0x010080, 0x0700C0});

  const Bytes alert = {21, 3, 1, 0, 2, 2, 70};  // a TLS server's protocol_version alert
  CHECK(read_sslv2_server_hello(alert).kind == Sslv2Reading::Kind::refused);
  const Bytes error = {0x80, 3, 0, 0, 1};  // SSL 2.0 ERROR: no cipher
  CHECK(read_sslv2_server_hello(error).kind == Sslv2Reading::Kind::refused);
  Bytes lying = answer;
  lying[2 + 8] = 60;  // cipher specs longer than the message
  CHECK(read_sslv2_server_hello(lying).kind == Sslv2Reading::Kind::malformed);
}

namespace {

// Answers each connection's first hello as a server of 1996 would: an SSL 2.0
// hello with a SERVER-HELLO sharing RC4-128 and 3DES; an SSL 3.0 hello with a
// ServerHello choosing the first offered of RC4-SHA and 3DES-SHA; any later
// version with a protocol_version alert.
class LegacyResponder {
 public:
  LegacyResponder() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 64) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    address_ = addr;
    thread_ = std::thread([this] { serve(); });
  }
  ~LegacyResponder() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  [[nodiscard]] const sockaddr_in& address() const { return address_; }

 private:
  static std::string answer(const std::string& hello) {
    if ((static_cast<unsigned char>(hello[0]) & 0x80) != 0) {
      std::string m{'\x04', '\x00', '\x01', '\x00', '\x02', '\x00',
                    '\x00', '\x00', '\x06', '\x00', '\x10'};
      m += std::string("\x01\x00\x80\x07\x00\xC0", 6) + std::string(16, 'c');
      return std::string{static_cast<char>(0x80 | (m.size() >> 8)), static_cast<char>(m.size())} +
             m;
    }
    const ParsedHello h = parse_hello(hello);
    const auto chosen =
        std::ranges::find_if(h.suites, [](std::uint16_t s) { return s == 0x0005 || s == 0x000A; });
    if (h.legacy_version != 0x0300 || chosen == h.suites.end()) {
      return std::string("\x15\x03\x01\x00\x02\x02", 6) +
             (h.legacy_version != 0x0300 ? "\x46" : "\x28");
    }
    std::string body = std::string("\x03\x00", 2) + std::string(32, 'r') + '\x00';
    body += static_cast<char>(*chosen >> 8);
    body += static_cast<char>(*chosen & 0xff);
    body += '\x00';
    std::string message = std::string("\x02\x00", 2) + static_cast<char>(body.size() >> 8) +
                          static_cast<char>(body.size() & 0xff) + body;
    return std::string("\x16\x03\x00", 3) + static_cast<char>(message.size() >> 8) +
           static_cast<char>(message.size() & 0xff) + message;
  }
  // The first message whole: SSL 2.0's 2-byte header, or a TLS record's 5.
  static bool complete(const std::string& in) {
    if (in.size() < 2) {
      return false;
    }
    if ((static_cast<unsigned char>(in[0]) & 0x80) != 0) {
      return in.size() >= 2 + (((static_cast<std::size_t>(in[0]) & 0x7f) << 8) |
                               static_cast<unsigned char>(in[1]));
    }
    return in.size() >= 5 && in.size() >= 5 + u16(in, 3);
  }
  void serve() {
    while (true) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) {
        return;
      }
      std::string in;
      char buffer[4096];
      ssize_t n = 0;
      while (!complete(in) && (n = ::read(client, buffer, sizeof buffer)) > 0) {
        in.append(buffer, static_cast<std::size_t>(n));
      }
      if (complete(in)) {
        const std::string out = answer(in);
        static_cast<void>(::write(client, out.data(), out.size()));
      }
      ::close(client);
    }
  }
  int fd_ = -1;
  sockaddr_in address_{};
  std::thread thread_;
};

}  // namespace

TEST_CASE("scan: a server that still speaks SSL 2.0 and SSL 3.0 is seen, and condemned") {
  LegacyResponder server;
  auto context = make_probe_context();
  REQUIRE(context);
  HandshakeSetup connection;
  connection.context = context->get();
  std::memcpy(&connection.address, &server.address(), sizeof(sockaddr_in));
  connection.address_length = sizeof(sockaddr_in);
  connection.sni = "legacy.example.test";
  connection.timeout = std::chrono::seconds(5);
  const SystemClock clock;
  auto scan = scan_endpoint(connection, clock);
  REQUIRE(scan);
  std::map<std::string, VersionScan> versions;
  for (const auto& v : scan->versions) {
    versions[v.version] = v;
  }
  auto names = [](const VersionScan& v) {
    std::set<std::string> out;
    for (const auto& c : v.ciphers) {
      out.insert(c.name);
    }
    return out;
  };
  CHECK(scan->complete);
  CHECK(versions["SSLv2"].state == "accepted");
  CHECK(names(versions["SSLv2"]) ==
        std::set<std::string>{"SSL_CK_RC4_128_WITH_MD5", "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"});
  CHECK(versions["SSLv3"].state == "accepted");
  CHECK(names(versions["SSLv3"]) ==
        std::set<std::string>{"TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"});
  CHECK_FALSE(versions["SSLv3"].server_preference);  // it takes the first offered
  for (const char* later : {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}) {
    CHECK(versions[later].state == "refused");
  }
  std::multiset<std::string> codes;
  for (const auto& f : scan->findings) {
    codes.insert(f.code);
    if (f.code == "obsolete_protocol") {
      CHECK(f.severity == Severity::error);
    }
  }
  CHECK(codes.count("obsolete_protocol") == 2);
  CHECK(codes.count("weak_cipher") == 2);  // RC4 and 3DES, at SSL 3.0
  CHECK(codes.count("no_tls13") == 1);
}

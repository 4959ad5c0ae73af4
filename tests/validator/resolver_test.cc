// The probe resolver (c-ares) against a DNS server of the test's own on
// loopback: many lookups of the same and of different names, answered,
// refused and never answered, with budgets from zero up, repeated and from
// several threads at once. Under the sanitizers this catches any lookup that
// outlives resolve_all() (the getaddrinfo_a crash it replaced).

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "validator/probe/resolver.h"

using namespace ck;
using ck::HostPort;

namespace {

// The address the test server gives "hK.stress.test": 127.1.K/256.K%256.
in_addr address_of_host(int k) {
  in_addr a{};
  a.s_addr = htonl((127u << 24) | (1u << 16) | static_cast<unsigned>(k));
  return a;
}

// A DNS server on 127.0.0.1 (UDP, a free port). For a question about
//   hK.stress.test   A: 127.1.x.y as above; AAAA: no data (NOERROR, empty)
//   nxK.stress.test  NXDOMAIN
//   silentK...       no answer at all
class TestDnsServer {
 public:
  TestDnsServer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t length = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestDnsServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  TestDnsServer(const TestDnsServer&) = delete;
  TestDnsServer& operator=(const TestDnsServer&) = delete;

  [[nodiscard]] std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        continue;
      }
      unsigned char query[512];
      sockaddr_storage from{};
      socklen_t from_length = sizeof from;
      const ssize_t n =
          ::recvfrom(fd_, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
      if (n < 17) {
        continue;
      }
      const std::vector<unsigned char> reply = answer(query, static_cast<std::size_t>(n));
      if (!reply.empty()) {
        ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 from_length);
      }
    }
  }

  // The reply to one query (RFC 1035 §4.1), or nothing for "silent" names.
  static std::vector<unsigned char> answer(const unsigned char* query, std::size_t length) {
    std::size_t at = 12;
    std::string first_label;
    while (at < length && query[at] != 0) {
      const std::size_t label = query[at];
      if (first_label.empty()) {
        first_label.assign(reinterpret_cast<const char*>(query + at + 1),
                           std::min(label, length - at - 1));
      }
      at += label + 1;
    }
    const std::size_t question_end = at + 5;  // the root label, QTYPE, QCLASS
    if (question_end > length || first_label.starts_with("silent")) {
      return {};
    }
    const int qtype = query[at + 1] << 8 | query[at + 2];
    const bool host = first_label.starts_with("h");
    const bool has_answer = host && qtype == 1;
    std::vector<unsigned char> out(query, query + question_end);
    out[2] = 0x81;                                         // QR, RD
    out[3] = first_label.starts_with("nx") ? 0x83 : 0x80;  // RA; NXDOMAIN
    out[4] = 0, out[5] = 1;                                // QDCOUNT
    out[6] = 0, out[7] = has_answer ? 1 : 0;               // ANCOUNT
    std::fill(out.begin() + 8, out.begin() + 12, 0);       // NSCOUNT, ARCOUNT
    if (has_answer) {
      const int k = std::stoi(first_label.substr(1));
      const in_addr a = address_of_host(k);
      const unsigned char record[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
      out.insert(out.end(), std::begin(record), std::end(record));
      const auto* bytes = reinterpret_cast<const unsigned char*>(&a.s_addr);
      out.insert(out.end(), bytes, bytes + 4);
    }
    return out;
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::vector<HostPort> stress_names(int round) {
  std::vector<HostPort> names;
  for (int k = 0; k < 24; ++k) {
    names.push_back({"h" + std::to_string(k + round % 7) + ".stress.test", 443});
  }
  for (int k = 0; k < 8; ++k) {
    names.push_back({"h5.stress.test", 8443});  // the same name, many times
  }
  for (int k = 0; k < 4; ++k) {
    names.push_back({"nx" + std::to_string(k) + ".stress.test", 443});
    names.push_back({"silent" + std::to_string(k) + ".stress.test", 443});
  }
  names.push_back({"localhost", 443});  // /etc/hosts
  names.push_back({"127.0.0.9", 443});  // literals
  names.push_back({"::1", 443});
  return names;
}

// Checks what a round must give: with a budget, everything that can answer
// has; without, whatever came back is still a well-formed result.
void check_round(const std::vector<HostPort>& names,
                 const std::vector<Result<validator::Endpoints>>& results, bool enough_time) {
  REQUIRE(results.size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i].host);
    const auto& r = results[i];
    const std::string& host = names[i].host;
    if (host.starts_with("silent")) {
      REQUIRE_FALSE(r);
      CHECK((r.error().code == Errc::timeout || r.error().code == Errc::network));
      continue;
    }
    if (host.starts_with("nx")) {
      REQUIRE_FALSE(r);
      if (enough_time) {
        CHECK(r.error().code == Errc::network);
      }
      continue;
    }
    if (!enough_time && !r) {
      CHECK(r.error().code == Errc::timeout);
      continue;
    }
    REQUIRE_MESSAGE(r, r.error().describe());
    REQUIRE_FALSE(r->empty());
    const sockaddr_storage& first = r->front().address;
    if (host.starts_with("h")) {
      REQUIRE(first.ss_family == AF_INET);
      const auto& v4 = reinterpret_cast<const sockaddr_in&>(first);
      CHECK(v4.sin_addr.s_addr == address_of_host(std::stoi(host.substr(1))).s_addr);
      CHECK(ntohs(v4.sin_port) == names[i].port);
    }
  }
}

}  // namespace

TEST_CASE("resolver: answered, unknown and unanswered names, each with its own outcome") {
  TestDnsServer dns;
  const SystemClock clock;
  const validator::ResolverOptions options{dns.servers()};
  const auto names = stress_names(0);
  check_round(names, validator::resolve_all(names, std::chrono::milliseconds(2000), clock, options),
              true);
}

TEST_CASE("resolver stress: repeated rounds from several threads, budgets from zero up") {
  TestDnsServer dns;
  const SystemClock clock;
  const validator::ResolverOptions options{dns.servers()};
  // Four threads, each with rounds of 46 lookups: the server drops datagrams
  // once its receive buffer is full, so a lookup may time out here; what
  // counts is that each one ends as an answer with the right address or an
  // error, and that nothing outlives its call (the sanitizers watch).
  std::vector<std::thread> threads;
  std::vector<std::string> wrong[4];
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const int budgets[] = {0, 1, 5, 300};  // zero and one cancel lookups in flight
      for (int round = 0; round < 12; ++round) {
        const auto names = stress_names(round + t);
        const auto results = validator::resolve_all(
            names, std::chrono::milliseconds(budgets[(round + t) % 4]), clock, options);
        for (std::size_t i = 0; i < names.size() && results.size() == names.size(); ++i) {
          const std::string& host = names[i].host;
          const auto& r = results[i];
          const bool right =
              r ? !r->empty() &&
                      (!host.starts_with("h") ||
                       reinterpret_cast<const sockaddr_in&>(r->front().address).sin_addr.s_addr ==
                           address_of_host(std::stoi(host.substr(1))).s_addr)
                : r.error().code == Errc::timeout || r.error().code == Errc::network;
          if (!right) {
            wrong[t].push_back(host);
          }
        }
        if (results.size() != names.size()) {
          wrong[t].push_back("a round returned " + std::to_string(results.size()) + " results");
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (const auto& w : wrong) {  // doctest's assertions are not thread-safe: checked here
    const std::string first_wrong = w.empty() ? std::string() : w.front();
    CHECK_MESSAGE(w.empty(), first_wrong);
  }
  // And on this thread alone, checked in full.
  for (int round = 0; round < 8; ++round) {
    const auto names = stress_names(round);
    const bool enough = round % 2 == 0;
    check_round(
        names,
        validator::resolve_all(names, std::chrono::milliseconds(enough ? 2000 : 1), clock, options),
        enough);
  }
}

TEST_CASE("resolver: an unusable server list is an error for each name, not a crash") {
  const SystemClock clock;
  const std::vector<HostPort> names{{"h1.stress.test", 443}, {"127.0.0.1", 443}};
  auto results = validator::resolve_all(names, std::chrono::milliseconds(100), clock,
                                        validator::ResolverOptions{"not a server list"});
  REQUIRE(results.size() == 2);
  CHECK_FALSE(results[0]);
  CHECK(results[1]);  // a literal needs no server
}

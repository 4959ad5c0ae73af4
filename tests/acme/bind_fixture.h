#pragma once
// BIND 9 for the dns-01 by RFC 2136 tests, in the network namespace of the
// test's own (in_network_namespace()): name servers must answer on port 53.

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.h"

namespace ck::test {

// In a network namespace of the test's own, three BINDs on port 53:
// - 127.0.0.1, the primary: example.test (whose CNAMEs delegate into
//   acme.test) and acme.test, writable by ck-key; other.test, writable only
//   by other-key;
// - 127.0.0.2, a secondary for example.test that refreshes from the primary
//   every second or two (no NOTIFY): example.test's second name server;
// - 127.0.0.3, a resolver for Pebble that follows CNAMEs from one zone to the
//   other through the primary, caching nothing.
class Bind {
 public:
  static constexpr const char* kPrimary = "127.0.0.1";
  static constexpr const char* kSecondary = "127.0.0.2";
  static constexpr const char* kResolver = "127.0.0.3";

  Bind() {
    require_program("named");
    require_program("tsig-keygen");
    require_program("dig");
    write_key("ck-key");
    write_key("other-key");
    write_zone("example.test",
               "@ IN NS ns2.example.test.\nns2 IN A 127.0.0.2\n"
               "_acme-challenge.delegated CNAME _acme-challenge.delegated.acme.test.\n"
               "_acme-challenge.twice CNAME hop.example.test.\n"
               "hop CNAME _acme-challenge.twice.acme.test.\n");
    write_zone("acme.test", "");
    write_zone("other.test", "");
    std::string primary;
    for (const char* name : {"ck-key", "other-key"}) {
      primary += "include \"" + key(name).string() + "\";\n";
    }
    for (const auto& [zone, writer] :
         {std::pair{"example.test", "ck-key"}, std::pair{"acme.test", "ck-key"},
          std::pair{"other.test", "other-key"}}) {
      primary += "zone \"" + std::string(zone) + "\" { type primary; file \"" +
                 (dir_.path() / zone).string() + ".db\"; allow-transfer { any; }; " +
                 "update-policy { grant " + writer + " zonesub TXT; }; };\n";
    }
    start("primary", kPrimary, "recursion no;", primary);
    start("secondary", kSecondary, "recursion no; min-refresh-time 1; max-refresh-time 2;",
          "zone \"example.test\" { type secondary; primaries { 127.0.0.1; }; file \"" +
              (dir_.path() / "secondary" / "example.test.db").string() + "\"; };\n");
    std::string forward;
    for (const char* zone : {"example.test", "acme.test", "other.test"}) {
      forward += "zone \"" + std::string(zone) +
                 "\" { type forward; forward only; forwarders { 127.0.0.1; }; };\n";
    }
    start("resolver", kResolver,
          "recursion yes; allow-recursion { any; }; max-cache-ttl 0; max-ncache-ttl 0;", forward);
    // The secondary has the zone once it answers for it.
    for (int i = 0; i < 200 && dig(kSecondary, "example.test", "SOA").empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE_MESSAGE(!dig(kSecondary, "example.test", "SOA").empty(),
                    read_text(dir_.path() / "secondary" / "named.log"));
  }

  // The addresses the servers take, besides 127.0.0.1: in_network_namespace()'s to add.
  static std::vector<std::string> addresses() { return {kSecondary, kResolver}; }

  [[nodiscard]] std::filesystem::path key(const std::string& name) const {
    return dir_.path() / (name + ".key");
  }
  // The base64 secret of key `name`: what must never be seen anywhere else.
  [[nodiscard]] std::string secret(const std::string& name) const {
    const std::string text = read_text(key(name));
    const auto start = text.find("secret \"") + 8;
    return text.substr(start, text.find('"', start) - start);
  }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_.path(); }
  // The TXT strings of `name` as the primary serves them.
  [[nodiscard]] std::string txt(const std::string& name) const {
    return dig(kPrimary, name, "TXT");
  }
  [[nodiscard]] static std::string dig(const std::string& server, const std::string& name,
                                       const std::string& type) {
    return run({"dig", "@" + server, "+short", "+norecurse", name, type}).out;
  }

 private:
  void write_key(const std::string& name) {
    auto made = run({"tsig-keygen", "-a", "hmac-sha256", name});
    REQUIRE(made.exit_code == 0);
    write_text(key(name), made.out, 0600);
  }
  void write_zone(const std::string& zone, const std::string& records) {
    write_text(dir_.path() / (zone + ".db"), "$TTL 60\n@ IN SOA ns1." + zone + ". admin." + zone +
                                                 ". 1 60 60 600 60\n@ IN NS ns1." + zone +
                                                 ".\nns1 IN A 127.0.0.1\n" + records);
  }
  // named in DIR/NAME, on ADDRESS:53, with `options` and `zones`.
  void start(const std::string& name, const std::string& address, const std::string& options,
             const std::string& zones) {
    const auto dir = dir_.path() / name;
    std::filesystem::create_directories(dir);
    write_text(dir / "named.conf", "options { directory \"" + dir.string() + "\"; listen-on { " +
                                       address + "; }; listen-on-v6 { none; }; pid-file \"" +
                                       dir.string() +
                                       "/named.pid\"; notify no; dnssec-validation no; " + options +
                                       " };\ncontrols { };\n" + zones);
    servers_.push_back(std::make_unique<Process>(
        std::vector<std::string>{"named", "-g", "-c", (dir / "named.conf").string()},
        dir / "named.log"));
    for (int i = 0; i < 200 && run({"dig", "@" + address, "+short", "+tries=1", "+time=1",
                                    "version.bind", "CH", "TXT"})
                                       .exit_code != 0;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  TempDir dir_;
  std::vector<std::unique_ptr<Process>> servers_;
};

}  // namespace ck::test

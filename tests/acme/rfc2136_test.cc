// dns-01 by RFC 2136 dynamic updates signed with TSIG, against BIND 9 on
// loopback (authoritative for the test zones, taking updates signed with keys
// made by tsig-keygen) and Pebble resolving through it.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <nlohmann/json.hpp>

#include "acme/rfc2136.h"
#include "tests/acme/bind_fixture.h"
#include "tests/acme/pebble_fixture.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

namespace {

struct Rfc2136Issuer {
  Bind& bind;
  Pebble& pebble;
  TempDir state;

  // `clock_offset` ("+1h"): certkeeper runs under faketime, its clock that far off.
  RunResult issue(const std::vector<std::string>& domains, const std::filesystem::path& key,
                  const std::string& clock_offset = "") {
    std::vector<std::string> argv{"--state-dir",
                                  state.path().string(),
                                  "issue",
                                  "--server",
                                  pebble.directory_url(),
                                  "--ca-file",
                                  pebble.ca_file(),
                                  "--json",
                                  "--challenge",
                                  "dns-01",
                                  "--dns-rfc2136",
                                  Bind::kPrimary,
                                  "--dns-tsig-key",
                                  key.string(),
                                  "--dns-resolver",
                                  std::string(Bind::kResolver) + ":53",
                                  "--dns-timeout",
                                  "20"};
    for (const auto& d : domains) {
      argv.insert(argv.end(), {"--domain", d});
    }
    if (clock_offset.empty()) {
      return certkeeper(argv);
    }
    argv.insert(argv.begin(), {"faketime", "-f", clock_offset, certkeeper_binary()});
    // faketime preloads itself: under AddressSanitizer its runtime is then not first.
    const char* asan = std::getenv("ASAN_OPTIONS");
    return run(argv,
               {{"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
                {"ASAN_OPTIONS", std::string(asan ? asan : "") + ":verify_asan_link_order=0"}});
  }
};

const char* kKey =
    "key \"ck-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0LXNlY3JldC1zZWNyZXQ=\";\n};\n";

}  // namespace

TEST_CASE("TSIG key files: BIND's format, the algorithms, and what is refused") {
  auto key = acme::parse_tsig_key(kKey);
  REQUIRE(key);
  CHECK(key->name == "ck-key");
  CHECK(key->algorithm == "hmac-sha256");
  auto commented = acme::parse_tsig_key(
      "# made by tsig-keygen\nkey \"k2\" { // the key\n algorithm hmac-sha512; /* long */ "
      "secret \"c2VjcmV0\"; };");
  REQUIRE(commented);
  CHECK(commented->algorithm == "hmac-sha512");
  struct Bad {
    const char* name;
    const char* text;
  };
  for (const Bad& bad : {
           Bad{"empty", ""},
           Bad{"not_a_key", "zone \"x\" { };"},
           Bad{"md5", "key \"k\" { algorithm hmac-md5; secret \"c2VjcmV0\"; };"},
           Bad{"no_secret", "key \"k\" { algorithm hmac-sha256; };"},
           Bad{"secret_not_base64", "key \"k\" { algorithm hmac-sha256; secret \"%%%\"; };"},
           Bad{"unclosed", "key \"k\" { algorithm hmac-sha256; secret \"c2VjcmV0\";"},
           Bad{"unknown_statement", "key \"k\" { algorithm hmac-sha256; colour blue; };"},
       }) {
    CAPTURE(bad.name);
    auto parsed = acme::parse_tsig_key(bad.text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::parse);
    CHECK(parsed.error().describe().find("c2VjcmV0") == std::string::npos);
  }

  TempDir dir;
  const auto path = dir.path() / "ck.key";
  write_text(path, kKey, 0640);
  CHECK(acme::load_tsig_key(path));
  ::chmod(path.c_str(), 0644);
  auto open = acme::load_tsig_key(path);
  REQUIRE_FALSE(open);
  CHECK(open.error().describe().find("mode 0644") != std::string::npos);
  CHECK(open.error().describe().find("chmod 600") != std::string::npos);
  ::chmod(path.c_str(), 0600);
  if (::geteuid() == 0) {  // another owner: only root can make one
    REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
    auto foreign = acme::load_tsig_key(path);
    REQUIRE_FALSE(foreign);
    CHECK(foreign.error().describe().find("owned by root") != std::string::npos);
  }
  CHECK_FALSE(acme::load_tsig_key(dir.path() / "missing.key"));
}

const std::vector<std::string> kAddresses = Bind::addresses();

TEST_CASE("dns-01 by RFC 2136: a name and its wildcard, a CNAME-delegated name, none left behind") {
  in_network_namespace(kAddresses, [] {
    Bind bind;
    PebbleOptions options;
    options.dns_server = std::string(Bind::kResolver) + ":53";
    Pebble pebble(options);
    Rfc2136Issuer ck{bind, pebble};

    CHECK(acme::find_zone(Bind::kPrimary, "_acme-challenge.www.example.test.").value_or("") ==
          "example.test.");
    CHECK(acme::follow_cnames(Bind::kPrimary, "_acme-challenge.twice.example.test.").value_or("") ==
          "_acme-challenge.twice.acme.test.");
    auto servers = acme::name_servers(Bind::kPrimary, "example.test.");
    REQUIRE(servers);
    std::ranges::sort(*servers);  // BIND rotates the NS set from one answer to the next
    CHECK(*servers == std::vector<std::string>{"127.0.0.1:53", "127.0.0.2:53"});

    auto both = ck.issue({"www.example.test", "*.www.example.test"}, bind.key("ck-key"));
    REQUIRE_MESSAGE(both.exit_code == 0, both.err);
    CHECK(json::parse(both.out)["names"].size() == 2);
    CHECK(bind.txt("_acme-challenge.www.example.test") == "");  // both values deleted

    for (const char* delegated : {"delegated.example.test", "twice.example.test"}) {
      CAPTURE(std::string(delegated));
      auto r = ck.issue({delegated}, bind.key("ck-key"));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    }
    CHECK(bind.txt("_acme-challenge.delegated.acme.test") == "");
    CHECK(bind.txt("_acme-challenge.twice.acme.test") == "");
  });
}

TEST_CASE("dns-01 by RFC 2136: the CA is asked only once every name server serves the record") {
  // Pebble asks the secondary alone, which takes the zone a second or two
  // after the primary: had the CA been told before the secondary served the
  // record, it would have found none.
  in_network_namespace(kAddresses, [] {
    Bind bind;
    PebbleOptions options;
    options.dns_server = std::string(Bind::kSecondary) + ":53";
    options.env["PEBBLE_AUTHZREUSE"] = "0";
    Pebble pebble(options);
    Rfc2136Issuer ck{bind, pebble};
    for (int i = 0; i < 3; ++i) {
      auto r = ck.issue({"slow-" + std::to_string(i) + ".example.test"}, bind.key("ck-key"));
      CHECK_MESSAGE(r.exit_code == 0, r.err);
    }
  });
}

TEST_CASE("dns-01 by RFC 2136: two orders for one name at once both succeed") {
  in_network_namespace(kAddresses, [] {
    Bind bind;
    PebbleOptions options;
    options.dns_server = std::string(Bind::kResolver) + ":53";
    options.env["PEBBLE_AUTHZREUSE"] = "0";  // each order its own challenge and TXT value
    Pebble pebble(options);
    Rfc2136Issuer first{bind, pebble};
    Rfc2136Issuer second{bind, pebble};
    auto a = std::async(std::launch::async,
                        [&] { return first.issue({"same.example.test"}, bind.key("ck-key")); });
    auto b = std::async(std::launch::async,
                        [&] { return second.issue({"same.example.test"}, bind.key("ck-key")); });
    const RunResult ra = a.get();
    const RunResult rb = b.get();
    CHECK_MESSAGE(ra.exit_code == 0, ra.err);
    CHECK_MESSAGE(rb.exit_code == 0, rb.err);
    CHECK(bind.txt("_acme-challenge.same.example.test") == "");
  });
}

TEST_CASE("dns-01 by RFC 2136: a wrong key, an unknown key, a zone the key may not write") {
  in_network_namespace(kAddresses, [] {
    Bind bind;
    PebbleOptions options;
    options.dns_server = std::string(Bind::kResolver) + ":53";
    Pebble pebble(options);
    Rfc2136Issuer ck{bind, pebble};
    const std::string secret_of_ck_key = bind.secret("ck-key");

    // Same name, another secret: BIND cannot verify it (BADSIG).
    const auto wrong = bind.dir() / "wrong.key";
    write_text(wrong, "key \"ck-key\" { algorithm hmac-sha256; secret \"d3Jvbmctc2VjcmV0\"; };\n",
               0600);
    // A name BIND does not know (BADKEY).
    const auto unknown = bind.dir() / "unknown.key";
    write_text(unknown, "key \"nobody\" { algorithm hmac-sha256; secret \"d3Jvbmctc2VjcmV0\"; };\n",
               0600);
    struct Refused {
      const char* name;
      std::string domain;
      std::filesystem::path key;
      std::string says;
    };
    for (const Refused& c : {
             Refused{"wrong_secret", "www.example.test", wrong, "BADSIG"},
             Refused{"unknown_key", "www.example.test", unknown, "BADKEY"},
             Refused{"zone_not_granted", "www.other.test", bind.key("ck-key"), "REFUSED"},
         }) {
      CAPTURE(std::string(c.name));
      auto r = ck.issue({c.domain}, c.key);
      CHECK(r.exit_code != 0);
      CHECK_MESSAGE(r.err.find(c.says) != std::string::npos, r.err);
      CHECK_MESSAGE(r.err.find(std::string(Bind::kPrimary) + ", zone ") != std::string::npos,
                    r.err);
      CHECK_MESSAGE(r.err.find("key ") != std::string::npos, r.err);
      CHECK(r.err.find(secret_of_ck_key) == std::string::npos);
      CHECK(r.out.find(secret_of_ck_key) == std::string::npos);
    }
    CHECK(bind.txt("_acme-challenge.www.other.test") == "");

    // A clock an hour off: outside TSIG's 300 s of fudge (BADTIME).
    require_program("faketime");
    auto skewed = ck.issue({"www.example.test"}, bind.key("ck-key"), "+1h");
    CHECK(skewed.exit_code != 0);
    CHECK_MESSAGE(skewed.err.find("BADTIME") != std::string::npos, skewed.err);

    // A key file others may read is refused before anything is sent.
    ::chmod(bind.key("ck-key").c_str(), 0644);
    auto open = ck.issue({"www.example.test"}, bind.key("ck-key"));
    CHECK(open.exit_code == 2);
    CHECK_MESSAGE(open.err.find("mode 0644") != std::string::npos, open.err);
  });
}

TEST_CASE(
    "dns-01 by RFC 2136: the record is deleted when the order fails; renew by configuration") {
  in_network_namespace(kAddresses, [] {
    Bind bind;
    {
      // Pebble asks the primary itself, which does not follow a CNAME into another zone:
      // the CA finds no TXT record, the order fails, and the record written is deleted.
      PebbleOptions options;
      options.dns_server = std::string(Bind::kPrimary) + ":53";
      Pebble pebble(options);
      Rfc2136Issuer ck{bind, pebble};
      auto failed = ck.issue({"delegated.example.test"}, bind.key("ck-key"));
      CHECK(failed.exit_code != 0);
      CHECK_MESSAGE(failed.err.find("TXT") != std::string::npos, failed.err);
      CHECK(bind.txt("_acme-challenge.delegated.acme.test") == "");
    }
    PebbleOptions options;
    options.dns_server = std::string(Bind::kResolver) + ":53";
    Pebble pebble(options);
    TempDir state;
    const auto config = state.path() / "certkeeper.toml";
    write_text(config, "[daemon]\nstate_dir = \"" + state.path().string() +
                           "\"\n\n[issuer.pebble]\ndirectory = \"" + pebble.directory_url() +
                           "\"\nca_file = \"" + pebble.ca_file() +
                           "\"\n\n[[certificate]]\nname = \"wild\"\n"
                           "domains = [\"*.wild.example.test\"]\n"
                           "challenge = { type = \"dns-01\", rfc2136 = { server = \"127.0.0.1\", "
                           "tsig_key = \"" +
                           bind.key("ck-key").string() + "\" } }\n");
    auto renewed = certkeeper({"--config", config.string(), "renew", "wild", "--json"});
    REQUIRE_MESSAGE(renewed.exit_code == 0, renewed.err);
    CHECK(json::parse(renewed.out)["name"] == "wild");
    CHECK(bind.txt("_acme-challenge.wild.example.test") == "");
    // The secret is in the key file only: not in the inventory.
    const std::string secret = bind.secret("ck-key");
    auto dump = run({"sqlite3", (state.path() / "inventory.db").string(), ".dump"});
    REQUIRE(dump.exit_code == 0);
    CHECK(dump.out.find(secret) == std::string::npos);
  });
}

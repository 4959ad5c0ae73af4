// `certkeeper issue` against a real Pebble: every test starts its own CA.

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "daemon/lifecycle/issue.h"
#include "store/inventory.h"
#include "tests/acme/pebble_fixture.h"
#include "tests/support/fault_proxy.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

namespace {

struct Issuer {
  Pebble& pebble;
  TempDir state;

  RunResult issue(std::vector<std::string> args) {
    std::vector<std::string> argv{
        "--state-dir",          state.path().string(), "issue",          "--server",
        pebble.directory_url(), "--ca-file",           pebble.ca_file(), "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return certkeeper(argv);
  }
  json show(const std::string& name) {
    auto r = certkeeper({"--state-dir", state.path().string(), "show", name, "--json"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return json::parse(r.out);
  }
  RunResult revoke(std::vector<std::string> args) {
    std::vector<std::string> argv{"--state-dir",   state.path().string(),  "revoke",
                                  "--server",      pebble.directory_url(), "--ca-file",
                                  pebble.ca_file()};
    argv.insert(argv.end(), args.begin(), args.end());
    return certkeeper(argv);
  }
  std::filesystem::path current(const std::string& name) {
    return state.path() / "certs" / name / "current";
  }
};

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// openssl verify of the installed chain against Pebble's root `index`.
void verify_chain(Pebble& pebble, const std::filesystem::path& current, int index = 0) {
  write_text(pebble.dir() / "root.pem", pebble.root_pem(index));
  auto r = run({"openssl", "verify", "-CAfile", (pebble.dir() / "root.pem").string(), "-untrusted",
                (current / "chain.pem").string(), (current / "cert.pem").string()});
  CHECK_MESSAGE(r.exit_code == 0, std::string(r.out + r.err));
}

std::string top_issuer_cn(const std::filesystem::path& chain_pem) {
  // The last certificate of the chain file.
  std::string text = read_text(chain_pem);
  auto begin = text.rfind("-----BEGIN CERTIFICATE-----");
  REQUIRE(begin != std::string::npos);
  write_text(chain_pem.string() + ".top", text.substr(begin));
  auto r = run({"openssl", "x509", "-noout", "-issuer", "-nameopt", "multiline", "-in",
                chain_pem.string() + ".top"});
  auto cn = r.out.find("commonName");
  REQUIRE(cn != std::string::npos);
  std::string value = r.out.substr(r.out.find('=', cn) + 1);
  value = value.substr(value.find_first_not_of(' '));
  return value.substr(0, value.find('\n'));
}

std::string root_cn(const std::string& root_pem, const std::filesystem::path& scratch) {
  write_text(scratch, root_pem);
  auto r = run(
      {"openssl", "x509", "-noout", "-subject", "-nameopt", "multiline", "-in", scratch.string()});
  std::string value = r.out.substr(r.out.find('=', r.out.find("commonName")) + 1);
  value = value.substr(value.find_first_not_of(' '));
  return value.substr(0, value.find('\n'));
}

}  // namespace

TEST_CASE("good: several DNS names and an IP address by the built-in http-01 listener") {
  Pebble pebble;
  Issuer ck{pebble};
  auto r =
      ck.issue({"--domain", "www.example.test", "--domain", "example.test", "--ip", "127.0.0.1",
                "--http-listen", pebble.http_listen(), "--contact", "mailto:ops@example.test"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto result = json::parse(r.out);
  CHECK(result["name"] == "www.example.test");
  CHECK(result["names"] == json({"DNS:www.example.test", "DNS:example.test", "IP:127.0.0.1"}));

  auto shown = ck.show("www.example.test");
  CHECK(shown["source"] == "acme");
  CHECK(shown["status"] == "active");
  CHECK(shown["key_type"] == "ecdsa-p256");
  struct stat st {};
  REQUIRE(::stat(shown["key_path"].get<std::string>().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  verify_chain(pebble, ck.current("www.example.test"));
  CHECK(read_text(ck.current("www.example.test") / "fullchain.pem") ==
        read_text(ck.current("www.example.test") / "cert.pem") +
            read_text(ck.current("www.example.test") / "chain.pem"));
}

TEST_CASE("good: every certificate key type") {
  Pebble pebble;
  Issuer ck{pebble};
  for (const char* type : {"ecdsa-p384", "rsa2048", "rsa3072", "ed25519"}) {
    const std::string key_type = type;
    CAPTURE(key_type);
    const std::string name = "k-" + key_type;
    auto r = ck.issue({"--domain", name + ".example.test", "--name", name, "--key", key_type,
                       "--http-listen", pebble.http_listen()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(ck.show(name)["key_type"] == key_type);
  }
}

TEST_CASE("good: a CSR supplied by the user, whose key never enters certkeeper") {
  Pebble pebble;
  Issuer ck{pebble};
  const auto key = ck.state.path() / "user.key";
  const auto csr = ck.state.path() / "user.csr";
  REQUIRE(
      run({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-nodes", "-keyout", key.string(), "-out", csr.string(), "-subj", "/CN=csr.example.test",
           "-addext", "subjectAltName=DNS:csr.example.test,DNS:alt.example.test"})
          .exit_code == 0);
  auto r = ck.issue({"--csr", csr.string(), "--http-listen", pebble.http_listen()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto shown = ck.show("csr.example.test");
  CHECK(shown["sans"] == json({"DNS:csr.example.test", "DNS:alt.example.test"}));
  CHECK(shown["key_path"] == "");
  auto key_pub = run({"openssl", "pkey", "-in", key.string(), "-pubout"});
  auto cert_pub = run({"openssl", "x509", "-noout", "-pubkey", "-in",
                       (ck.current("csr.example.test") / "cert.pem").string()});
  CHECK(key_pub.out == cert_pub.out);
}

TEST_CASE("good: http-01 by webroot behind nginx, and the token file is removed after") {
  require_program("nginx");
  Pebble pebble;
  Issuer ck{pebble};
  const auto webroot = ck.state.path() / "www";
  std::filesystem::create_directories(webroot);
  // nginx's workers run as www-data: let them reach the webroot.
  std::filesystem::permissions(ck.state.path(), std::filesystem::perms(0755));
  const auto prefix = ck.state.path() / "nginx";
  std::filesystem::create_directories(prefix / "logs");
  write_text(prefix / "nginx.conf",
             "pid " + (prefix / "nginx.pid").string() + ";\nerror_log " +
                 (prefix / "logs/error.log").string() +
                 ";\nevents {}\nhttp {\n  access_log off;\n  server {\n    listen " +
                 pebble.http_listen() + ";\n    root " + webroot.string() + ";\n  }\n}\n");
  Process nginx(
      {"nginx", "-p", prefix.string(), "-c", (prefix / "nginx.conf").string(), "-g", "daemon off;"},
      prefix / "logs/stdout.log");
  REQUIRE(wait_for_port(pebble.http_port()));
  auto r = ck.issue({"--domain", "webroot.example.test", "--webroot", webroot.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  verify_chain(pebble, ck.current("webroot.example.test"));
  // The token is gone, and so are the folders certkeeper made for it.
  CHECK_FALSE(std::filesystem::exists(webroot / ".well-known"));
  CHECK(std::filesystem::exists(webroot));  // the operator's own folder stays

  // Four `issue` runs at once on a new state directory: the account key is
  // made once, registered once (one row), and every run succeeds.
  Issuer fresh{pebble};
  std::vector<RunResult> runs(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    threads.emplace_back([&, i] {
      runs[i] = fresh.issue({"--domain", "at-once" + std::to_string(i) + ".example.test",
                             "--webroot", webroot.string()});
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (const auto& run_result : runs) {
    CHECK_MESSAGE(run_result.exit_code == 0, run_result.err);
  }
  auto accounts = run(
      {"sqlite3", (fresh.state.path() / "inventory.db").string(), "SELECT COUNT(*) FROM accounts"});
  CHECK(accounts.out == "1\n");
}

TEST_CASE("bad: a challenge the CA cannot reach fails with the CA's own reason") {
  Pebble pebble;
  Issuer ck{pebble};
  auto r = ck.issue({"--domain", "unreachable.example.test", "--http-listen",
                     "127.0.0.1:" + std::to_string(free_port())});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("authorization for dns:unreachable.example.test is invalid") !=
        std::string::npos);
  CHECK(r.err.find("the CA said connection") != std::string::npos);
  CHECK(r.err.find("connection refused") != std::string::npos);
  // Nothing was installed, and the order's failure is on record.
  CHECK_FALSE(std::filesystem::exists(ck.current("unreachable.example.test")));
  const auto db = (ck.state.path() / "inventory.db").string();
  auto order = run({"sqlite3", db, "SELECT status, error_json FROM orders"});
  CHECK(order.out.starts_with("invalid|"));
  CHECK(order.out.find("\"type\":\"connection\"") != std::string::npos);
  // The failure is an event, with the CA's words and the order.
  const json events =
      json::parse(certkeeper({"--state-dir", ck.state.path().string(), "events", "--json"}).out);
  REQUIRE(events.size() >= 1);
  CHECK(events[0]["kind"] == "renewal_failed");
  CHECK(events[0]["certificate"] == "unreachable.example.test");
  CHECK(events[0]["message"].get<std::string>().find("connection refused") != std::string::npos);
  // The key made for it is gone: nothing will ever certify it. The account's stays.
  std::vector<std::string> keys;
  for (const auto& entry : std::filesystem::directory_iterator(ck.state.path() / "keys")) {
    keys.push_back(entry.path().filename().string());
  }
  CAPTURE(keys.size());
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].starts_with("account-"));
}

TEST_CASE("External Account Binding when the CA requires it") {
  const std::string hmac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
  Pebble pebble({{{"kid-1", hmac}}, {}});
  Issuer ck{pebble};
  auto without = ck.issue({"--domain", "eab.example.test", "--http-listen", pebble.http_listen()});
  CHECK(without.exit_code == 2);
  CHECK(without.err.find("requires External Account Binding") != std::string::npos);
  auto wrong = ck.issue({"--domain", "eab.example.test", "--http-listen", pebble.http_listen(),
                         "--eab-kid", "kid-1", "--eab-hmac-key",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
  CHECK(wrong.exit_code == 3);
  CHECK(wrong.err.find("the CA said") != std::string::npos);
  auto good = ck.issue({"--domain", "eab.example.test", "--http-listen", pebble.http_listen(),
                        "--eab-kid", "kid-1", "--eab-hmac-key", hmac});
  CHECK_MESSAGE(good.exit_code == 0, good.err);
}

TEST_CASE("good: issuance succeeds when the CA rejects half of all nonces") {
  Pebble pebble({{}, {{"PEBBLE_WFE_NONCEREJECT", "50"}}});
  Issuer ck{pebble};
  for (int i = 0; i < 3; ++i) {
    auto r = ck.issue({"--domain", "nonce" + std::to_string(i) + ".example.test", "--http-listen",
                       pebble.http_listen()});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
  }
}

TEST_CASE("alternate chains: the preferred chain is chosen by its top issuer's CN") {
  Pebble pebble({{}, {{"PEBBLE_ALTERNATE_ROOTS", "1"}}});
  Issuer ck{pebble};
  const std::string default_root = root_cn(pebble.root_pem(0), ck.state.path() / "r0.pem");
  const std::string alternate_root = root_cn(pebble.root_pem(1), ck.state.path() / "r1.pem");
  REQUIRE(default_root != alternate_root);

  auto plain = ck.issue({"--domain", "plain.example.test", "--http-listen", pebble.http_listen()});
  REQUIRE_MESSAGE(plain.exit_code == 0, plain.err);
  CHECK(top_issuer_cn(ck.current("plain.example.test") / "chain.pem") == default_root);

  auto preferred = ck.issue({"--domain", "alt.example.test", "--http-listen", pebble.http_listen(),
                             "--preferred-chain", alternate_root});
  REQUIRE_MESSAGE(preferred.exit_code == 0, preferred.err);
  CHECK(top_issuer_cn(ck.current("alt.example.test") / "chain.pem") == alternate_root);
  verify_chain(pebble, ck.current("alt.example.test"), 1);
}

TEST_CASE("issuing a name again keeps the old version and switches current") {
  Pebble pebble;
  Issuer ck{pebble};
  auto first = ck.issue({"--domain", "again.example.test", "--http-listen", pebble.http_listen()});
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  auto second = ck.issue({"--domain", "again.example.test", "--http-listen", pebble.http_listen()});
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  auto shown = ck.show("again.example.test");
  CHECK(shown["sha256"] == json::parse(second.out)["sha256"]);
  CHECK(shown["versions"].size() == 1);
  CHECK(shown["versions"][0]["status"] == "superseded");
  CHECK(std::filesystem::exists(shown["versions"][0]["source_path"].get<std::string>() +
                                "/fullchain.pem"));
  CHECK(std::distance(
            std::filesystem::directory_iterator(ck.state.path() / "certs" / "again.example.test"),
            std::filesystem::directory_iterator{}) == 3);  // two versions + current
}

TEST_CASE("two processes issuing one name at once: one wins, the other says so") {
  Pebble pebble;
  Issuer ck{pebble};
  const std::string name = "race.example.test";
  auto issue = [&] { return ck.issue({"--domain", name, "--http-listen", pebble.http_listen()}); };
  {
    // The name's lock held, as a certkeeper in the middle of an order holds it.
    std::filesystem::create_directories(ck.state.path() / "locks");
    auto held = FileLock::try_acquire(ck.state.path() / "locks" / (name + ".lock"));
    REQUIRE(held);
    auto turned_away = issue();
    CHECK(turned_away.exit_code == 3);
    CHECK_MESSAGE(turned_away.err.find("another certkeeper is issuing or renewing " + name) !=
                      std::string::npos,
                  turned_away.err);
    CHECK(turned_away.err.find("pid " + std::to_string(::getpid())) != std::string::npos);
    // Nothing ordered, no key made, nothing in the inventory.
    CHECK(certkeeper({"--state-dir", ck.state.path().string(), "show", name}).exit_code == 1);
    CHECK((!std::filesystem::exists(ck.state.path() / "keys") ||
           std::filesystem::is_empty(ck.state.path() / "keys")));
  }
  // Two at once, for real: however they overlap, each either issued or was
  // turned away saying why, and the inventory and files agree.
  auto first = std::async(std::launch::async, issue);
  auto second = std::async(std::launch::async, issue);
  std::vector<std::string> issued;
  for (RunResult r : {first.get(), second.get()}) {
    if (r.exit_code == 0) {
      issued.push_back(json::parse(r.out)["sha256"]);
    } else {
      CHECK(r.exit_code == 3);
      CHECK_MESSAGE(r.err.find("another certkeeper is issuing") != std::string::npos, r.err);
    }
  }
  REQUIRE(!issued.empty());
  auto shown = ck.show(name);
  CHECK(std::ranges::find(issued, shown["sha256"].get<std::string>()) != issued.end());
  CHECK(shown["versions"].size() == issued.size() - 1);
  const std::string current_pem = read_text(ck.current(name) / "cert.pem");
  CHECK(current_pem.find("-----BEGIN CERTIFICATE-----") == 0);
  auto fingerprint = run({"openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                          (ck.current(name) / "cert.pem").string()});
  std::string hex;
  for (char c : fingerprint.out.substr(fingerprint.out.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  CHECK(hex == shown["sha256"]);
}

// The network faults take a while: a suite of their own, which ctest runs beside the rest.
TEST_SUITE_BEGIN("faults");

// certkeeper's connections to the CA through a proxy that breaks some of them.
static RunResult issue_through(FaultProxy& proxy, Pebble& pebble,
                               const std::filesystem::path& state, const std::string& name) {
  return run({certkeeper_binary(), "--state-dir", state.string(), "issue", "--server",
              pebble.directory_url(), "--ca-file", pebble.ca_file(), "--json", "--domain", name,
              "--http-listen", pebble.http_listen()},
             {{"https_proxy", proxy.url()}, {"no_proxy", ""}, {"NO_PROXY", ""}});
}

TEST_CASE("faults between certkeeper and the CA: transient ones are retried, the order completes") {
  Pebble pebble;
  // One fault per issuance, each at a different request, and when it breaks the connection,
  // the handshake of the next one is cut too: two failures in a row of the same request, which
  // its retries outlast. (More faults in one issuance could all fall on one request's attempts:
  // HTTP/2 sends frames of its own, so which record is which request depends on timing.)
  const Fault faults[] = {Fault::reset, Fault::garbage, Fault::truncate, Fault::delay};
  for (int i = 0; i < 4; ++i) {
    const Fault fault = faults[i];
    const int at = 2 + 4 * i;
    CAPTURE(static_cast<int>(fault));
    TempDir state;
    const bool breaks = fault != Fault::delay;
    FaultProxy proxy([&](int n) { return n == at ? fault : Fault::none; },
                     [&](int tunnel) { return breaks && tunnel == 1; });
    const std::string name = "faults-" + std::to_string(i) + ".example.test";
    auto r = issue_through(proxy, pebble, state.path(), name);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(proxy.faults().contains(fault));
    if (breaks) {
      CHECK(proxy.handshakes_cut() == 1);
      CHECK(proxy.tunnels() >= 3);  // a new connection after each break
    }
    if (r.exit_code == 0) {
      verify_chain(pebble, state.path() / "certs" / name / "current");
    }
  }
}

TEST_CASE("an answer lost after the CA acted on it, each request's in turn: the order completes") {
  // The request reaches the CA, its answer is cut: a retried POST finds the account made, the
  // challenge being validated, the order finalized, and goes on from there.
  Pebble pebble;
  for (int at = 0;; ++at) {
    CAPTURE(at);
    REQUIRE(at < 200);  // an issuance is a few dozen records
    TempDir state;
    FaultProxy proxy([at](int n) { return n == at ? Fault::truncate : Fault::none; });
    const std::string name = "lost-" + std::to_string(at) + ".example.test";
    auto r = issue_through(proxy, pebble, state.path(), name);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    if (proxy.faults().empty()) {
      break;  // the issuance was over before request `at`: every one has been cut
    }
    if (r.exit_code == 0) {
      verify_chain(pebble, state.path() / "certs" / name / "current");
    }
  }
}

TEST_CASE("an answer that stalls: the order's timeout ends the command; the order is resumed") {
  Pebble pebble;
  TempDir state;
  const std::string name = "stalled.example.test";
  auto issue = [&](std::vector<std::string> extra, const std::map<std::string, std::string>& env) {
    std::vector<std::string> args{certkeeper_binary(),
                                  "--state-dir",
                                  state.path().string(),
                                  "issue",
                                  "--server",
                                  pebble.directory_url(),
                                  "--ca-file",
                                  pebble.ca_file(),
                                  "--json",
                                  "--domain",
                                  name,
                                  "--http-listen",
                                  pebble.http_listen()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args, env);
  };
  // Every answer from request `from` on stalls halfway: from a little later each time, until
  // the run that stalls had placed its order (which requests are which records depends on
  // timing: HTTP/2 sends frames of its own).
  // Read without making the inventory (sqlite3 would create the file).
  const auto order_placed = [&] {
    const auto db = state.path() / "inventory.db";
    return std::filesystem::exists(db) &&
           std::atoi(run({"sqlite3", db.string(), "SELECT count(*) FROM orders"}).out.c_str()) > 0;
  };
  for (int from = 4; !order_placed(); from += 3) {
    REQUIRE(from < 60);
    FaultProxy proxy([from](int n) { return n >= from ? Fault::stall : Fault::none; });
    auto stalled = issue({"--timeout", "4"},
                         {{"https_proxy", proxy.url()}, {"no_proxy", ""}, {"NO_PROXY", ""}});
    CHECK(stalled.exit_code == 3);
    CHECK_MESSAGE(stalled.err.find("did not finish within 4 s") != std::string::npos, stalled.err);
    CHECK(proxy.faults().contains(Fault::stall));
  }
  auto resumed = issue({}, {});
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  CHECK(json::parse(resumed.out)["resumed"] == true);
  verify_chain(pebble, state.path() / "certs" / name / "current");
}

TEST_CASE("an answer that stalls: revoke, renewal-info, account, issuer info end at --timeout") {
  Pebble pebble;
  Issuer ck{pebble};
  const std::string name = "slow-ca.example.test";
  REQUIRE(ck.issue({"--domain", name, "--http-listen", pebble.http_listen()}).exit_code == 0);
  FaultProxy proxy([](int) { return Fault::stall; });
  const std::map<std::string, std::string> env{
      {"https_proxy", proxy.url()}, {"no_proxy", ""}, {"NO_PROXY", ""}};
  auto through = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{certkeeper_binary(), "--state-dir", ck.state.path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& a :
         {std::string("--server"), pebble.directory_url(), std::string("--ca-file"),
          pebble.ca_file(), std::string("--timeout"), std::string("2s")}) {
      argv.push_back(a);
    }
    return run(argv, env);
  };
  for (const auto& command : std::vector<std::vector<std::string>>{{"revoke", name},
                                                                   {"renewal-info", name},
                                                                   {"account", "show"},
                                                                   {"account", "rollover"},
                                                                   {"issuer", "info"}}) {
    CAPTURE(command.front());
    auto r = through(command);
    CHECK(r.exit_code == 3);
    CHECK_MESSAGE(r.err.find("the CA did not finish within 2 s") != std::string::npos, r.err);
  }
  CHECK(proxy.faults().contains(Fault::stall));
  CHECK(ck.show(name)["status"] != "revoked");
  // The rollover's new key is kept (the CA might have taken it), and a second one waits for the
  // operator to say which key the account has.
  auto again = through({"account", "rollover"});
  CHECK(again.exit_code == 2);
  CHECK_MESSAGE(again.err.find("rollover did not finish") != std::string::npos, again.err);
  auto shown = certkeeper({"--state-dir", ck.state.path().string(), "account", "show", "--server",
                           pebble.directory_url(), "--ca-file", pebble.ca_file(), "--json"});
  REQUIRE_MESSAGE(shown.exit_code == 0, shown.err);  // the old key, as the CA never saw the new
  const std::string key_path = json::parse(shown.out)["key_path"];
  CHECK(std::filesystem::exists(key_path + ".new"));
  auto blocked = ck.issue({"--domain", "after-" + name, "--http-listen", pebble.http_listen()});
  CHECK(blocked.exit_code == 2);  // until the operator says which key the account has
  CHECK_MESSAGE(blocked.err.find("rollover did not finish") != std::string::npos, blocked.err);
}

TEST_CASE("a CA whose every connection breaks: a clear error, nothing half-made") {
  Pebble pebble;
  for (Fault fault : {Fault::reset, Fault::garbage, Fault::truncate}) {
    CAPTURE(static_cast<int>(fault));
    TempDir state;
    FaultProxy proxy([fault](int) { return fault; });
    auto r = issue_through(proxy, pebble, state.path(), "broken.example.test");
    CHECK(r.exit_code == 3);
    CHECK_MESSAGE(r.err.find(pebble.directory_url()) != std::string::npos, r.err);
    CHECK(proxy.tunnels() == 4);  // the first try and three retries, then it gives up
  }
  {
    TempDir state;
    FaultProxy proxy([](int) { return Fault::none; }, [](int) { return true; });
    auto r = issue_through(proxy, pebble, state.path(), "broken.example.test");
    CHECK(r.exit_code == 3);
    CHECK_MESSAGE(r.err.find(pebble.directory_url()) != std::string::npos, r.err);
    CHECK(proxy.handshakes_cut() == 4);  // a handshake cut is retried like a reset
    CHECK(certkeeper({"--state-dir", state.path().string(), "show", "broken.example.test"})
              .exit_code == 1);
    // No certificate key made for an order that never was (the account's key is kept).
    for (const auto& entry : std::filesystem::directory_iterator(state.path() / "keys")) {
      CHECK_MESSAGE(entry.path().filename().string().starts_with("account-"), entry.path());
    }
  }
}

TEST_SUITE_END();

TEST_CASE(
    "a disk that fills during an issuance: a clear error, the current version and its key kept") {
  REQUIRE_MESSAGE(::geteuid() == 0, "needs root, to mount a small tmpfs as the state directory");
  PebbleOptions options;
  options.env["PEBBLE_AUTHZREUSE"] = "0";  // the dns-01 order is validated again: the hook runs
  Pebble pebble(options);
  Issuer ck{pebble};
  TempDir outside;
  REQUIRE(
      run({"mount", "-t", "tmpfs", "-o", "size=2m,mode=0750", "tmpfs", ck.state.path().string()})
          .exit_code == 0);
  struct Unmount {
    std::string dir;
    ~Unmount() { (void)run({"umount", "-l", dir}); }
  } unmount{ck.state.path().string()};
  const std::string name = "full.example.test";
  auto first = ck.issue({"--domain", name, "--http-listen", pebble.http_listen()});
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);

  // The dns-01 hook fills the disk mid-order and keeps it full (while asked to), then answers
  // the challenge.
  const auto filler = ck.state.path() / "filler";
  const auto fill = outside / "fill";
  const auto stopped = outside / "stopped";
  const auto hook = outside / "dns-hook";
  const auto calls = outside / "hook-calls";  // what the hook was asked, for a failure's message
  std::string script = R"(#!/bin/sh
echo "$@" >> CALLS
if [ "$1" = present ] && [ -e FILL ]; then
  # Full, and kept full until asked to stop (SQLite frees its -wal on close).
  (while [ -e FILL ]; do head -c 1M /dev/zero >> FILLER; sleep 0.02; done; touch STOPPED) \
    >/dev/null 2>&1 &
  sleep 0.2
fi
if [ "$1" = present ]; then
  curl -sf -X POST -d "{\"host\":\"$CERTKEEPER_DNS_RECORD\",\"value\":\"$CERTKEEPER_DNS_VALUE\"}" SET_TXT
fi
)";
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"FILLER", filler.string()},
                                 {"FILL", fill.string()},
                                 {"STOPPED", stopped.string()},
                                 {"CALLS", calls.string()},
                                 {"SET_TXT", pebble.challtestsrv_url("/set-txt")}}) {
    for (auto at = script.find(from); at != std::string::npos;
         at = script.find(from, at + to.size())) {
      script.replace(at, from.size(), to);
    }
  }
  write_text(hook, script, 0755);
  auto by_dns = [&] {
    return ck.issue({"--challenge", "dns-01", "--dns-hook", hook.string(), "--dns-resolver",
                     pebble.dns_address(), "--domain", name});
  };
  // Pebble still reuses the valid authorization in about one order in a hundred at
  // PEBBLE_AUTHZREUSE=0 (it makes a new one when rand.Intn(100) > 0). No hook runs then, the
  // disk never fills and that issuance succeeds: it is the current version, and the test asks
  // again.
  RunResult full = first;
  std::string sha256;
  std::string key_before;
  for (int attempt = 0; attempt < 5 && !std::filesystem::exists(calls); ++attempt) {
    REQUIRE_MESSAGE(full.exit_code == 0, full.err);
    sha256 = json::parse(full.out)["sha256"].get<std::string>();
    key_before = read_text(ck.current(name) / "privkey.pem");
    write_text(fill, "");
    full = by_dns();
  }
  REQUIRE_MESSAGE(std::filesystem::exists(calls), "Pebble reused the authorization 5 times");
  const std::string hook_calls = read_text(calls);
  CAPTURE(hook_calls);
  CAPTURE(full.out);
  CHECK(full.exit_code == 3);
  CHECK_MESSAGE(full.err.find("the file system is full") != std::string::npos, full.err);
  // What was there is intact: the current version, its key; no temporary file left.
  CHECK(read_text(ck.current(name) / "privkey.pem") == key_before);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(ck.state.path())) {
    CHECK_MESSAGE(entry.path().filename().string().find(".tmp-") == std::string::npos,
                  entry.path().string());
  }
  std::filesystem::remove(fill);
  REQUIRE(wait_until([&] { return std::filesystem::exists(stopped); }, std::chrono::seconds(30)));
  std::filesystem::remove(filler);
  CHECK(ck.show(name)["sha256"] == sha256);
  auto again = by_dns();
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(ck.show(name)["sha256"] == json::parse(again.out)["sha256"]);
  CHECK(json::parse(again.out)["sha256"] != sha256);
  verify_chain(pebble, ck.current(name));
}

TEST_CASE("revocation by the account key and by the certificate key reaches the CA") {
  Pebble pebble;
  Issuer ck{pebble};
  for (const char* name : {"by-account", "by-key"}) {
    auto r = ck.issue({"--domain", std::string(name) + ".example.test", "--name", name,
                       "--http-listen", pebble.http_listen()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  auto status_at_ca = [&](const std::string& name) {
    auto serial = ck.show(name)["serial"].get<std::string>();
    return json::parse(pebble.management_get("/cert-status-by-serial/" + serial));
  };
  CHECK(status_at_ca("by-account")["Status"] == "Valid");

  auto by_account = ck.revoke({"by-account", "--reason", "keyCompromise"});
  REQUIRE_MESSAGE(by_account.exit_code == 0, by_account.err);
  auto at_ca = status_at_ca("by-account");
  CHECK(at_ca["Status"] == "Revoked");
  CHECK(at_ca["Reason"] == 1);
  CHECK(ck.show("by-account")["status"] == "revoked");

  auto by_key = ck.revoke({"by-key", "--with-certificate-key", "--reason", "superseded"});
  REQUIRE_MESSAGE(by_key.exit_code == 0, by_key.err);
  CHECK(status_at_ca("by-key")["Reason"] == 4);

  auto again = ck.revoke({"by-account"});
  CHECK(again.exit_code == 3);
  CHECK(again.err.find("the CA said alreadyRevoked") != std::string::npos);
  CHECK(ck.revoke({"by-key", "--reason", "bored"}).exit_code == 2);
  CHECK(ck.revoke({"no-such-certificate"}).exit_code == 1);
}

TEST_CASE("revoke NAME without --server asks the CA that issued it, trusted as configured") {
  Pebble pebble;
  Issuer ck{pebble};
  auto r = ck.issue({"--domain", "recorded.example.test", "--http-listen", pebble.http_listen()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto config = ck.state.path() / "certkeeper.toml";
  write_text(config, "[issuer.pebble]\ndirectory = \"" + pebble.directory_url() +
                         "\"\nca_file = \"" + pebble.ca_file() + "\"\n");
  auto revoked = certkeeper({"--config", config.string(), "--state-dir", ck.state.path().string(),
                             "revoke", "recorded.example.test", "--json"});
  REQUIRE_MESSAGE(revoked.exit_code == 0, revoked.err);
  const auto serial = ck.show("recorded.example.test")["serial"].get<std::string>();
  CHECK(json::parse(pebble.management_get("/cert-status-by-serial/" + serial))["Status"] ==
        "Revoked");

  // An imported certificate has no recorded CA: --server is needed, and said so.
  const auto imported = ck.state.path() / "imported.pem";
  const Issued root = TestPki::root("Somebody's Root");
  write_text(imported, TestPki::leaf(root, {"imported.example.test"}).cert_pem());
  auto import = certkeeper({"--state-dir", ck.state.path().string(), "import", imported.string()});
  REQUIRE_MESSAGE(import.exit_code == 0, import.err);
  auto unknown = certkeeper({"--config", config.string(), "--state-dir", ck.state.path().string(),
                             "revoke", "imported.example.test"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("--server") != std::string::npos);
}

TEST_CASE("account: show, key rollover then issuance with the new key, update, deactivate") {
  Pebble pebble;
  Issuer ck{pebble};
  auto account = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"--state-dir", ck.state.path().string(), "account"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& a :
         {std::string("--server"), pebble.directory_url(), std::string("--ca-file"),
          pebble.ca_file(), std::string("--json")}) {
      argv.push_back(a);
    }
    return certkeeper(argv);
  };
  CHECK(account({"show"}).exit_code == 2);  // no account in this inventory yet
  REQUIRE(ck.issue({"--domain", "before.example.test", "--http-listen", pebble.http_listen(),
                    "--contact", "mailto:a@example.test"})
              .exit_code == 0);
  auto shown = json::parse(account({"show"}).out);
  CHECK(shown["status"] == "valid");
  CHECK(shown["contact"] == json({"mailto:a@example.test"}));
  CHECK(shown["key_type"] == "ES256");
  const std::string key_path = shown["key_path"];
  const std::string old_key = read_text(key_path);

  auto rolled = account({"rollover", "--key", "ecdsa-p384"});
  REQUIRE_MESSAGE(rolled.exit_code == 0, rolled.err);
  auto after = json::parse(rolled.out);
  CHECK(after["url"] == shown["url"]);
  CHECK(after["key_type"] == "ES384");
  CHECK(read_text(key_path) != old_key);
  int kept = 0;  // the old key is kept, never deleted
  for (const auto& e :
       std::filesystem::directory_iterator(std::filesystem::path(key_path).parent_path())) {
    kept += e.path().extension() == ".old" && read_text(e.path()) == old_key ? 1 : 0;
  }
  CHECK(kept == 1);
  auto issued = ck.issue({"--domain", "after.example.test", "--http-listen", pebble.http_listen()});
  CHECK_MESSAGE(issued.exit_code == 0, issued.err);

  auto updated = json::parse(account({"update", "--contact", "mailto:b@example.test"}).out);
  CHECK(updated["contact"] == json({"mailto:b@example.test"}));
  auto deactivated = json::parse(account({"deactivate"}).out);
  CHECK(deactivated["status"] == "deactivated");
  auto refused =
      ck.issue({"--domain", "later.example.test", "--http-listen", pebble.http_listen()});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("is deactivated") != std::string::npos);
}

namespace {

// The lifecycle's issue job run in process, as the service runs it, into the
// state directory of `ck`: its layout, its inventory, http-01 jobs for Pebble.
struct InProcessIssuer {
  explicit InProcessIssuer(Pebble& pebble_in) : pebble(pebble_in), layout(ck.state.path()) {
    REQUIRE(layout.prepare());
    auto opened = store::open_inventory(layout.database().string(), clock);
    REQUIRE(opened);
    inventory = std::move(*opened);
  }
  [[nodiscard]] daemon::IssueJob job(std::vector<std::string> domains) const {
    daemon::IssueJob job;
    job.domains = std::move(domains);
    job.challenge.type = "http-01";
    job.challenge.listen = pebble.http_listen();
    daemon::IssuerConfig issuer;
    issuer.directory = pebble.directory_url();
    issuer.ca_file = pebble.ca_file();
    job.issuers = {issuer};
    return job;
  }
  [[nodiscard]] daemon::JobContext context() {
    return {*inventory, layout, clock, waiter, {}, {}, {}};
  }

  Pebble& pebble;
  Issuer ck{pebble};
  const SystemClock clock;
  store::StateLayout layout;
  std::unique_ptr<store::Inventory> inventory;
  acme::SleepingWaiter waiter;
};

}  // namespace

// In process, through the lifecycle's issue job: the first run stops once the
// order is recorded as ready (before finalize), as a crash would leave it; the
// next run for the same name finishes that order with that key.
TEST_CASE("an order interrupted at each state is resumed, with its key, not started again") {
  Pebble pebble;
  InProcessIssuer in_process(pebble);
  Issuer& ck = in_process.ck;
  for (const std::string stop_at : {"pending", "ready", "valid"}) {  // Pebble skips "processing"
    CAPTURE(stop_at);
    const std::string name = "crash-" + stop_at + ".example.test";
    const daemon::IssueJob job = in_process.job({name, "www." + name});
    daemon::JobContext context = in_process.context();
    bool stopped = false;
    context.on_order_recorded = [&](const acme::Order& order) -> Status {
      if (order.status == stop_at) {
        stopped = true;
        return fail(Errc::cancelled, "stopped at " + stop_at + " by the test");
      }
      return {};
    };
    auto crashed = daemon::issue(job, context);
    REQUIRE_FALSE(crashed);
    CHECK(stopped);
    CHECK_FALSE(std::filesystem::exists(ck.current(name)));

    context.on_order_recorded = {};
    auto resumed = daemon::issue(job, context);
    REQUIRE_MESSAGE(resumed, resumed.error().describe());
    CHECK(resumed->resumed);
    int keys = 0;  // the stopped run's key finished the order: no second key was made
    for (const auto& e : std::filesystem::directory_iterator(ck.state.path() / "keys")) {
      keys += e.path().filename().string().starts_with(name + "-") ? 1 : 0;
    }
    CHECK(keys == 1);
    CHECK(ck.show(name)["key_path"] == resumed->key_path);
    verify_chain(pebble, ck.current(name));

    auto again = daemon::issue(job, context);
    REQUIRE(again);
    CHECK_FALSE(again->resumed);  // nothing left to resume: a fresh order
  }
}

// An interrupted order the CA no longer continues (here gone, as a CA drops
// an expired order; an invalid one goes the same way) is replaced by a new
// order, and its record closed: no later start takes it for one to finish.
TEST_CASE("an interrupted order the CA no longer has is replaced, and its record closed") {
  Pebble pebble;
  InProcessIssuer in_process(pebble);
  const std::string name = "gone.example.test";
  const daemon::IssueJob job = in_process.job({name});
  daemon::JobContext context = in_process.context();
  std::string first_url;
  context.on_order_recorded = [&](const acme::Order& order) -> Status {
    first_url = order.url;
    return fail(Errc::cancelled, "stopped by the test");
  };
  REQUIRE_FALSE(daemon::issue(job, context));
  REQUIRE_FALSE(first_url.empty());
  const std::string gone_url = first_url + "-gone";
  REQUIRE(run({"sqlite3", in_process.layout.database().string(),
               "UPDATE orders SET order_url = '" + gone_url + "' WHERE order_url = '" + first_url +
                   "'"})
              .exit_code == 0);
  REQUIRE(daemon::has_interrupted_order(*in_process.inventory, name));

  context.on_order_recorded = {};
  auto replaced = daemon::issue(job, context);
  REQUIRE_MESSAGE(replaced, replaced.error().describe());
  CHECK_FALSE(replaced->resumed);
  CHECK(replaced->order_url != gone_url);
  verify_chain(pebble, in_process.ck.current(name));
  auto closed = in_process.inventory->orders().find_by_url(gone_url);
  REQUIRE(closed);
  REQUIRE(closed->has_value());
  CHECK((*closed)->status == "invalid");
  CHECK((*closed)->error_json.find(replaced->order_url) != std::string::npos);
  CHECK_FALSE(daemon::has_interrupted_order(*in_process.inventory, name));
  auto again = daemon::issue(job, context);
  REQUIRE(again);
  CHECK_FALSE(again->resumed);
}

TEST_CASE("dns-01 by a hook: records set, seen by the resolver, answered, cleaned up") {
  Pebble pebble;
  Issuer ck{pebble};
  const auto log = ck.state.path() / "hook.log";
  const auto hook = ck.state.path() / "dns-hook";
  // The operator's hook: sets the TXT record in pebble-challtestsrv, Pebble's DNS.
  write_text(hook,
             "#!/bin/sh\n"
             "set -e\n"
             "echo \"$1 $CERTKEEPER_DNS_ACTION $CERTKEEPER_DNS_RECORD $CERTKEEPER_DNS_VALUE\" >> " +
                 log.string() +
                 "\n"
                 "if [ \"$1\" = present ]; then\n"
                 "  curl -sf -X POST -d "
                 "\"{\\\"host\\\":\\\"$CERTKEEPER_DNS_RECORD\\\",\\\"value\\\":\\\"$CERTKEEPER_DNS_"
                 "VALUE\\\"}\" " +
                 pebble.challtestsrv_url("/set-txt") +
                 "\nelse\n"
                 "  curl -sf -X POST -d \"{\\\"host\\\":\\\"$CERTKEEPER_DNS_RECORD\\\"}\" " +
                 pebble.challtestsrv_url("/clear-txt") + "\nfi\n",
             0755);
  auto r = ck.issue({"--challenge", "dns-01", "--dns-hook", hook.string(), "--dns-resolver",
                     pebble.dns_address(), "--domain", "dns.example.test", "--domain",
                     "*.wild.example.test", "--name", "dns"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(ck.show("dns")["sans"] == json({"DNS:dns.example.test", "DNS:*.wild.example.test"}));
  const std::string calls = read_text(log);
  CHECK(calls.find("present present _acme-challenge.dns.example.test.") != std::string::npos);
  CHECK(calls.find("present present _acme-challenge.wild.example.test.") != std::string::npos);
  CHECK(calls.find("cleanup cleanup _acme-challenge.dns.example.test.") != std::string::npos);
  CHECK(calls.find("cleanup cleanup _acme-challenge.wild.example.test.") != std::string::npos);
}

TEST_CASE("bad: dns-01 with a failing hook, or a record that never appears") {
  Pebble pebble;
  Issuer ck{pebble};
  const auto failing = ck.state.path() / "failing-hook";
  write_text(failing, "#!/bin/sh\nexit 7\n", 0755);
  auto r = ck.issue(
      {"--challenge", "dns-01", "--dns-hook", failing.string(), "--domain", "fail.example.test"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("the dns hook failed (present, exit 7)") != std::string::npos);

  const auto silent = ck.state.path() / "silent-hook";
  write_text(silent, "#!/bin/sh\nexit 0\n", 0755);  // claims success, sets nothing
  auto never =
      ck.issue({"--challenge", "dns-01", "--dns-hook", silent.string(), "--dns-resolver",
                pebble.dns_address(), "--dns-timeout", "1", "--domain", "never.example.test"});
  CHECK(never.exit_code == 3);
  CHECK(never.err.find("did not appear at " + pebble.dns_address()) != std::string::npos);
  CHECK(ck.issue({"--challenge", "dns-01", "--domain", "x.example.test"}).exit_code == 2);
}

TEST_CASE("tls-alpn-01 by the built-in listener (RFC 8737)") {
  Pebble pebble;
  Issuer ck{pebble};
  auto r = ck.issue({"--challenge", "tls-alpn-01", "--tls-alpn-listen", pebble.tls_alpn_listen(),
                     "--domain", "alpn.example.test", "--domain", "alpn2.example.test"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  verify_chain(pebble, ck.current("alpn.example.test"));
  CHECK(ck.issue({"--challenge", "tls-alpn-01", "--domain", "x.example.test"}).exit_code == 2);

  // An IP identifier: Pebble asks for its reverse DNS name (RFC 8738 §6).
  auto ip = ck.issue({"--challenge", "tls-alpn-01", "--tls-alpn-listen", pebble.tls_alpn_listen(),
                      "--ip", "127.0.0.1", "--name", "alpn-ip"});
  REQUIRE_MESSAGE(ip.exit_code == 0, ip.err);
  CHECK(json::parse(ip.out)["names"] == json::array({"IP:127.0.0.1"}));
}

TEST_CASE("renew: issues a configured certificate, then only when due, forced or reconfigured") {
  Pebble pebble;
  Issuer ck{pebble};
  const auto config = ck.state.path() / "certkeeper.toml";
  auto configure = [&](const std::string& domains, const std::string& key) {
    write_text(config, "[daemon]\nstate_dir = \"" + ck.state.path().string() +
                           "\"\n\n[issuer.pebble]\ndirectory = \"" + pebble.directory_url() +
                           "\"\nca_file = \"" + pebble.ca_file() +
                           "\"\ncontact = [\"mailto:ops@example.test\"]\n\n[[certificate]]\n"
                           "name = \"site\"\ndomains = [" +
                           domains + "]\nkey = \"" + key +
                           "\"\nchallenge = { type = \"http-01\", listen = \"" +
                           pebble.http_listen() + "\" }\n");
  };
  configure("\"site.example.test\"", "ecdsa-p256");
  auto renew = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"--config", config.string(), "renew"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    return certkeeper(argv);
  };
  auto first = renew({"site"});
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  CHECK(json::parse(first.out)["name"] == "site");

  auto again = renew({"site"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  auto not_due = json::parse(again.out);
  CHECK(not_due["due"] == false);
  CHECK(not_due["rule"] == "lifetime");
  CHECK(not_due["reason"].get<std::string>().find("of the lifetime passed") != std::string::npos);

  auto forced = renew({"site", "--force"});
  REQUIRE_MESSAGE(forced.exit_code == 0, forced.err);
  auto shown = ck.show("site");
  CHECK(shown["sha256"] == json::parse(forced.out)["sha256"]);
  CHECK(shown["versions"].size() == 1);
  CHECK(renew({"no-such"}).exit_code == 2);

  // A name added, then another key type: due at once, without --force.
  configure("\"site.example.test\", \"www.site.example.test\"", "ecdsa-p256");
  auto more_names = renew({"site"});
  REQUIRE_MESSAGE(more_names.exit_code == 0, more_names.err);
  CHECK(ck.show("site")["sans"].size() == 2);
  configure("\"site.example.test\", \"www.site.example.test\"", "rsa2048");
  auto new_key = renew({"site"});
  REQUIRE_MESSAGE(new_key.exit_code == 0, new_key.err);
  CHECK(ck.show("site")["key_type"] == "rsa2048");
  CHECK(json::parse(renew({"site"}).out)["due"] == false);  // and then it agrees again
}

// current/privkey.pem always goes with current/fullchain.pem; reuse_key keeps
// the key across renewals, and without it each renewal makes a new one.
TEST_CASE("renew: current/ holds a matching key; reuse_key keeps it, a key type change does not") {
  Pebble pebble;
  Issuer ck{pebble};
  const auto config = ck.state.path() / "certkeeper.toml";
  auto configure = [&](bool reuse, const std::string& key) {
    write_text(config, "[daemon]\nstate_dir = \"" + ck.state.path().string() +
                           "\"\n\n[issuer.pebble]\ndirectory = \"" + pebble.directory_url() +
                           "\"\nca_file = \"" + pebble.ca_file() +
                           "\"\n\n[[certificate]]\nname = \"site\"\ndomains = "
                           "[\"site.example.test\"]\nkey = \"" +
                           key + "\"\nreuse_key = " + (reuse ? "true" : "false") +
                           "\nchallenge = { type = \"http-01\", listen = \"" +
                           pebble.http_listen() + "\" }\n");
  };
  const auto current = ck.state.path() / "certs" / "site" / "current";
  // The public key of current/fullchain.pem's leaf and of current/privkey.pem.
  auto pair = [&] {
    auto leaf =
        run({"openssl", "x509", "-in", (current / "fullchain.pem").string(), "-noout", "-pubkey"});
    auto key = run({"openssl", "pkey", "-in", (current / "privkey.pem").string(), "-pubout"});
    REQUIRE((leaf.exit_code == 0 && key.exit_code == 0));
    return std::pair(leaf.out, key.out);
  };
  auto renew = [&] {
    auto r = certkeeper({"--config", config.string(), "renew", "site", "--force", "--json"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  };
  configure(true, "ecdsa-p256");
  renew();
  const auto [leaf1, key1] = pair();
  CHECK(leaf1 == key1);
  renew();
  const auto [leaf2, key2] = pair();
  CHECK(leaf2 == key2);
  CHECK(key2 == key1);  // reused
  configure(false, "ecdsa-p256");
  renew();
  const auto [leaf3, key3] = pair();
  CHECK(leaf3 == key3);
  CHECK(key3 != key2);            // a new key each renewal
  configure(true, "ecdsa-p384");  // another type: reused it cannot be
  renew();
  const auto [leaf4, key4] = pair();
  CHECK(leaf4 == key4);
  CHECK(key4 != key3);
  CHECK(ck.show("site")["key_type"] == "ecdsa-p384");
  // nginx takes the stable pair.
  require_program("nginx");
  const auto prefix = ck.state.path() / "nginx";
  const auto nginx = start_nginx(prefix, [&](int port) {
    return "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
           " ssl;\n    ssl_certificate " + (current / "fullchain.pem").string() +
           ";\n    ssl_certificate_key " + (current / "privkey.pem").string() + ";\n  }\n";
  });
  CHECK(nginx.port > 0);
}

// renew --all: each configured certificate due is renewed, one line each;
// a failing one makes the exit 1 and the others still go.
TEST_CASE("renew --all: every due certificate, one line each; exit 1 when one fails") {
  Pebble pebble;
  Issuer ck{pebble};
  const auto config = ck.state.path() / "certkeeper.toml";
  auto certificate = [&](const std::string& name, const std::string& issuer) {
    return "[[certificate]]\nname = \"" + name + "\"\ndomains = [\"" + name +
           ".example.test\"]\nissuer = \"" + issuer +
           "\"\nchallenge = { type = \"http-01\", listen = \"" + pebble.http_listen() + "\" }\n\n";
  };
  const std::string issuers = "[daemon]\nstate_dir = \"" + ck.state.path().string() +
                              "\"\nsocket = \"" + (ck.state.path() / "none.sock").string() +
                              "\"\n\n[issuer.pebble]\ndirectory = \"" + pebble.directory_url() +
                              "\"\nca_file = \"" + pebble.ca_file() +
                              "\"\n\n[issuer.down]\ndirectory = \"https://127.0.0.1:9/dir\"\n\n";
  write_text(config, issuers + certificate("one", "pebble") + certificate("two", "pebble"));
  auto all = [&](std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{"--config", config.string(), "renew", "--all"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return certkeeper(argv);
  };
  auto first = all();
  CHECK_MESSAGE(first.exit_code == 0, first.err);
  CHECK(first.out.find("one: renewed: ") != std::string::npos);
  CHECK(first.out.find("two: renewed: ") != std::string::npos);
  auto again = all({"--json"});
  CHECK(again.exit_code == 0);
  const json results = json::parse(again.out);
  REQUIRE(results.size() == 2);
  CHECK(results[0]["result"] == "not_due");
  CHECK(results[1]["result"] == "not_due");
  write_text(config, issuers + certificate("one", "pebble") + certificate("two", "pebble") +
                         certificate("three", "down"));
  auto partly = all();
  CHECK(partly.exit_code == 1);
  CHECK(partly.out.find("one: not due") != std::string::npos);
  CHECK(partly.out.find("three: failed: ") != std::string::npos);
  CHECK(certkeeper({"--config", config.string(), "renew", "--all", "one"}).exit_code == 2);
  CHECK(certkeeper({"--config", config.string(), "renew"}).exit_code == 2);
}

// The configuration's issuers serve the one-shot commands: without --server,
// issue, account and renewal-info take --issuer NAME or the only issuer, with
// its ca_file. A TLS failure says which trust it was checked against.
TEST_CASE("issue, account and renewal-info take the CA from the configuration") {
  Pebble pebble;
  Issuer ck{pebble};
  const auto config = ck.state.path() / "certkeeper.toml";
  write_text(config, "[daemon]\nstate_dir = \"" + ck.state.path().string() +
                         "\"\n\n[issuer.pebble]\ndirectory = \"" + pebble.directory_url() +
                         "\"\nca_file = \"" + pebble.ca_file() +
                         "\"\n\n[[certificate]]\nname = \"site\"\ndomains = "
                         "[\"site.example.test\"]\nchallenge = { type = \"http-01\", listen = "
                         "\"" +
                         pebble.http_listen() + "\" }\n");
  auto ck_cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config.string()});
    return certkeeper(args);
  };
  // No --server, no --ca-file: the only issuer, trusted through its ca_file.
  auto issued = ck_cli(
      {"issue", "--domain", "other.example.test", "--http-listen", pebble.http_listen(), "--json"});
  REQUIRE_MESSAGE(issued.exit_code == 0, issued.err);
  auto by_name = ck_cli({"issue", "--issuer", "pebble", "--domain", "third.example.test",
                         "--http-listen", pebble.http_listen()});
  CHECK_MESSAGE(by_name.exit_code == 0, by_name.err);
  CHECK(ck_cli({"issue", "--issuer", "nope", "--domain", "x.example.test"}).exit_code == 2);
  auto account = ck_cli({"account", "show", "--json"});
  CHECK_MESSAGE(account.exit_code == 0, account.err);
  CHECK(json::parse(account.out)["status"] == "valid");
  // renewal-info asks the CA that issued it (Pebble offers no ARI: said so, not a TLS error).
  auto ari = ck_cli({"renewal-info", "other.example.test"});
  CHECK(ari.err.find("tls") == std::string::npos);
  CHECK(ari.err.find("renewal") != std::string::npos);

  // --name of a configured certificate with other identifiers: refused, unless --force.
  auto replacing = ck_cli({"issue", "--name", "site", "--domain", "elsewhere.example.test",
                           "--http-listen", pebble.http_listen()});
  CHECK(replacing.exit_code == 2);
  CHECK(replacing.err.find("configured for other names") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(ck.current("site")));
  auto forced = ck_cli({"issue", "--name", "site", "--domain", "elsewhere.example.test",
                        "--http-listen", pebble.http_listen(), "--force"});
  CHECK_MESSAGE(forced.exit_code == 0, forced.err);

  // A private CA's server without its CA file: the error says what trust was used.
  auto untrusted = certkeeper({"--state-dir", ck.state.path().string(), "issue", "--server",
                               pebble.directory_url(), "--domain", "x.example.test",
                               "--http-listen", pebble.http_listen()});
  CHECK(untrusted.exit_code == 3);
  CHECK(untrusted.err.find("system's trust store") != std::string::npos);
  CHECK(untrusted.err.find("--ca-file") != std::string::npos);
}

namespace {

// A configuration with the issuers given as (name, directory, ca_file) in order
// of preference, and one certificate `site` for `domain` through them.
std::string fallback_config(const std::filesystem::path& state, Pebble& pebble,
                            const std::vector<std::array<std::string, 3>>& issuers,
                            const std::string& domain) {
  std::string text = "[daemon]\nstate_dir = \"" + state.string() + "\"\n";
  std::string names;
  for (const auto& [name, directory, ca_file] : issuers) {
    text += "\n[issuer." + name + "]\ndirectory = \"" + directory + "\"\nca_file = \"" + ca_file +
            "\"\n";
    names += (names.empty() ? "\"" : ", \"") + name + "\"";
  }
  return text + "\n[[certificate]]\nname = \"site\"\ndomains = [\"" + domain + "\"]\nissuer = [" +
         names + "]\nchallenge = { type = \"http-01\", listen = \"" + pebble.http_listen() +
         "\" }\n";
}

}  // namespace

TEST_CASE("renew: several issuers; a CA that fails is followed by the next") {
  Pebble pebble;
  Issuer ck{pebble};
  // The first issuer's TLS certificate is not trusted by its ca_file: that CA fails.
  const auto stranger = ck.state.path() / "stranger-root.pem";
  write_text(stranger, TestPki::root("Not Pebble's Root").cert_pem());
  const auto config = ck.state.path() / "certkeeper.toml";
  write_text(config, fallback_config(ck.state.path(), pebble,
                                     {{{"broken", pebble.directory_url(), stranger.string()},
                                       {"pebble", pebble.directory_url(), pebble.ca_file()}}},
                                     "site.example.test"));
  auto r = certkeeper({"--config", config.string(), "renew", "site", "--force", "--json"});

  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("trying the next issuer") != std::string::npos);
  CHECK(json::parse(r.out)["names"] == json::array({"DNS:site.example.test"}));
  verify_chain(pebble, ck.current("site"));
}

// The configuration moves the certificate to another CA (here Pebble under
// another directory URL): due at once, issued there, and then not due.
TEST_CASE("renew: a certificate whose issuer is no longer configured is re-issued at once") {
  Pebble pebble;
  Issuer ck{pebble};
  const auto config = ck.state.path() / "certkeeper.toml";
  std::string elsewhere = pebble.directory_url();
  elsewhere.replace(elsewhere.find("127.0.0.1"), 9, "localhost");
  write_text(config, fallback_config(ck.state.path(), pebble,
                                     {{{"first", pebble.directory_url(), pebble.ca_file()}}},
                                     "moved.example.test"));
  auto renew = [&] { return certkeeper({"--config", config.string(), "renew", "site", "--json"}); };
  REQUIRE(renew().exit_code == 0);
  CHECK(json::parse(renew().out)["due"] == false);
  write_text(config,
             fallback_config(ck.state.path(), pebble, {{{"second", elsewhere, pebble.ca_file()}}},
                             "moved.example.test"));
  auto status = certkeeper({"--config", config.string(), "status", "--json"});
  const json row = json::parse(status.out)["certificates"][0];
  CHECK(row["next_action"]["rule"] == "config_changed");
  CHECK(row["next_action"]["reason"].get<std::string>().find("no longer among its issuers") !=
        std::string::npos);
  auto moved = renew();
  REQUIRE_MESSAGE(moved.exit_code == 0, moved.err);
  CHECK(json::parse(moved.out).contains("sha256"));
  CHECK(json::parse(renew().out)["due"] == false);
}

namespace {

// Listens on a port and holds every connection without a word: Pebble's
// validation of an http-01 challenge then waits, and so does the client.
class SilentListener {
 public:
  explicit SilentListener(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
          held_.push_back(::accept(fd_, nullptr, nullptr));
        }
      }
    });
  }
  ~SilentListener() {
    stop_ = true;
    thread_.join();
    for (int fd : held_) {
      ::close(fd);
    }
    ::close(fd_);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::vector<int> held_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("SIGINT during dns-01: the cleanup hook runs, the order stays on record, resumed next") {
  Pebble pebble;
  Issuer ck{pebble};
  const auto log = ck.state.path() / "hook.log";
  const auto silent = ck.state.path() / "silent-hook";  // never sets the record: a long wait
  write_text(silent, "#!/bin/sh\necho \"$1 $CERTKEEPER_DNS_RECORD\" >> " + log.string() + "\n",
             0755);
  std::vector<std::string> argv{certkeeper_binary(),
                                "--state-dir",
                                ck.state.path().string(),
                                "issue",
                                "--server",
                                pebble.directory_url(),
                                "--ca-file",
                                pebble.ca_file(),
                                "--challenge",
                                "dns-01",
                                "--dns-resolver",
                                pebble.dns_address(),
                                "--domain",
                                "int.example.test",
                                "--name",
                                "int"};
  std::vector<std::string> waiting = argv;
  waiting.insert(waiting.end(), {"--dns-hook", silent.string()});
  Process issuing(waiting, ck.state.path() / "issue.log");
  REQUIRE_MESSAGE(wait_until([&] { return read_text(log).find("present") != std::string::npos; },
                             std::chrono::seconds(30)),
                  read_text(ck.state.path() / "issue.log"));
  CHECK(issuing.stop(SIGINT) == 130);
  const std::string said = read_text(ck.state.path() / "issue.log");
  CHECK(said.find("interrupted by SIGINT") != std::string::npos);
  CHECK(said.find("run the same command again to resume it") != std::string::npos);
  CHECK(read_text(log).find("cleanup _acme-challenge.int.example.test.") != std::string::npos);
  auto orders = run({"sqlite3", (ck.state.path() / "inventory.db").string(),
                     "SELECT status FROM orders WHERE certificate_name = 'int'"});
  CHECK(orders.out == "pending\n");

  // The same command with a hook that does set the record: the order is finished.
  const auto hook = ck.state.path() / "dns-hook";
  write_text(hook,
             "#!/bin/sh\nif [ \"$1\" = present ]; then curl -sf -X POST -d "
             "\"{\\\"host\\\":\\\"$CERTKEEPER_DNS_RECORD\\\",\\\"value\\\":\\\"$CERTKEEPER_DNS_"
             "VALUE\\\"}\" " +
                 pebble.challtestsrv_url("/set-txt") + "; fi\n",
             0755);
  std::vector<std::string> finishing = argv;
  finishing.insert(finishing.end(), {"--dns-hook", hook.string(), "--json"});
  auto resumed = run(finishing);
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  CHECK(json::parse(resumed.out)["resumed"] == true);
}

TEST_CASE("SIGTERM during http-01 by webroot: the token file goes, exit 143") {
  Pebble pebble;
  Issuer ck{pebble};
  SilentListener nobody_answers(pebble.http_port());
  const auto webroot = ck.state.path() / "www";
  std::filesystem::create_directories(webroot);
  Process issuing({certkeeper_binary(), "--state-dir", ck.state.path().string(), "issue",
                   "--server", pebble.directory_url(), "--ca-file", pebble.ca_file(), "--webroot",
                   webroot.string(), "--domain", "term.example.test"},
                  ck.state.path() / "issue.log");
  const auto tokens = webroot / ".well-known" / "acme-challenge";
  REQUIRE_MESSAGE(wait_until(
                      [&] {
                        std::error_code ec;
                        return std::filesystem::exists(tokens, ec) &&
                               !std::filesystem::is_empty(tokens, ec);
                      },
                      std::chrono::seconds(30)),
                  read_text(ck.state.path() / "issue.log"));
  CHECK(issuing.stop(SIGTERM) == 143);
  CHECK(read_text(ck.state.path() / "issue.log").find("interrupted by SIGTERM") !=
        std::string::npos);
  std::error_code ec;
  CHECK((!std::filesystem::exists(tokens, ec) || std::filesystem::is_empty(tokens, ec)));
}

// Deploy as the service does it, from `renew`: the files where the
// configuration says (the key first, mode 0600), HAProxy's combined PEM, then
// the reload command; nginx reloaded by it serves the new certificate.
TEST_CASE("renew deploys a configured certificate: files, combined PEM, reload, nginx serves it") {
  require_program("nginx");
  Pebble pebble;
  Issuer ck{pebble};
  const auto out = ck.state.path() / "deployed";
  std::filesystem::create_directories(out);
  const auto prefix = ck.state.path() / "nginx";
  const auto reload = ck.state.path() / "reload.sh";
  const auto marker = ck.state.path() / "reloads";
  // nginx serves what deploy writes; it needs a certificate to start, so the
  // first version is issued before it runs.
  write_text(reload,
             "#!/bin/sh\necho \"$CERTKEEPER_CERTIFICATE $CERTKEEPER_SHA256\" >> " +
                 marker.string() + "\n[ -f " + (prefix / "nginx.pid").string() + " ] && nginx -p " +
                 prefix.string() + " -c " + (prefix / "nginx.conf").string() +
                 " -s reload\nexit 0\n",
             0755);
  const auto config = ck.state.path() / "certkeeper.toml";
  auto configure = [&](const std::string& reload_program) {
    write_text(config,
               "[daemon]\nstate_dir = \"" + ck.state.path().string() +
                   "\"\n[issuer.pebble]\ndirectory = \"" + pebble.directory_url() +
                   "\"\nca_file = \"" + pebble.ca_file() +
                   "\"\n[[certificate]]\nname = \"site\"\ndomains = "
                   "[\"site.example.test\"]\nchallenge = { type = \"http-01\", listen = \"" +
                   pebble.http_listen() + "\" }\ndeploy = { fullchain = \"" +
                   (out / "site.pem").string() + "\", key = \"" + (out / "site.key").string() +
                   "\", combined = \"" + (out / "site-haproxy.pem").string() + "\", reload = [\"" +
                   reload_program + "\"] }\n");
  };
  configure(reload.string());
  auto check = certkeeper({"--config", config.string(), "config", "check"});
  CHECK_MESSAGE(check.exit_code == 0, check.err);
  auto renew = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{"--config", config.string(), "renew", "site", "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return certkeeper(argv);
  };
  auto first = renew({});
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const json issued = json::parse(first.out);
  CHECK(issued["deploy"]["reloaded"] == true);
  CHECK(issued["deploy"]["written"].size() == 3);
  CHECK(issued["deploy"]["written"][0] == (out / "site.key").string());  // the key first
  struct stat key_stat {};
  REQUIRE(::stat((out / "site.key").c_str(), &key_stat) == 0);
  CHECK((key_stat.st_mode & 0777) == 0600);
  // The deployed key is the certificate's, in both forms.
  auto modulus = [&](const std::vector<std::string>& argv) { return run(argv).out; };
  const std::string cert_key =
      modulus({"openssl", "x509", "-in", (out / "site.pem").string(), "-noout", "-pubkey"});
  CHECK_FALSE(cert_key.empty());
  CHECK(modulus({"openssl", "pkey", "-in", (out / "site.key").string(), "-pubout"}) == cert_key);
  CHECK(modulus({"openssl", "pkey", "-in", (out / "site-haproxy.pem").string(), "-pubout"}) ==
        cert_key);
  CHECK(read_text(marker).find("site " + issued["sha256"].get<std::string>()) != std::string::npos);

  // nginx on the deployed files; a forced renewal deploys, reloads it, and it serves the new one.
  const auto nginx = start_nginx(prefix, [&](int port) {
    return "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
           " ssl;\n    ssl_certificate " + (out / "site.pem").string() +
           ";\n    ssl_certificate_key " + (out / "site.key").string() + ";\n  }\n";
  });
  auto second = renew({"--force"});
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  const std::string renewed = json::parse(second.out)["sha256"].get<std::string>();
  CHECK(renewed != issued["sha256"]);
  write_text(pebble.dir() / "root.pem", pebble.root_pem());
  bool serves_new = false;
  std::string last_probe;
  for (int i = 0; i < 100 && !serves_new; ++i) {  // nginx's workers take the reload in turn
    auto probe =
        certkeeper({"--config", config.string(), "probe", "127.0.0.1:" + std::to_string(nginx.port),
                    "--sni", "site.example.test", "--ca-file", (pebble.dir() / "root.pem").string(),
                    "--expect", "site", "--json"});
    serves_new = probe.exit_code == 0 && json::parse(probe.out)["expect"]["matches"] == true;
    last_probe = probe.out + probe.err;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_MESSAGE(serves_new, last_probe);

  // A reload that fails: the certificate is issued, the failure said, exit 3.
  const auto failing = ck.state.path() / "failing.sh";
  write_text(failing, "#!/bin/sh\necho 'nginx: [emerg] no such thing' >&2\nexit 1\n", 0755);
  configure(failing.string());
  auto third = renew({"--force"});
  CHECK(third.exit_code == 3);
  CHECK(third.err.find("issued but its deploy failed") != std::string::npos);
  CHECK(third.err.find("no such thing") != std::string::npos);

  // config check finds what is not there.
  configure("/nonexistent/reload");
  auto missing = certkeeper({"--config", config.string(), "config", "check"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("reload program /nonexistent/reload") != std::string::npos);
}

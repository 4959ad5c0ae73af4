// `certkeeper probe` against real local servers: openssl s_server (TLS 1.3
// only, TLS 1.2 only, incomplete chain, expired, wrong name), nginx (a staple,
// two names by SNI; plain HTTP as the garbage answer) and a listener that
// never answers. Certificates are dated around now: probes check validity by
// the real clock.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <filesystem>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <thread>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "tests/validator/ocsp_fixture.h"
#include "validator/probe/handshake_costs.h"
#include "validator/probe/probe.h"
#include "validator/probe/resolver.h"
#include "validator/probe/scan.h"
#include "validator/probe/starttls.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

namespace {

// `openssl s_server -www` on a free loopback port with the given certificate files.
struct TlsServer {
  int port = 0;
  std::string ip;
  std::unique_ptr<Process> process;
  TlsServer(const TempDir& dir, const std::string& cert, const std::string& key,
            const std::vector<std::string>& extra, std::string listen_ip = "127.0.0.1")
      : ip(std::move(listen_ip)) {
    static std::atomic<int> started{0};
    const auto log = dir.path() / ("s_server-" + std::to_string(++started) + ".log");
    auto peer = start_listening(
        [&](int on) {
          std::vector<std::string> argv{
              "openssl", "s_server", "-accept", ip + ":" + std::to_string(on),
              "-cert",   cert,       "-key",    key,
              "-www",    "-quiet"};
          argv.insert(argv.end(), extra.begin(), extra.end());
          return std::make_unique<Process>(argv, log);
        },
        "openssl s_server", [&] { return read_text(log); });
    process = std::move(peer.process);
    port = peer.port;
  }
  std::string target() const { return ip + ":" + std::to_string(port); }
};

struct ProbePki {
  TempDir dir;
  std::int64_t now = std::time(nullptr);
  Issued root = TestPki::make(ca_spec("Probe Test Root", now), nullptr);
  Issued ca = TestPki::make(ca_spec("Probe Issuing CA", now), &root);

  std::string write(const std::string& name, const std::string& text) {
    write_text(dir.path() / name, text, 0600);
    return (dir.path() / name).string();
  }
  Issued leaf(const std::string& name, std::int64_t not_before, std::int64_t not_after,
              KeyType key = KeyType::ecdsa_p256) {
    CertificateSpec spec = leaf_spec(name, now, {"nsComment", "certkeeper probe test"});
    spec.not_before = not_before;
    spec.not_after = not_after;
    return TestPki::make(spec, &ca, key);
  }
  // s_server for `leaf`, sending the intermediate unless `incomplete`.
  std::unique_ptr<TlsServer> serve(const Issued& leaf, std::vector<std::string> extra,
                                   bool incomplete = false, const std::string& ip = "127.0.0.1") {
    if (!incomplete) {
      extra.insert(extra.end(), {"-cert_chain", write("ca.pem", ca.cert_pem())});
    }
    return std::make_unique<TlsServer>(dir, write("leaf.pem", leaf.cert_pem()),
                                       write("leaf.key", leaf.key_pem()), extra, ip);
  }
  // nginx under dir()/NAME serving `leaf` and the intermediate over `protocols`,
  // with `directives` in its server block; its target is "127.0.0.1:PORT".
  struct Nginx {
    Listening listening;
    std::string target() const { return "127.0.0.1:" + std::to_string(listening.port); }
  };
  Nginx serve_nginx(const std::string& name, const Issued& leaf, const std::string& protocols,
                    const std::string& directives = "") {
    const std::string full = write(name + "-full.pem", leaf.cert_pem() + ca.cert_pem());
    const std::string key = write(name + ".key", leaf.key_pem());
    const auto prefix = dir.path() / name;
    std::filesystem::create_directories(prefix / "logs");
    return {start_nginx(prefix, [&](int port) {
      return "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
             " ssl;\n    ssl_protocols " + protocols + ";\n    ssl_certificate " + full +
             ";\n    ssl_certificate_key " + key + ";\n    " + directives + "\n  }\n";
    })};
  }
  // gnutls-serv serving `leaf` and the intermediate with `priority`.
  Listening serve_gnutls(const Issued& leaf, const std::string& priority) {
    const std::string cert = write("gnutls.pem", leaf.cert_pem() + ca.cert_pem());
    const std::string key = write("gnutls.key", leaf.key_pem());
    const auto log = dir.path() / "gnutls-serv.log";
    return start_listening(
        [&](int port) {
          return std::make_unique<Process>(
              std::vector<std::string>{"gnutls-serv", "--http", "--port", std::to_string(port),
                                       "--x509certfile", cert, "--x509keyfile", key, "--priority",
                                       priority},
              log);
        },
        "gnutls-serv", [&] { return read_text(log); });
  }
  RunResult probe(const std::string& target, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "--state-dir", (dir.path() / "state").string(),    "probe", target,
        "--ca-file",   write("root.pem", root.cert_pem()), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return certkeeper(args);
  }
};

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// `count()` once it reaches `n`, or after 5 s: servers log a request a moment
// after their answer has reached us.
std::size_t count_reaching(std::size_t n, const std::function<std::size_t()>& count) {
  for (int i = 0; i < 100 && count() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return count();
}

bool has_finding(const json& report, const std::string& code) {
  for (const auto& f : report["findings"]) {
    if (f["code"] == code) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("probe: TLS 1.3 only and TLS 1.2 only, the real round trips and resumption") {
  require_program("openssl");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  struct Case {
    const char* flag;
    const char* protocol;
    int round_trips;
  };
  for (const Case& c : {Case{"-tls1_3", "TLSv1.3", 1}, Case{"-tls1_2", "TLSv1.2", 2}}) {
    CAPTURE(c.flag);
    auto server = pki.serve(leaf, {c.flag});
    auto r = pki.probe(server->target(), {"--sni", "www.example.test", "--trace"});
    REQUIRE_MESSAGE(r.exit_code == 0, std::string(r.err + r.out));
    auto report = json::parse(r.out);
    CHECK(report["protocol"] == c.protocol);
    CHECK(report["round_trips"] == c.round_trips);
    CHECK(report["chain_valid"] == true);
    CHECK(report["chain"].size() == 2);
    CHECK(report["resumption"]["accepted"] == true);
    CHECK(report["resumption"]["ticket_lifetime_s"] == 7200);  // OpenSSL's default
    if (std::string(c.protocol) == "TLSv1.2") {
      CHECK(report["resumption"]["extended_master_secret"] == true);
    }
    for (const char* code : {"no_session_ticket", "tickets_not_resumed", "resumption_without_ems",
                             "long_ticket_lifetime"}) {
      CHECK_FALSE(has_finding(report, code));
    }
    CHECK(report["same_certificate_without_sni"] == true);
    CHECK_FALSE(has_finding(report, "no_staple"));  // no OCSP URL: nothing to staple
    CHECK_FALSE(report["cipher"].get<std::string>().empty());
    CHECK_FALSE(report["group"].get<std::string>().empty());
    CHECK(report["staple"]["present"] == false);
    const auto& trace = report["trace"];
    REQUIRE(trace.size() >= 6);
    CHECK(trace[0]["message"] == "ClientHello");
    CHECK(trace[0]["direction"] == "sent");
    CHECK(trace[1]["message"] == "ServerHello");
    CHECK(trace[1]["direction"] == "received");
  }
}

// `openssl s_server -early_data` answers nothing and prints what it receives; it
// cannot run with -www, and ends a connection when its standard input ends:
// here a FIFO the test holds open.
// The probe waits for an answer that never comes, up to its --timeout: a short
// one, for a short test (the handshakes themselves take milliseconds).
constexpr const char* kNoAnswerTimeout = "3s";

struct EarlyDataServer {
  TempDir dir;
  int fifo = -1;
  int port = 0;
  std::unique_ptr<Process> process;
  EarlyDataServer(ProbePki& pki, const Issued& leaf, bool early_data) {
    const auto path = dir.path() / "stdin";
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    fifo = ::open(path.c_str(), O_RDWR | O_CLOEXEC);  // a writer, so the reader never sees EOF
    REQUIRE(fifo >= 0);
    const std::string cert = pki.write("ed-leaf.pem", leaf.cert_pem());
    const std::string key = pki.write("ed-leaf.key", leaf.key_pem());
    const std::string chain = pki.write("ca.pem", pki.ca.cert_pem());
    auto peer = start_listening(
        [&](int on) {
          return std::make_unique<Process>(
              std::vector<std::string>{
                  "sh", "-c",
                  "exec openssl s_server -accept 127.0.0.1:" + std::to_string(on) + " -cert " +
                      cert + " -key " + key + " -cert_chain " + chain + " -tls1_3" +
                      (early_data ? " -early_data" : "") + " < " + path.string()},
              dir.path() / "s_server.log");
        },
        "openssl s_server", [&] { return log(); });
    process = std::move(peer.process);
    port = peer.port;
  }
  ~EarlyDataServer() {
    process.reset();
    ::close(fifo);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port); }
  std::string log() const { return read_text(dir.path() / "s_server.log"); }
};

TEST_CASE("probe --early-data: s_server with and without -early_data") {
  require_program("openssl");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  {
    EarlyDataServer server(pki, leaf, true);
    auto r = pki.probe(server.target(), {"--sni", "www.example.test", "--early-data", "--timeout",
                                         kNoAnswerTimeout});
    REQUIRE_MESSAGE(r.exit_code == 0, std::string(r.err + r.out));  // a warning, not an error
    auto report = json::parse(r.out);
    CHECK(report["early_data"]["status"] == "accepted");
    CHECK(report["early_data"]["sent"] == "HEAD /");
    CHECK(report["early_data"]["max_bytes"].get<int>() > 0);
    CHECK(report["resumption"]["accepted"] == true);
    CHECK(has_finding(report, "early_data_accepted"));
    // The server's own account: it read our request as early data.
    const std::string log = server.log();
    const auto early = log.find("Early data received");
    REQUIRE_MESSAGE(early != std::string::npos, log);
    CHECK(log.find("HEAD / HTTP/1.1", early) != std::string::npos);

    auto allowed =
        pki.probe(server.target(), {"--sni", "www.example.test", "--early-data",
                                    "--allow-early-data", "--timeout", kNoAnswerTimeout});
    REQUIRE(allowed.exit_code == 0);
    const json allowed_report = json::parse(allowed.out);
    for (const auto& f : allowed_report["findings"]) {
      if (f["code"] == "early_data_accepted") {
        CHECK(f["severity"] == "info");
      }
    }
  }
  {
    EarlyDataServer server(pki, leaf, false);
    auto r = pki.probe(server.target(), {"--sni", "www.example.test", "--early-data", "--timeout",
                                         kNoAnswerTimeout});
    REQUIRE_MESSAGE(r.exit_code == 0, std::string(r.err + r.out));
    auto report = json::parse(r.out);
    CHECK(report["early_data"]["status"] == "not_sent");  // the ticket allows none
    CHECK(report["early_data"]["max_bytes"] == 0);
    CHECK(report["early_data"]["first_byte_ms_0rtt"].is_null());
    CHECK_FALSE(has_finding(report, "early_data_accepted"));
    CHECK(server.log().find("Early data received") == std::string::npos);
  }
  CHECK(pki.probe("127.0.0.1:1", {"--early-data=twice"}).exit_code == 2);
  CHECK(pki.probe("127.0.0.1:1", {"--allow-early-data"}).exit_code == 2);
  // One endpoint at a time: not silently dropped from a bulk probe.
  CHECK(certkeeper({"probe", "--targets", "/dev/null", "--early-data"}).exit_code == 2);
}

TEST_CASE("probe --early-data: nginx with ssl_early_data on and off; the answer timed both ways") {
  require_program("openssl");
  require_program("nginx");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  for (const bool on : {true, false}) {
    CAPTURE(on);
    const std::string name = on ? "nginx-on" : "nginx-off";
    const auto access_log = pki.dir.path() / name / "logs" / "access.log";
    const auto nginx = pki.serve_nginx(name, leaf, "TLSv1.3",
                                       std::string("ssl_early_data ") + (on ? "on" : "off") +
                                           ";\n    access_log " + access_log.string() +
                                           ";\n    location / { return 200 \"ok\\n\"; }");
    auto r = pki.probe(nginx.target(), {"--sni", "www.example.test", "--early-data"});
    REQUIRE_MESSAGE(r.exit_code == 0, std::string(r.err + r.out));
    const json e = json::parse(r.out)["early_data"];
    CHECK(e["status"] == (on ? "accepted" : "not_sent"));
    CHECK(e["first_byte_ms_1rtt"].get<double>() > 0);  // nginx answered the HEAD after a handshake
    if (on) {
      CHECK(e["first_byte_ms_0rtt"].get<double>() > 0);  // and the one sent in 0-RTT
      CHECK(e["max_bytes"].get<int>() > 0);
    } else {
      CHECK(e["first_byte_ms_0rtt"].is_null());
    }
    // nginx logs each HEAD it answered, both of them (once it is done with the request,
    // which may be a moment after its answer reached us).
    CHECK(count_reaching(2, [&] {
            return occurrences(std::filesystem::exists(access_log) ? read_text(access_log) : "",
                               "\"HEAD / HTTP/1.1\" 200");
          }) == 2);
  }
}

TEST_CASE("probe: a TLS 1.3 server that sends no session ticket is told (info)") {
  require_program("openssl");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  auto server = pki.serve(leaf, {"-tls1_3", "-num_tickets", "0"});
  auto r = pki.probe(server->target(), {"--sni", "www.example.test"});
  REQUIRE_MESSAGE(r.exit_code == 0, std::string(r.err + r.out));  // information only
  auto report = json::parse(r.out);
  CHECK(has_finding(report, "no_session_ticket"));
  CHECK(report["resumption"]["offered"] == "");
  CHECK(report["resumption"]["ticket_lifetime_s"].is_null());
}

TEST_CASE("resumption findings, from what the two handshakes showed") {
  struct Case {
    const char* name;
    validator::ResumptionFacts facts;
    std::vector<std::string> codes;
  };
  const std::uint32_t day = 86400;
  for (const Case& c : {
           Case{"good_tls13", {"TLSv1.3", true, true, day, false, true}, {}},
           Case{"good_tls12_ems", {"TLSv1.2", true, true, day, true, true}, {}},
           Case{"good_tls12_session_id", {"TLSv1.2", true, false, 0, true, true}, {}},
           Case{"no_ticket_tls13",
                {"TLSv1.3", false, false, 0, false, false},
                {"no_session_ticket"}},
           Case{"no_session_tls12_says_nothing", {"TLSv1.2", false, false, 0, true, false}, {}},
           Case{"tickets_not_resumed",
                {"TLSv1.3", true, true, day, false, false},
                {"tickets_not_resumed"}},
           Case{"session_id_not_resumed_is_not_a_ticket",
                {"TLSv1.2", true, false, 0, true, false},
                {}},
           Case{"tls12_without_ems",
                {"TLSv1.2", true, true, day, false, true},
                {"resumption_without_ems"}},
           Case{"week_is_fine", {"TLSv1.3", true, true, 7 * day, false, true}, {}},
           Case{"longer_than_a_week",
                {"TLSv1.2", true, true, 10 * day, true, true},
                {"long_ticket_lifetime"}},
       }) {
    CAPTURE(std::string(c.name));
    std::vector<std::string> codes;
    for (const auto& f : validator::resumption_findings(c.facts)) {
      codes.push_back(f.code);
    }
    CHECK(codes == c.codes);
  }
}

// A handshake whose server flight is already waiting when the client reads
// completes inside one step of the poll loop; its time once came out as 0.0
// (the loop's time of the poll, not of the end). Repeated, since it depends
// on scheduling: each run must agree with its own trace.
TEST_CASE("probe: each timing spans the events it names, as --trace shows them") {
  require_program("openssl");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  for (const char* flag : {"-tls1_3", "-tls1_2"}) {
    CAPTURE(flag);
    auto server = pki.serve(leaf, {flag});
    for (int run = 0; run < 10; ++run) {
      CAPTURE(run);
      auto r = pki.probe(server->target(), {"--sni", "www.example.test", "--trace"});
      REQUIRE_MESSAGE(r.exit_code == 0, std::string(r.err + r.out));
      const auto report = json::parse(r.out);
      const auto& t = report["timings_ms"];
      const double handshake = t["handshake"].get<double>();
      CHECK(t["connect"].get<double>() > 0);
      CHECK(handshake > 0);
      CHECK(t["total"].get<double>() >= t["connect"].get<double>() + handshake);
      // The trace counts from the same moment (TCP established); the
      // handshake ends after its last Finished, and not before.
      double last_finished = -1;
      for (const auto& m : report["trace"]) {
        CHECK(m["at_ms"].get<double>() >= 0);
        if (m["message"] == "Finished") {
          last_finished = m["at_ms"].get<double>();
        }
      }
      REQUIRE(last_finished >= 0);
      CHECK(handshake >= last_finished);
    }
  }
}

TEST_CASE("probe: what is wrong with a deployment is a finding, exit 1") {
  require_program("openssl");
  ProbePki pki;
  const Issued good = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  const Issued expired = pki.leaf("www.example.test", pki.now - 60 * kDay, pki.now - kDay);
  const Issued soon = pki.leaf("www.example.test", pki.now - kDay, pki.now + 3 * kDay);
  struct Case {
    std::string name;
    const Issued* leaf;
    bool incomplete;
    std::string sni;
    std::string finding;
    int exit_code;
  };
  for (const Case& c : {
           Case{"bad_incomplete_chain", &good, true, "www.example.test", "incomplete_chain", 1},
           Case{"bad_expired", &expired, false, "www.example.test", "expired", 1},
           Case{"bad_wrong_hostname", &good, false, "mail.example.test", "hostname_mismatch", 1},
           Case{"warning_expiring_soon", &soon, false, "www.example.test", "expiring", 0},
       }) {
    CAPTURE(c.name);
    auto server = pki.serve(*c.leaf, {}, c.incomplete);
    auto r = pki.probe(server->target(), {"--sni", c.sni});
    CHECK(r.exit_code == c.exit_code);
    auto report = json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE(report.is_object(), r.err);
    CHECK(has_finding(report, c.finding));
  }
}

TEST_CASE("probe: a silent listener times out, a non-TLS answer is a clear error; exit 3") {
  ProbePki pki;
  SUBCASE("silent") {
    ScriptedHttpServer silent([](const std::string&) { return std::string(); });
    const std::string url = silent.url("/");
    const std::string target = url.substr(7, url.find('/', 7) - 7);
    auto r = pki.probe(target, {"--timeout", "1s"});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("no TLS handshake within 1000 ms") != std::string::npos);
  }
  SUBCASE("garbage: plain HTTP nginx answers the ClientHello") {
    require_program("nginx");
    const auto prefix = pki.dir.path() / "nginx";
    std::filesystem::create_directories(prefix / "logs");
    const auto nginx = start_nginx(prefix, [](int port) {
      return "  server {\n    listen 127.0.0.1:" + std::to_string(port) + ";\n  }\n";
    });
    const int port = nginx.port;
    auto r = pki.probe("127.0.0.1:" + std::to_string(port), {"--timeout", "5s"});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("TLS handshake failed") != std::string::npos);
  }
  SUBCASE("nobody listening") {
    auto r = pki.probe("127.0.0.1:" + std::to_string(free_port()));
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("connect: Connection refused") != std::string::npos);
  }
}

TEST_CASE("probe --expect: drift once the inventory's certificate changes") {
  require_program("openssl");
  ProbePki pki;
  const Issued v1 = pki.leaf("www.example.test", pki.now - 2 * kDay, pki.now + 60 * kDay);
  const Issued v2 = pki.leaf("www.example.test", pki.now - kDay, pki.now + 90 * kDay);
  auto import = [&](const Issued& leaf) {
    auto r = certkeeper({"--state-dir", (pki.dir.path() / "state").string(), "import",
                         pki.write("import.pem", leaf.cert_pem() + pki.ca.cert_pem())});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  };
  import(v1);
  auto server = pki.serve(v1, {});
  auto fine =
      pki.probe(server->target(), {"--sni", "www.example.test", "--expect", "www.example.test"});
  CHECK_MESSAGE(fine.exit_code == 0, fine.out);
  const auto matched = json::parse(fine.out)["expect"];
  CHECK(matched["matches"] == true);
  CHECK(matched["message"].get<std::string>().starts_with("matches www.example.test (version "));
  // In text too: a match is said, not left to silence.
  auto fine_text =
      certkeeper({"--state-dir", (pki.dir.path() / "state").string(), "probe", server->target(),
                  "--ca-file", pki.write("root.pem", pki.root.cert_pem()), "--sni",
                  "www.example.test", "--expect", "www.example.test"});
  CHECK(fine_text.out.find("matches www.example.test (version ") != std::string::npos);

  import(v2);  // renewed, but the server was never reloaded
  auto drift =
      pki.probe(server->target(), {"--sni", "www.example.test", "--expect", "www.example.test"});
  CHECK(drift.exit_code == 1);
  auto report = json::parse(drift.out);
  REQUIRE(has_finding(report, "drift"));
  CHECK(report["findings"].back()["message"].get<std::string>().find("an older version") !=
        std::string::npos);
  CHECK(report["expect"]["matches"] == false);
  // Each probe of the managed name is kept in the inventory (three so far).
  auto db = run({"sqlite3", (pki.dir.path() / "state" / "inventory.db").string(),
                 "SELECT count(*), sum(ok) FROM probes WHERE target = '" + server->target() + "'"});
  CHECK(db.out == "3|2\n");

  CHECK(pki.probe(server->target(),
                  {"--sni", "www.example.test", "--expect-fingerprint", std::string(64, 'a')})
            .exit_code == 1);
  CHECK(pki.probe(server->target(), {"--expect", "no-such-name"}).exit_code == 2);
}

TEST_CASE("probe: nginx with a staple and two names chosen by SNI") {
  require_program("openssl");
  require_program("nginx");
  OcspPki pki;
  const Issued a = pki.leaf("a.example.test");
  const Issued b = pki.leaf("b.example.test");
  pki.start({{&a, "V"}, {&b, "V"}}, pki.ca);
  const auto staple = pki.dir.path() / "a.ocsp";
  write_text(pki.dir.path() / "a-full.pem", a.cert_pem() + pki.ca.cert_pem());
  write_text(pki.dir.path() / "b-full.pem", b.cert_pem() + pki.ca.cert_pem());
  REQUIRE(certkeeper({"staple", "--cert", (pki.dir.path() / "a-full.pem").string(), "--out",
                      staple.string()})
              .exit_code == 0);
  pki.stop();

  const auto prefix = pki.dir.path() / "nginx";
  std::filesystem::create_directories(prefix / "logs");
  write_text(prefix / "a.key", a.key_pem(), 0600);
  write_text(prefix / "b.key", b.key_pem(), 0600);
  const auto nginx = start_nginx(prefix, [&](int port) {
    auto server_block = [&](const std::string& name, const std::string& extra) {
      return "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
             " ssl;\n    server_name " + name + ".example.test;\n    ssl_certificate " +
             (pki.dir.path() / (name + "-full.pem")).string() + ";\n    ssl_certificate_key " +
             (prefix / (name + ".key")).string() + ";\n" + extra + "  }\n";
    };
    return server_block("a", "    ssl_stapling on;\n    ssl_stapling_file " + staple.string() +
                                 ";\n    ssl_session_timeout 10d;\n") +
           server_block("b", "");
  });
  const int port = nginx.port;
  write_text(pki.dir.path() / "root.pem", pki.root.cert_pem());
  auto probe = [&](const std::string& sni) {
    auto r = certkeeper({"probe", "127.0.0.1:" + std::to_string(port), "--sni", sni, "--ca-file",
                         (pki.dir.path() / "root.pem").string(), "--json"});
    auto report = json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE(report.is_object(), r.err);
    return std::pair(r.exit_code, report);
  };
  auto [a_exit, a_report] = probe("a.example.test");
  CHECK(a_exit == 0);
  CHECK(a_report["staple"]["present"] == true);
  CHECK(a_report["staple"]["verified"] == true);
  CHECK(a_report["staple"]["status"] == "good");
  CHECK(a_report["same_certificate_without_sni"] == true);  // a is nginx's default server

  auto [b_exit, b_report] = probe("b.example.test");
  CHECK(b_exit == 0);
  CHECK(b_report["chain"][0]["subject"].get<std::string>().find("b.example.test") !=
        std::string::npos);
  CHECK(b_report["staple"]["present"] == false);
  // b names an OCSP responder and gets no staple: information, not a fault.
  CHECK(has_finding(b_report, "no_staple"));
  CHECK_FALSE(has_finding(a_report, "no_staple"));
  CHECK(b_report["same_certificate_without_sni"] == false);
  CHECK(has_finding(b_report, "sni_dependent"));
  // The default server keeps sessions for 10 days (nginx takes session settings from it for
  // every name), and says so in its tickets.
  CHECK_MESSAGE(has_finding(a_report, "long_ticket_lifetime"), a_report["resumption"].dump());
  CHECK(a_report["resumption"]["ticket_lifetime_s"] == 10 * 86400);
}

// --handshakes with --trace: the rows, by kind.
std::map<std::string, json> costs_of(const RunResult& r) {
  REQUIRE_MESSAGE(r.exit_code == 0, std::string(r.err + r.out));
  std::map<std::string, json> rows;
  const json report = json::parse(r.out);
  for (const json& row : report["handshake_costs"]) {
    rows[row["kind"].get<std::string>()] = row;
  }
  REQUIRE(rows.size() == 7);  // every kind, measured or not
  return rows;
}

// A measured kind against its own trace: the handshake runs from the first
// ClientHello to the second Finished; its round trips are the flights of ours
// the server answered in between, its time spans them, and its record bytes
// hold the messages sent each way.
void check_against_trace(const json& row) {
  CAPTURE(row.dump());
  REQUIRE(row["measured"] == true);
  const json& trace = row["trace"];
  REQUIRE_FALSE(trace.empty());
  CHECK(trace[0]["message"] == "ClientHello");
  CHECK(trace[0]["direction"] == "sent");
  int finished = 0;
  int flights = 0;
  bool ours_pending = false;
  std::size_t sent = 0;
  std::size_t received = 0;
  double last_at = 0;
  for (const json& m : trace) {
    const bool ours = m["direction"] == "sent";
    if (!ours && ours_pending) {
      ++flights;
    }
    ours_pending = ours;
    (ours ? sent : received) += m["bytes"].get<std::size_t>();
    last_at = m["at_ms"].get<double>();
    if (m["message"] == "Finished" && ++finished == 2) {
      break;
    }
  }
  REQUIRE(finished == 2);
  CHECK(row["round_trips"] == flights);
  CHECK(row["median_ms"].get<double>() ==
        doctest::Approx(last_at - trace[0]["at_ms"].get<double>()).epsilon(1e-9));
  CHECK(row["server_ms"].get<double>() <= row["median_ms"].get<double>());
  CHECK(row["bytes_sent"].get<std::size_t>() > sent);
  CHECK(row["bytes_received"].get<std::size_t>() > received);
}

bool trace_has(const json& row, const std::string& message) {
  return std::ranges::any_of(row["trace"], [&](const json& m) { return m["message"] == message; });
}

TEST_CASE("probe --handshakes: s_server; each kind's round trips as its own trace shows them") {
  require_program("openssl");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  const std::vector<std::string> flags{"--sni", "www.example.test", "--handshakes", "--repeat",
                                       "3",     "--trace"};
  {
    auto server = pki.serve(leaf, {});
    auto rows = costs_of(pki.probe(server->target(), flags));
    for (const char* kind : {"tls13_full", "tls13_resumed", "tls12_full",
                             "tls12_resumed_session_id", "tls12_resumed_ticket"}) {
      CAPTURE(kind);
      check_against_trace(rows[kind]);
      CHECK(rows[kind]["samples"] == 3);
      const bool resumed = std::string(kind).find("resumed") != std::string::npos;
      // Resumption skips the certificate; TLS 1.3 takes one round trip where 1.2 takes two.
      CHECK(trace_has(rows[kind], "Certificate") == !resumed);
      CHECK(rows[kind]["round_trips"] == (kind == std::string("tls12_full") ? 2 : 1));
      CHECK(rows[kind]["round_trips_before_data"] == rows[kind]["round_trips"]);
    }
    // OpenSSL takes a key share for every group it knows: no retry to draw.
    CHECK(rows["tls13_hello_retry"]["measured"] == false);
    CHECK(rows["tls13_hello_retry"]["reason"].get<std::string>().find("never asked") !=
          std::string::npos);
    CHECK(rows["tls13_0rtt"]["measured"] == false);
    CHECK(rows["tls13_0rtt"]["reason"] == "the server's tickets allow no early data");
  }
  {
    auto server = pki.serve(leaf, {"-groups", "P-256"});  // one group: any other share is retried
    auto rows = costs_of(pki.probe(server->target(), flags));
    check_against_trace(rows["tls13_full"]);
    CHECK(rows["tls13_full"]["group"] == "secp256r1");
    CHECK_FALSE(trace_has(rows["tls13_full"], "HelloRetryRequest"));
    const json& retry = rows["tls13_hello_retry"];
    check_against_trace(retry);
    CHECK(retry["round_trips"] == 2);
    CHECK(trace_has(retry, "HelloRetryRequest"));
    CHECK(retry["key_share"] != "secp256r1");
    CHECK(retry["group"] == "secp256r1");
  }
  {
    auto server = pki.serve(leaf, {"-no_ticket"});
    auto rows = costs_of(pki.probe(server->target(), flags));
    CHECK(rows["tls12_resumed_ticket"]["measured"] == false);
    CHECK(rows["tls12_resumed_ticket"]["reason"] == "the server issued no TLS 1.2 session ticket");
    check_against_trace(rows["tls12_resumed_session_id"]);
  }
  {
    EarlyDataServer server(pki, leaf, true);
    auto rows = costs_of(pki.probe(server.target(), flags));
    const json& zero = rows["tls13_0rtt"];
    check_against_trace(zero);
    CHECK(zero["early_data"] == "accepted");
    CHECK(zero["round_trips_before_data"] == 0);
    CHECK(trace_has(zero, "EndOfEarlyData"));
    CHECK(rows["tls12_full"]["measured"] == false);  // -tls1_3
    // The server's own account: each 0-RTT handshake's request, read as early data.
    CHECK(count_reaching(3, [&] { return occurrences(server.log(), "Early data received"); }) == 3);
  }
  {
    EarlyDataServer server(pki, leaf, false);
    auto rows = costs_of(pki.probe(server.target(), flags));
    CHECK(rows["tls13_0rtt"]["measured"] == false);
    check_against_trace(rows["tls13_resumed"]);
    CHECK(server.log().find("Early data received") == std::string::npos);
  }
  CHECK(pki.probe("127.0.0.1:1", {"--repeat", "3"}).exit_code == 2);  // needs --handshakes
  CHECK(pki.probe("127.0.0.1:1", {"--handshakes", "--repeat", "0"}).exit_code == 2);
}

TEST_CASE("probe --handshakes: nginx with early data on and off, tickets off") {
  require_program("openssl");
  require_program("nginx");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  struct Case {
    const char* name;
    const char* directives;
    bool early_data;
    bool tickets;
  };
  for (const Case& c : {Case{"early_data_on", "ssl_early_data on;", true, true},
                        Case{"early_data_off", "ssl_early_data off;", false, true},
                        Case{"tickets_off", "ssl_session_tickets off;", false, false}}) {
    CAPTURE(c.name);
    const auto nginx =
        pki.serve_nginx(c.name, leaf, "TLSv1.2 TLSv1.3",
                        std::string(c.directives) + "\n    location / { return 200 \"ok\\n\"; }");
    auto rows = costs_of(pki.probe(
        nginx.target(), {"--sni", "www.example.test", "--handshakes", "--repeat", "3", "--trace"}));
    check_against_trace(rows["tls13_full"]);
    check_against_trace(rows["tls12_full"]);
    CHECK(rows["tls13_0rtt"]["measured"] == c.early_data);
    if (c.early_data) {
      check_against_trace(rows["tls13_0rtt"]);
      CHECK(rows["tls13_0rtt"]["early_data"] == "accepted");
      CHECK(rows["tls13_0rtt"]["round_trips_before_data"] == 0);
    }
    CHECK(rows["tls12_resumed_ticket"]["measured"] == c.tickets);
    // nginx keeps no session cache unless told: it names a session it cannot resume.
    CHECK(rows["tls12_resumed_session_id"]["measured"] == false);
    for (auto& [kind, row] : rows) {
      if (row["measured"] == true) {
        CAPTURE(kind);
        check_against_trace(row);
      }
    }
  }
}

TEST_CASE("handshake costs: the median sample speaks for its kind") {
  using validator::HandshakeKind;
  using validator::HandshakeSample;
  auto sample = [](double ms, int round_trips, bool early) {
    return HandshakeSample{round_trips, ms,    ms / 2, static_cast<std::size_t>(ms * 100),
                           7,           early, {}};
  };
  const auto odd =
      validator::summarize(HandshakeKind::tls13_early_data,
                           {sample(3, 1, true), sample(1, 1, true), sample(9, 2, false)});
  CHECK(odd.samples == 3);
  CHECK(odd.median_ms == 3);
  CHECK(odd.server_ms == 1.5);
  CHECK(odd.bytes_sent == 300);
  CHECK(odd.round_trips == 1);
  CHECK(odd.round_trips_before_data == 0);
  CHECK(odd.early_data == "accepted");
  // An even count: the lower of the two middle samples, never a mean no handshake had.
  const auto even = validator::summarize(
      HandshakeKind::tls12_full,
      {sample(4, 2, false), sample(2, 2, false), sample(8, 2, false), sample(6, 2, false)});
  CHECK(even.median_ms == 4);
  CHECK(even.round_trips_before_data == 2);
  CHECK(even.early_data.empty());
  const auto one = validator::summarize(HandshakeKind::tls13_early_data, {sample(5, 1, false)});
  CHECK(one.early_data == "rejected");
  CHECK(one.round_trips_before_data == 1);
}

TEST_CASE("probe --scan: versions, ciphers, preference, legacy protocols") {
  require_program("openssl");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  auto scan = [&](std::vector<std::string> server_flags) {
    auto server = pki.serve(leaf, std::move(server_flags));
    auto r = pki.probe(server->target(), {"--sni", "www.example.test", "--scan"});
    auto report = json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE(report.is_object(), r.err);
    std::map<std::string, json> versions;
    for (const auto& v : report["scan"]["versions"]) {
      versions[v["version"]] = v;
    }
    return std::tuple(r.exit_code, report, versions);
  };
  SUBCASE("TLS 1.3 only") {
    auto [exit_code, report, versions] = scan({"-tls1_3"});
    CHECK(exit_code == 0);
    CHECK(versions["TLSv1.3"]["state"] == "accepted");
    CHECK(versions["TLSv1.3"]["ciphers"].size() >= 2);
    CHECK(versions["TLSv1.2"]["state"] == "refused");
    CHECK(versions["TLSv1"]["state"] == "refused");
    CHECK(versions["SSLv3"]["state"] == "refused");  // our own hello: SSL 3.0 is testable
    CHECK(versions["SSLv2"]["state"] == "refused");
    CHECK_FALSE(has_finding(report, "legacy_protocol"));
    CHECK_FALSE(has_finding(report, "no_tls13"));
    CHECK(report["scan"]["complete"] == true);
  }
  SUBCASE("groups: named by TLS 1.3's HelloRetryRequest, or TLS 1.2's ServerKeyExchange") {
    auto [exit13, report13, versions13] = scan({"-tls1_3", "-groups", "X25519:P-384"});
    CHECK(report13["scan"]["groups_from"] == "TLSv1.3");
    CHECK(report13["scan"]["groups"] == json::array({"x25519", "secp384r1"}));
    auto [exit12, report12, versions12] = scan({"-tls1_2", "-groups", "P-256:P-384"});
    CHECK(report12["scan"]["groups_from"] == "TLSv1.2");
    CHECK(report12["scan"]["groups"] == json::array({"secp256r1", "secp384r1"}));
    CHECK(report12["scan"]["complete"] == true);
  }
  SUBCASE("TLS 1.2 only") {
    auto [exit_code, report, versions] = scan({"-tls1_2"});
    CHECK(exit_code == 0);
    CHECK(versions["TLSv1.3"]["state"] == "refused");
    CHECK(has_finding(report, "no_tls13"));
    CHECK(has_finding(report, "cbc_cipher"));  // OpenSSL's default list keeps AES-CBC
  }
  SUBCASE("TLS 1.0 enabled, the server's own cipher order") {
    auto [exit_code, report, versions] =
        scan({"-min_protocol", "TLSv1", "-cipher", "DEFAULT:@SECLEVEL=0", "-serverpref"});
    CHECK(exit_code == 0);  // a warning, not an error
    CHECK(versions["TLSv1"]["state"] == "accepted");
    CHECK(versions["TLSv1.1"]["state"] == "accepted");
    CHECK(has_finding(report, "legacy_protocol"));
    CHECK(versions["TLSv1.2"]["server_preference"] == true);
  }
}

// The server takes the probe's three connections (the first handshake, the
// resumption and the one without SNI), then stops listening: every scan offer
// meets a refused connection, which tells nothing of the offer.
TEST_CASE("probe --scan: offers left unanswered are undecided, never refused") {
  require_program("openssl");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  auto server = pki.serve(leaf, {"-naccept", "3"});
  auto r = pki.probe(server->target(), {"--sni", "www.example.test", "--scan", "--timeout", "1s"});
  auto report = json::parse(r.out, nullptr, false);
  REQUIRE_MESSAGE(report.is_object(), r.err);
  CHECK(report["scan"]["complete"] == false);
  CHECK(has_finding(report, "scan_incomplete"));
  CHECK_FALSE(has_finding(report, "no_tls13"));  // not known to be refused
  for (const auto& v : report["scan"]["versions"]) {
    if (v["version"] != "SSLv2" && v["version"] != "SSLv3") {
      CAPTURE(v.dump());
      CHECK(v["state"] == "undecided");
      CHECK(v["ciphers"].empty());
      CHECK_FALSE(v["undecided"].empty());
    }
  }
}

// The suites s_client completes a handshake with at `version`, one by one,
// out of the suites OpenSSL can offer there.
std::set<std::string> confirmed_by_s_client(const std::string& target, const std::string& version) {
  const bool tls13 = version == "-tls1_3";
  const auto listed = run({"openssl", "ciphers", "-s", version, "-ciphersuites",
                           "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_"
                           "SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256",
                           "ALL:COMPLEMENTOFALL:@SECLEVEL=0"});
  REQUIRE(listed.exit_code == 0);
  std::set<std::string> accepted;
  std::istringstream names(listed.out);
  for (std::string name; std::getline(names, name, ':');) {
    name.erase(name.find_last_not_of("\n") + 1);
    if (tls13 != name.starts_with("TLS_")) {
      continue;  // the other kind of suite
    }
    auto r = run({"openssl", "s_client", "-connect", target, version,
                  tls13 ? "-ciphersuites" : "-cipher", tls13 ? name : name + ":@SECLEVEL=0"});
    if (r.exit_code == 0 && r.out.find("Cipher is " + name) != std::string::npos) {
      accepted.insert(name);
    }
  }
  return accepted;
}

// gnutls-cli to 127.0.0.1:`port` with `priority`, verifying the server as usual.
RunResult gnutls_cli(int port, ProbePki& pki, const std::string& priority) {
  return run({"gnutls-cli", "--priority", priority, "--port", std::to_string(port), "--x509cafile",
              pki.write("root.pem", pki.root.cert_pem()), "--verify-hostname", "www.example.test",
              "--sni-hostname", "www.example.test", "127.0.0.1"});
}

// Whether gnutls-cli completes a handshake offering only `suite` (an IANA
// name of the kinds this test meets: (EC)DHE or RSA key exchange; RC4 or
// 3DES; SHA-1).
bool gnutls_cli_accepts(int port, ProbePki& pki, const std::string& version,
                        const std::string& suite) {
  const std::map<std::string, std::string> parts{{"TLS_ECDHE_ECDSA_WITH_", "+ECDHE-ECDSA"},
                                                 {"TLS_ECDHE_RSA_WITH_", "+ECDHE-RSA"},
                                                 {"TLS_DHE_RSA_WITH_", "+DHE-RSA"},
                                                 {"TLS_RSA_WITH_", "+RSA"},
                                                 {"RC4_128", "+ARCFOUR-128"},
                                                 {"3DES_EDE_CBC", "+3DES-CBC"},
                                                 {"_SHA", "+SHA1"}};
  std::string priority = "NONE:" + version + ":+COMP-NULL:+SIGN-ALL:+CURVE-ALL";
  for (const auto& [part, keyword] : parts) {
    if (suite.find(part) != std::string::npos) {
      priority += ":" + keyword;
    }
  }
  return gnutls_cli(port, pki, priority).exit_code == 0;
}

// GnuTLS with legacy priorities: a short listen backlog (10), which a burst
// of connections once overflowed into one-second SYN retries; TLS 1.0 and
// 1.1, RC4, 3DES, static RSA, DHE, CBC and a TLS 1.3 CCM suite, with an
// RSA certificate as the issue saw it.
TEST_CASE("probe --scan: gnutls-serv with legacy priorities, suite by suite as s_client sees it") {
  require_program("openssl");
  require_program("gnutls-serv");
  ProbePki pki;
  const Issued leaf =
      pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay, KeyType::rsa2048);
  auto peer =
      pki.serve_gnutls(leaf, "NORMAL:+VERS-TLS1.0:+VERS-TLS1.1:+ARCFOUR-128:+3DES-CBC:+RSA:+SHA1");
  const std::string target = "127.0.0.1:" + std::to_string(peer.port);
  std::map<std::string, json> by_timeout[2];
  json report;
  for (int i = 0; i < 2; ++i) {
    auto r =
        pki.probe(target, {"--sni", "www.example.test", "--scan", "--timeout", i ? "10s" : "1s"});
    report = json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE(report.is_object(), r.err);
    CHECK(report["scan"]["complete"] == true);
    for (const auto& v : report["scan"]["versions"]) {
      by_timeout[i][v["version"]] = v["ciphers"];
    }
  }
  CHECK(by_timeout[0] == by_timeout[1]);  // nothing was left to the timeout
  CHECK(has_finding(report, "legacy_protocol"));
  CHECK(has_finding(report, "cbc_cipher"));
  CHECK(has_finding(report, "weak_cipher"));         // RC4 and 3DES, which OpenSSL 3 cannot offer
  CHECK(has_finding(report, "no_forward_secrecy"));  // static RSA
  CHECK(std::ranges::any_of(by_timeout[1]["TLSv1.2"], [](const json& c) {
    return c["name"].get<std::string>().starts_with("TLS_DHE_RSA_");
  }));
  CHECK(by_timeout[1]["SSLv2"].empty());
  CHECK(by_timeout[1]["SSLv3"].empty());
  CHECK(report["scan"]["preferred_group"].is_string());
  CHECK_FALSE(report["scan"]["groups"].empty());
  struct Version {
    const char* name;
    const char* s_client;
    const char* gnutls;
  };
  for (const Version& v :
       {Version{"TLSv1", "-tls1", "+VERS-TLS1.0"}, Version{"TLSv1.1", "-tls1_1", "+VERS-TLS1.1"},
        Version{"TLSv1.2", "-tls1_2", "+VERS-TLS1.2"},
        Version{"TLSv1.3", "-tls1_3", "+VERS-TLS1.3"}}) {
    CAPTURE(v.name);
    std::set<std::string> by_openssl_name;
    for (const auto& c : by_timeout[1][v.name]) {
      if (c["openssl"].is_string()) {
        by_openssl_name.insert(c["openssl"].get<std::string>());
      } else {  // a suite OpenSSL 3 does not implement: GnuTLS's own client confirms it
        CAPTURE(c.dump());
        CHECK(gnutls_cli_accepts(peer.port, pki, v.gnutls, c["name"].get<std::string>()));
      }
    }
    CHECK(by_openssl_name == confirmed_by_s_client(target, v.s_client));
  }
}

// Whether gnutls-cli completes a TLS 1.2 handshake offering only `group` (our
// name: "ffdhe3072") and a key exchange of its kind, and says it used it.
bool gnutls_cli_takes_group(int port, ProbePki& pki, const std::string& group) {
  std::string name = group;
  std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::toupper(c); });
  const std::string exchange = group.starts_with("ffdhe") ? "DHE-RSA" : "ECDHE-RSA";
  const auto r = gnutls_cli(
      port, pki,
      "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+" + exchange + ":-GROUP-ALL:+GROUP-" + name);
  return r.exit_code == 0 && r.out.find("(" + exchange.substr(0, exchange.find('-')) + "-" + name +
                                        ")") != std::string::npos;
}

// A server without TLS 1.3 names its groups only in its ServerKeyExchange:
// a curve by its code, a finite-field group (RFC 7919) by its prime.
TEST_CASE("probe --scan: TLS 1.2 groups from the ServerKeyExchange, finite-field ones included") {
  require_program("gnutls-serv");
  ProbePki pki;
  const Issued leaf =
      pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay, KeyType::rsa2048);
  auto peer = pki.serve_gnutls(leaf,
                               "NORMAL:-VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP384R1:+GROUP-X25519:"
                               "+GROUP-FFDHE3072:+GROUP-FFDHE4096");
  auto r =
      pki.probe("127.0.0.1:" + std::to_string(peer.port), {"--sni", "www.example.test", "--scan"});
  auto report = json::parse(r.out, nullptr, false);
  REQUIRE_MESSAGE(report.is_object(), r.err);
  CHECK(report["scan"]["complete"] == true);
  CHECK(report["scan"]["groups_from"] == "TLSv1.2");
  std::set<std::string> scanned;
  for (const auto& g : report["scan"]["groups"]) {
    scanned.insert(g.get<std::string>());
  }
  std::set<std::string> confirmed;
  for (const char* group : {"x25519", "secp256r1", "secp384r1", "secp521r1", "x448", "ffdhe2048",
                            "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"}) {
    if (gnutls_cli_takes_group(peer.port, pki, group)) {
      confirmed.insert(group);
    }
  }
  CHECK(scanned == confirmed);
  CHECK(scanned.contains("ffdhe3072"));  // not vacuous: the finite-field groups were seen
  CHECK_FALSE(scanned.contains("ffdhe2048"));
}

// Each version's suites, by OpenSSL's name, as the scan found them.
std::set<std::string> scanned_openssl_names(const json& report, const std::string& version) {
  std::set<std::string> names;
  for (const auto& v : report["scan"]["versions"]) {
    for (const auto& c : v["version"] == version ? v["ciphers"] : json::array()) {
      REQUIRE_MESSAGE(c["openssl"].is_string(), c.dump());  // OpenSSL servers: OpenSSL's suites
      names.insert(c["openssl"].get<std::string>());
    }
  }
  return names;
}

TEST_CASE("probe --scan: s_server and nginx, suite by suite as s_client sees it") {
  require_program("openssl");
  require_program("nginx");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  auto server = pki.serve(leaf, {"-min_protocol", "TLSv1", "-cipher", "ALL:@SECLEVEL=0"});
  const auto nginx = pki.serve_nginx("nginx", leaf, "TLSv1.2 TLSv1.3");
  for (const std::string& target : {server->target(), nginx.target()}) {
    CAPTURE(target);
    auto r = pki.probe(target, {"--sni", "www.example.test", "--scan"});
    const auto report = json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE(report.is_object(), r.err);
    CHECK(report["scan"]["complete"] == true);
    for (const auto& [version, flag] : std::map<std::string, std::string>{{"TLSv1", "-tls1"},
                                                                          {"TLSv1.1", "-tls1_1"},
                                                                          {"TLSv1.2", "-tls1_2"},
                                                                          {"TLSv1.3", "-tls1_3"}}) {
      CAPTURE(version);
      CHECK(scanned_openssl_names(report, version) == confirmed_by_s_client(target, flag));
    }
  }
}

TEST_CASE("scan offers: an answer decides, silence does not") {
  using validator::OfferAnswer;
  validator::HandshakeOutcome chosen;
  chosen.cipher = "TLS_AES_128_GCM_SHA256";
  CHECK(validator::answer_of(chosen) == OfferAnswer::chosen);
  struct Case {
    Errc code;
    OfferAnswer answer;
  };
  for (const Case& c : {Case{Errc::timeout, OfferAnswer::undecided},
                        Case{Errc::network, OfferAnswer::undecided},  // reset, closed, refused
                        Case{Errc::tls, OfferAnswer::refused},        // an alert, another version
                        Case{Errc::protocol, OfferAnswer::refused}}) {
    validator::HandshakeOutcome o;
    o.error = Error{c.code, "x"};
    CHECK(validator::answer_of(o) == c.answer);
  }
}

TEST_CASE("scan findings of a version: obsolete CBC suites, a weak first choice") {
  using validator::traits_of;
  const auto gcm = traits_of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  const auto cbc = traits_of("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA");
  const auto triple_des = traits_of("TLS_RSA_WITH_3DES_EDE_CBC_SHA");
  auto codes = [](const validator::VersionScan& v,
                  const std::vector<validator::CipherTraits>& accepted) {
    std::vector<std::string> out;
    for (const auto& f : validator::version_findings(v, accepted)) {
      out.push_back(f.code);
    }
    return out;
  };
  validator::VersionScan client_order{.version = "TLSv1.2", .state = "accepted"};
  validator::VersionScan server_order = client_order;
  server_order.server_preference = true;
  CHECK(codes(client_order, {gcm}).empty());
  CHECK(codes(client_order, {gcm, cbc}) == std::vector<std::string>{"cbc_cipher"});
  // 3DES has its own finding (weak_cipher); it is not listed again as CBC.
  CHECK(codes(client_order, {gcm, triple_des}).empty());
  CHECK(codes(server_order, {gcm, triple_des}).empty());
  CHECK(codes(server_order, {triple_des, gcm}) ==
        std::vector<std::string>{"weak_cipher_preferred"});
  // The client's order says nothing of what the server would put first.
  CHECK(codes(client_order, {triple_des, gcm}).empty());
  const auto listed = validator::version_findings(client_order, {cbc, gcm});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].severity == validator::Severity::info);
  CHECK(listed[0].message.find("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA") != std::string::npos);
}

TEST_CASE("weak suites are findings by what their IANA names say they are made of") {
  using validator::Severity;
  struct Case {
    const char* name;
    const char* code;  // "" = fine
    Severity severity;
  };
  for (const Case& c : {
           Case{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "", Severity::info},
           Case{"TLS_AES_128_GCM_SHA256", "", Severity::info},
           Case{"TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "", Severity::info},
           Case{"TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", "", Severity::info},
           Case{"TLS_RSA_WITH_NULL_SHA256", "weak_cipher", Severity::error},
           Case{"TLS_SHA256_SHA256", "weak_cipher", Severity::error},  // TLS 1.3, integrity only
           Case{"TLS_DH_anon_WITH_AES_128_CBC_SHA", "weak_cipher", Severity::error},
           Case{"TLS_ECDHE_RSA_WITH_RC4_128_SHA", "weak_cipher", Severity::error},
           Case{"TLS_RSA_EXPORT_WITH_RC4_40_MD5", "weak_cipher", Severity::error},
           Case{"TLS_DHE_RSA_WITH_DES_CBC_SHA", "weak_cipher", Severity::error},
           Case{"TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", "weak_cipher", Severity::error},
           Case{"SSL_CK_RC4_128_WITH_MD5", "weak_cipher", Severity::error},
           Case{"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "weak_cipher", Severity::error},
           Case{"TLS_RSA_WITH_IDEA_CBC_SHA", "weak_cipher", Severity::error},
           Case{"TLS_RSA_WITH_AES_128_CBC_SHA", "no_forward_secrecy", Severity::warning},
           Case{"TLS_PSK_WITH_AES_128_GCM_SHA256", "no_forward_secrecy", Severity::warning},
           Case{"TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", "no_forward_secrecy", Severity::warning},
           Case{"TLS_DH_RSA_WITH_AES_256_CBC_SHA", "no_forward_secrecy", Severity::warning},
           Case{"TLS_KRB5_WITH_IDEA_CBC_SHA", "weak_cipher", Severity::error},
       }) {
    CAPTURE(std::string(c.name));
    auto f = validator::cipher_weakness(validator::traits_of(c.name));
    CHECK((f ? f->code : std::string()) == c.code);
    if (f) {
      CHECK(f->severity == c.severity);
    }
  }
  CHECK(validator::traits_of("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256").cbc);
  CHECK_FALSE(validator::traits_of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").cbc);
}

TEST_CASE("probe --targets: many endpoints from one loop, one JSON line each") {
  require_program("openssl");
  ProbePki pki;
  const Issued leaf = pki.leaf("www.example.test", pki.now - kDay, pki.now + 60 * kDay);
  auto server = pki.serve(leaf, {});
  ScriptedHttpServer silent([](const std::string&) { return std::string(); });
  const std::string silent_url = silent.url("/");
  std::string targets = "# good ones, by SNI on the line or from --sni\n";
  for (int i = 0; i < 20; ++i) {
    targets += server->target() + (i % 2 == 0 ? " www.example.test\n" : "\n");
  }
  targets += server->target() + " other.example.test\n";
  targets += silent_url.substr(7, silent_url.find('/', 7) - 7) + "\n";
  targets += "127.0.0.1:" + std::to_string(free_port()) + "\n";
  auto r = certkeeper({"probe", "--targets", pki.write("targets.txt", targets), "--concurrency",
                       "8", "--timeout", "2s", "--sni", "www.example.test", "--ca-file",
                       pki.write("root.pem", pki.root.cert_pem()), "--json"});
  CHECK(r.exit_code == 3);  // two were unreachable
  int good = 0;
  int mismatched = 0;
  int unreachable = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(j.is_object(), line);
    if (j.contains("error")) {
      ++unreachable;
    } else if (j["chain_valid"] == true) {
      ++good;
    } else if (j["chain_error"] == "hostname_mismatch") {
      ++mismatched;
    }
  }
  CHECK(good == 20);
  CHECK(mismatched == 1);
  CHECK(unreachable == 2);
  CHECK(certkeeper({"probe"}).exit_code == 2);
  CHECK(certkeeper({"probe", "--targets", pki.write("bad.txt", "host:notaport\n")}).exit_code == 2);
}

TEST_CASE("STARTTLS dialogues: replies complete, accepted or refused") {
  using validator::ReplyState;
  using validator::StarttlsProtocol;
  struct Case {
    const char* name;
    StarttlsProtocol protocol;
    int step;
    const char* received;
    ReplyState state;
    const char* send;
    bool ready;
  };
  for (const Case& c : {
           Case{"smtp_greeting_partial", StarttlsProtocol::smtp, 0, "220 mx ESMTP",
                ReplyState::incomplete, "", false},
           Case{"smtp_greeting", StarttlsProtocol::smtp, 0, "220 mx ESMTP\r\n", ReplyState::ok,
                "EHLO certkeeper.invalid\r\n", false},
           Case{"smtp_ehlo_continues", StarttlsProtocol::smtp, 1, "250-mx\r\n250-SIZE 1\r\n",
                ReplyState::incomplete, "", false},
           Case{"smtp_ehlo", StarttlsProtocol::smtp, 1, "250-mx\r\n250 STARTTLS\r\n",
                ReplyState::ok, "STARTTLS\r\n", false},
           Case{"smtp_go", StarttlsProtocol::smtp, 2, "220 go ahead\r\n", ReplyState::ok, "", true},
           Case{"bad_smtp_refused", StarttlsProtocol::smtp, 2, "454 TLS not available\r\n",
                ReplyState::refused, "", false},
           Case{"bad_smtp_busy", StarttlsProtocol::smtp, 0, "421 busy\r\n", ReplyState::refused, "",
                false},
           Case{"imap_greeting", StarttlsProtocol::imap, 0, "* OK ready\r\n", ReplyState::ok,
                "a1 STARTTLS\r\n", false},
           Case{"imap_untagged_first", StarttlsProtocol::imap, 1, "* CAPABILITY x\r\n",
                ReplyState::incomplete, "", false},
           Case{"imap_go", StarttlsProtocol::imap, 1, "* x\r\na1 OK begin\r\n", ReplyState::ok, "",
                true},
           Case{"bad_imap_no", StarttlsProtocol::imap, 1, "a1 NO later\r\n", ReplyState::refused,
                "", false},
           Case{"pop3_greeting", StarttlsProtocol::pop3, 0, "+OK hi\r\n", ReplyState::ok,
                "STLS\r\n", false},
           Case{"pop3_go", StarttlsProtocol::pop3, 1, "+OK begin\r\n", ReplyState::ok, "", true},
           Case{"bad_pop3_err", StarttlsProtocol::pop3, 1, "-ERR no\r\n", ReplyState::refused, "",
                false},
       }) {
    CAPTURE(c.name);
    auto step = validator::starttls_step(c.protocol, c.step, c.received);
    CHECK(step.state == c.state);
    if (step.state == ReplyState::ok) {
      CHECK(step.send == c.send);
      CHECK(step.ready == c.ready);
    }
  }
  CHECK_FALSE(validator::parse_starttls("ftp"));
  // A step past the dialogue is refused, not read past its table (found by fuzz_starttls).
  CHECK(validator::starttls_step(StarttlsProtocol::smtp, 3, "220 ok\r\n").state ==
        ReplyState::refused);
  CHECK(validator::starttls_step(StarttlsProtocol::smtp, -1, "220 ok\r\n").state ==
        ReplyState::refused);
}

// Inputs that made fuzz/fuzz_starttls.cc fail, replayed the way it reads them.
TEST_CASE("starttls: the fuzzer's findings stay fixed") {
  using validator::StarttlsProtocol;
  static constexpr StarttlsProtocol kProtocols[] = {StarttlsProtocol::smtp, StarttlsProtocol::imap,
                                                    StarttlsProtocol::pop3};
  const std::filesystem::path dir =
      std::filesystem::path(CERTKEEPER_SOURCE_DIR) / "fuzz/regressions/starttls";
  int replayed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string input = test::read_text(entry.path());
    REQUIRE_FALSE(input.empty());
    const auto first = static_cast<unsigned char>(input[0]);
    static_cast<void>(validator::starttls_step(kProtocols[first % 3], (first >> 2) % 4,
                                               std::string_view(input).substr(1)));
    ++replayed;
  }
  CHECK(replayed > 0);
}

namespace {

// A mail server's side of STARTTLS on loopback (SMTP, IMAP or POP3, or an SMTP
// server that refuses it), then a TLS handshake by OpenSSL with `leaf` and its
// issuer. One connection at a time, on its own thread, until destroyed.
class StarttlsServer {
 public:
  StarttlsServer(std::string protocol, const Issued& leaf, const Issued& ca)
      : protocol_(std::move(protocol)), ctx_(SSL_CTX_new(TLS_server_method())) {
    X509_up_ref(ca.cert.get());
    REQUIRE((ctx_ && SSL_CTX_use_certificate(ctx_.get(), leaf.cert.get()) == 1 &&
             SSL_CTX_use_PrivateKey(ctx_.get(), leaf.key.get()) == 1 &&
             SSL_CTX_add_extra_chain_cert(ctx_.get(), ca.cert.get()) == 1));
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~StarttlsServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  StarttlsServer(const StarttlsServer&) = delete;
  StarttlsServer& operator=(const StarttlsServer&) = delete;
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  static std::string read_line(int fd) {
    std::string line;
    char c = 0;
    while (line.size() < 1024 && ::recv(fd, &c, 1, 0) == 1 && c != '\n') {
      line += c;
    }
    return line;
  }
  static void say(int fd, const std::string& text) {
    (void)::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  }
  // The plaintext preamble; true when TLS is to start.
  bool preamble(int fd) const {
    if (protocol_ == "imap") {
      say(fd, "* OK IMAP4rev1 ready\r\n");
      read_line(fd);
      say(fd, "a1 OK begin TLS now\r\n");
      return true;
    }
    if (protocol_ == "pop3") {
      say(fd, "+OK POP3 ready\r\n");
      read_line(fd);
      say(fd, "+OK begin TLS\r\n");
      return true;
    }
    say(fd, "220 mail.example.test ESMTP\r\n");
    read_line(fd);
    say(fd, "250-mail.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
    read_line(fd);
    if (protocol_ == "smtp-refusing") {
      say(fd, "454 4.7.0 TLS not available\r\n");
      return false;
    }
    say(fd, "220 2.0.0 Ready to start TLS\r\n");
    return true;
  }
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) {
        continue;
      }
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) {
        continue;
      }
      timeval timeout{5, 0};
      ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      if (preamble(client)) {
        ossl::Ssl ssl(SSL_new(ctx_.get()));
        if (ssl && SSL_set_fd(ssl.get(), client) == 1 && SSL_accept(ssl.get()) == 1) {
          SSL_shutdown(ssl.get());
        }
        ERR_clear_error();
      }
      ::close(client);
    }
  }

  std::string protocol_;
  ossl::SslCtx ctx_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("probe --starttls: SMTP, IMAP and POP3 before TLS; a refusal is a clear error") {
  ProbePki pki;
  const Issued leaf = pki.leaf("mail.example.test", pki.now - kDay, pki.now + 60 * kDay);
  for (const char* protocol : {"smtp", "imap", "pop3"}) {
    CAPTURE(protocol);
    StarttlsServer server(protocol, leaf, pki.ca);
    auto r = pki.probe(server.target(), {"--sni", "mail.example.test", "--starttls", protocol});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    auto report = json::parse(r.out, nullptr, false);
    REQUIRE(report.is_object());
    CHECK(report["chain_valid"] == true);
    CHECK_FALSE(report["protocol"].get<std::string>().empty());
  }
  StarttlsServer refusing("smtp-refusing", leaf, pki.ca);
  auto r = pki.probe(refusing.target(), {"--starttls", "smtp"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("STARTTLS refused: the server said \"454 4.7.0 TLS not available\"") !=
        std::string::npos);
}

TEST_CASE("names are resolved all at once, bounded; address literals never wait") {
  const std::vector<HostPort> names{
      {"localhost", 8080}, {"127.0.0.1", 443}, {"::1", 8443}, {"", 443}};
  auto results = validator::resolve_all(names, std::chrono::seconds(5), SystemClock());
  REQUIRE(results.size() == 4);
  REQUIRE(results[0]);  // /etc/hosts, through getaddrinfo_a
  CHECK_FALSE(results[0]->empty());
  REQUIRE(results[1]);
  REQUIRE(results[2]);
  REQUIRE(results[1]->size() == 1);
  REQUIRE(results[2]->size() == 1);
  CHECK(results[1]->front().address.ss_family == AF_INET);
  CHECK(ntohs(reinterpret_cast<const sockaddr_in*>(&results[1]->front().address)->sin_port) == 443);
  CHECK(results[2]->front().address.ss_family == AF_INET6);
  CHECK_FALSE(results[3]);
  // A zero budget still answers literals at once.
  auto instant = validator::resolve_all(std::span(names).subspan(1, 2), std::chrono::seconds(0),
                                        SystemClock());
  CHECK(instant[0]);
  CHECK(instant[1]);
}

// Runs argv with /etc/hosts replaced by `hosts` in a private mount namespace
// (unshare; the machine's own file is untouched), so that a name can have
// several addresses.
RunResult run_with_hosts(const std::string& hosts, const std::vector<std::string>& argv) {
  std::vector<std::string> full{"unshare", "-m"};
  if (::geteuid() != 0) {
    full.push_back("-r");  // an unprivileged user namespace, where root may mount
  }
  full.insert(full.end(), {"sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts});
  full.insert(full.end(), argv.begin(), argv.end());
  return run(full);
}

TEST_CASE("probe: a name whose first address refuses is probed at the next, with a warning") {
  require_program("openssl");
  require_program("unshare");
  ProbePki pki;
  const Issued leaf = pki.leaf("multi.probe.test", pki.now - kDay, pki.now + 60 * kDay);
  const std::string hosts =
      pki.write("hosts", "127.0.0.2 multi.probe.test\n127.0.0.3 multi.probe.test\n");
  const std::string root = pki.write("root.pem", pki.root.cert_pem());
  bool bulk = false;
  SUBCASE("one probe") {}
  SUBCASE("bulk") {
    bulk = true;
  }
  // The server listens on one of the name's two addresses, then on the other:
  // whichever order the resolver gives them (RFC 6724), one of the two runs
  // meets the empty address first and must move on to the server's.
  int warned_runs = 0;
  for (const std::string served_at : {"127.0.0.2", "127.0.0.3"}) {
    CAPTURE(served_at);
    const std::string empty_at = served_at == "127.0.0.2" ? "127.0.0.3" : "127.0.0.2";
    auto server = pki.serve(leaf, {}, false, served_at);
    const std::string target = "multi.probe.test:" + std::to_string(server->port);
    const auto r =
        bulk ? run_with_hosts(hosts, {certkeeper_binary(), "probe", "--targets",
                                      pki.write("targets.txt", target + "\n" + target + "\n"),
                                      "--ca-file", root, "--json"})
             : run_with_hosts(hosts,
                              {certkeeper_binary(), "probe", target, "--ca-file", root, "--json"});
    REQUIRE_MESSAGE(r.exit_code == 0, std::string(r.err + r.out));  // a warning is no error
    std::vector<json> reports;  // bulk prints JSON lines; one probe, one object
    std::istringstream lines(r.out);
    for (std::string line; bulk && std::getline(lines, line);) {
      reports.push_back(json::parse(line));
    }
    if (!bulk) {
      reports.push_back(json::parse(r.out));
    }
    bool warned = false;
    for (const json& report : reports) {
      CHECK(report["address"] == server->target());
      CHECK(report["chain_valid"] == true);
      for (const auto& f : report["findings"]) {
        if (f["code"] == "address_unreachable") {
          warned = true;
          CHECK(f["severity"] == "warning");
          CHECK(f["message"].get<std::string>().starts_with(empty_at + ":"));
        }
      }
    }
    CHECK(reports.size() == (bulk ? 2u : 1u));
    warned_runs += warned ? 1 : 0;
  }
  CHECK(warned_runs == 1);
}

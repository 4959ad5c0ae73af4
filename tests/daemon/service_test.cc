// `certkeeper daemon` as systemd runs it, against a real Pebble: its
// sd_notify messages through a NOTIFY_SOCKET of the test's own, the control
// socket, SIGHUP reloads (a bad configuration refused), SIGTERM.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "tests/acme/bind_fixture.h"
#include "tests/acme/pebble_fixture.h"
#include "tests/validator/ocsp_fixture.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

namespace {

// A datagram socket standing in for systemd's notify socket. Like systemd,
// it reads every message as it comes (a unix datagram queue holds only a few:
// an unread one would block the sender).
class NotifyListener {
 public:
  explicit NotifyListener(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.string().size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    timeval wait{0, 50'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    reader_ = std::thread([this] {
      while (!stop_) {
        char buffer[4096];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n > 0) {
          std::lock_guard lock(mutex_);
          messages_.emplace_back(buffer, static_cast<std::size_t>(n));
        }
      }
    });
  }
  ~NotifyListener() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
  }
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;
  [[nodiscard]] std::string path() const { return path_.string(); }

  // Waits for a message containing `wanted` among those since the last clear().
  bool wait_for(const std::string& wanted, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        for (const auto& m : messages_) {
          if (m.find(wanted) != std::string::npos) {
            return true;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    messages_.clear();
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::mutex mutex_;
  std::vector<std::string> messages_;
  std::atomic<bool> stop_{false};
  std::thread reader_;
};

// A raw connection to the control socket: one request line, one answer line.
std::string ask_raw(const std::string& socket, const std::string& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket.c_str(), socket.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "";
  }
  static_cast<void>(::send(fd, request.data(), request.size(), MSG_NOSIGNAL));
  timeval wait{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  std::string answer;
  char buffer[65536];
  while (answer.find('\n') == std::string::npos) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      break;
    }
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

// A deploy's reload command for the nginx under `prefix`: reloads it once it
// runs (before that, the first deploy has nothing to reload).
void write_nginx_reload(const std::filesystem::path& script, const std::filesystem::path& prefix) {
  write_text(script,
             "#!/bin/sh\n[ -f " + (prefix / "nginx.pid").string() + " ] || exit 0\nexec nginx -p " +
                 prefix.string() + " -c " + (prefix / "nginx.conf").string() + " -s reload\n",
             0755);
}

struct DaemonFixture {
  explicit DaemonFixture(PebbleOptions options = {}) : pebble(std::move(options)) {}
  Pebble pebble;
  TempDir dir;
  std::string socket = (dir / "control.sock").string();
  std::filesystem::path config = dir / "certkeeper.toml";
  NotifyListener notify{dir / "notify.sock"};
  std::unique_ptr<Process> daemon;

  // `issuer_extra`: more keys of [issuer.pebble], one per line.
  void configure(const std::string& certificates, const std::string& issuer_extra = "") {
    write_text(config, "[daemon]\nstate_dir = \"" + (dir / "state").string() + "\"\nsocket = \"" +
                           socket + "\"\nlog_level = \"debug\"\n\n" +
                           "[issuer.pebble]\ndirectory = \"" + pebble.directory_url() +
                           "\"\nca_file = \"" + pebble.ca_file() + "\"\n" + issuer_extra + "\n" +
                           certificates);
  }
  std::string certificate(const std::string& name) const {
    return "[[certificate]]\nname = \"" + name + "\"\ndomains = [\"" + name +
           ".example.test\"]\nchallenge = { type = \"http-01\", listen = \"" +
           pebble.http_listen() + "\" }\n\n";
  }
  void start() {
    daemon = std::make_unique<Process>(
        std::vector<std::string>{"env", "NOTIFY_SOCKET=" + notify.path(), certkeeper_binary(),
                                 "--config", config.string(), "daemon"},
        dir / "daemon.log");
  }
  json status() {
    auto r = certkeeper({"--config", config.string(), "status", "--json"});
    const json parsed = json::parse(r.out, nullptr, false);
    last_status_error = parsed.is_object() ? "" : r.err;
    return parsed.is_object() ? parsed : json::object();
  }
  std::string last_status_error;
  // Waits until status says every named certificate has one. Generous: on a
  // busy machine an ACME request may wait for its timeout (30 s) and a retry.
  bool wait_issued(const std::vector<std::string>& names) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
    while (std::chrono::steady_clock::now() < deadline) {
      const json s = status();
      int issued = 0;
      for (const auto& row : s.value("certificates", json::array())) {
        issued += !row["not_after"].is_null() &&
                          std::ranges::find(names, row["name"].get<std::string>()) != names.end()
                      ? 1
                      : 0;
      }
      if (issued == static_cast<int>(names.size())) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // The daemon's log, and the end of Pebble's: what a failure message needs.
  std::string log() const {
    const std::string ca = std::filesystem::exists(pebble.dir() / "pebble.log")
                               ? read_text(pebble.dir() / "pebble.log")
                               : std::string();
    return read_text(dir / "daemon.log") +
           (last_status_error.empty() ? "" : "\nstatus: " + last_status_error) +
           "\n--- pebble.log, last 3000 bytes:\n" +
           ca.substr(ca.size() > 3000 ? ca.size() - 3000 : 0);
  }
};

}  // namespace

TEST_CASE("daemon: issues what is configured, tells systemd, answers status, reloads, stops" *
          doctest::test_suite("basics")) {
  DaemonFixture f;
  f.configure(f.certificate("alpha") + f.certificate("beta"));
  f.start();
  REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
  CHECK(f.notify.wait_for("STATUS="));

  // Both are issued (one at a time: they share a challenge listener).
  REQUIRE_MESSAGE(f.wait_issued({"alpha", "beta"}), f.log());
  const json s = f.status();
  CHECK(s["daemon"]["running"] == true);
  for (const auto& row : s["certificates"]) {
    CAPTURE(row.dump());
    CHECK(row["days_left"].get<int>() > 0);
    CHECK(row["next_action"]["due"] == false);
    CHECK(row["last_attempt"]["result"] == "issued");
    CHECK(row["last_attempt"]["failures_in_a_row"] == 0);
  }
  // Pebble offers no ARI: asked once about each issued certificate, and told so.
  for (int i = 0; i < 100 && f.log().find("offers no renewal information") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_MESSAGE(f.log().find("offers no renewal information") != std::string::npos, f.log());
  CHECK(f.log().find("not a valid DER") == std::string::npos);
  auto table = certkeeper({"--config", f.config.string(), "status"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("daemon: running") != std::string::npos);
  CHECK(table.out.find("alpha") != std::string::npos);
  CHECK(table.out.find("2 certificates: 2 ok") != std::string::npos);
  // Fewer rows on request; the summary still counts every certificate.
  const json one =
      json::parse(ask_raw(f.socket, R"({"id": 4, "cmd": "status", "args": {"limit": 1}})"
                                    "\n"));
  CHECK(one["result"]["certificates"].size() == 1);
  CHECK(one["result"]["summary"]["certificates"] == 2);
  CHECK(one["result"]["summary"]["states"]["ok"] == 2);
  const json bad_limit =
      json::parse(ask_raw(f.socket, R"({"id": 4, "cmd": "status", "args": {"limit": "all"}})"
                                    "\n"));
  CHECK(bad_limit["error"]["code"] == "invalid_argument");
  // A row for one certificate, whatever its urgency (what `renew NAME` follows).
  const json just_beta = json::parse(
      ask_raw(f.socket, R"({"id": 4, "cmd": "status", "args": {"name": "beta", "limit": 1}})"
                        "\n"));
  REQUIRE(just_beta["result"]["certificates"].size() == 1);
  CHECK(just_beta["result"]["certificates"][0]["name"] == "beta");
  auto limited = certkeeper({"--config", f.config.string(), "status", "--limit", "1"});
  CHECK(limited.exit_code == 0);
  CHECK(limited.out.find("1 not shown") != std::string::npos);

  // A bad configuration is refused on SIGHUP; the running one stays.
  write_text(f.config, "[daemon\nthis is not TOML\n");
  ::kill(f.daemon->pid(), SIGHUP);
  REQUIRE(f.notify.wait_for("RELOADING=1"));
  CHECK(f.notify.wait_for("MONOTONIC_USEC="));
  for (int i = 0; i < 100 && f.log().find("reload refused") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(f.log().find("reload refused") != std::string::npos);
  const json still = json::parse(ask_raw(f.socket, "{\"id\": 5, \"cmd\": \"status\"}\n"));
  CHECK(still["id"] == 5);
  CHECK(still["result"]["certificates"].size() == 2);

  // A good one with a third certificate: issued without a restart.
  f.configure(f.certificate("alpha") + f.certificate("beta") + f.certificate("gamma"));
  const auto renewed = json::parse(ask_raw(f.socket, "{\"id\": 6, \"cmd\": \"reload\"}\n"));
  CHECK(renewed["ok"] == true);
  CHECK(renewed["result"]["certificates"] == 3);
  CHECK_MESSAGE(f.wait_issued({"alpha", "beta", "gamma"}), f.log());

  // renew over the socket: not due, said so; with force, a new version.
  const json asked =
      json::parse(ask_raw(f.socket, R"({"id": 7, "cmd": "renew", "args": {"name": "alpha"}})"
                                    "\n"));
  CHECK(asked["result"]["queued"] == false);
  const std::string first = f.status()["certificates"][0]["sha256"].get<std::string>();
  const json forced = json::parse(
      ask_raw(f.socket, R"({"id": 8, "cmd": "renew", "args": {"name": "alpha", "force": true}})"
                        "\n"));
  CHECK(forced["result"]["queued"] == true);
  bool replaced = false;
  for (int i = 0; i < 300 && !replaced; ++i) {
    replaced = f.status()["certificates"][0]["sha256"] != first;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK_MESSAGE(replaced, f.log());

  // The commands ask the running service: renew (followed to its end), show, events.
  const std::string second = f.status()["certificates"][0]["sha256"].get<std::string>();
  auto by_service = certkeeper({"--config", f.config.string(), "renew", "alpha", "--force"});
  CHECK_MESSAGE(by_service.exit_code == 0, by_service.err);
  CHECK(by_service.err.find("the running service renews alpha") != std::string::npos);
  CHECK(by_service.out.find("alpha: renewed by the service") != std::string::npos);
  CHECK(f.status()["certificates"][0]["sha256"] != second);
  auto not_due = certkeeper({"--config", f.config.string(), "renew", "beta"});
  CHECK(not_due.exit_code == 0);
  CHECK(not_due.out.find("not due") != std::string::npos);
  const json shown =
      json::parse(certkeeper({"--config", f.config.string(), "show", "alpha", "--json"}).out);
  CHECK(shown["versions"].size() >= 2);  // the two before the current one
  CHECK(certkeeper({"--config", f.config.string(), "show", "nothing"}).exit_code == 1);
  const json events = json::parse(
      certkeeper({"--config", f.config.string(), "events", "--name", "alpha", "--json"}).out);
  CHECK(std::ranges::any_of(events, [](const json& e) { return e["kind"] == "issued"; }));
  auto unknown = certkeeper({"--config", f.config.string(), "renew", "omega"});
  CHECK(unknown.exit_code == 2);

  // revoke through the service: answered when the CA has revoked it, then
  // re-issued at once (a configured certificate).
  const auto row_of = [&](const std::string& name) {
    const json status = f.status();
    for (const auto& row : status.value("certificates", json::array())) {
      if (row["name"] == name) {
        return row;
      }
    }
    return json::object();
  };
  const std::string beta_before = row_of("beta").value("sha256", "");
  auto revoked = certkeeper(
      {"--config", f.config.string(), "revoke", "beta", "--reason", "superseded", "--json"});
  REQUIRE_MESSAGE(revoked.exit_code == 0, std::string(revoked.err + f.log()));
  const json answer = json::parse(revoked.out);
  CHECK(answer["name"] == "beta");
  CHECK(answer["sha256"] == beta_before);
  CHECK(answer["reason"] == "superseded");
  CHECK(f.log().find("beta: revoke (superseded), asked over the control socket") !=
        std::string::npos);
  bool reissued = false;
  for (int i = 0; i < 300 && !reissued; ++i) {
    const std::string now_serving = row_of("beta").value("sha256", "");
    reissued = !now_serving.empty() && now_serving != beta_before;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK_MESSAGE(reissued, f.log());
  const json revoked_version =
      json::parse(certkeeper({"--config", f.config.string(), "show", beta_before, "--json"}).out);
  CHECK(revoked_version.dump().find("\"revoked\"") != std::string::npos);
  const json bad_reason = json::parse(ask_raw(
      f.socket, R"({"id": 9, "cmd": "revoke", "args": {"certificate": "beta", "reason": "oops"}})"
                "\n"));
  CHECK(bad_reason["error"]["code"] == "bad_request");
  for (const char* timeout : {"0", "86401", "18446744073709551615"}) {
    CAPTURE(timeout);
    const json out_of_range = json::parse(ask_raw(
        f.socket, std::string(R"({"id": 10, "cmd": "revoke", "args": {"certificate": "beta", )") +
                      R"("timeout_seconds": )" + timeout + "}}\n"));
    CHECK(out_of_range["error"]["code"] == "bad_request");
    CHECK(out_of_range["error"]["message"].get<std::string>().find("timeout_seconds") !=
          std::string::npos);
  }

  CHECK(f.daemon->stop(SIGTERM) == 0);
  CHECK(f.notify.wait_for("STOPPING=1"));
  CHECK_FALSE(std::filesystem::exists(f.socket));

  // Without the service, status reads the inventory alone.
  const json alone = f.status();
  CHECK(alone["daemon"]["running"] == false);
  CHECK(alone["certificates"].size() == 3);
  CHECK(alone["certificates"][0]["not_after"].is_string());
  CHECK(alone["summary"]["states"]["ok"] == 3);
  const json alone_one = json::parse(
      certkeeper({"--config", f.config.string(), "status", "--json", "--limit", "1"}).out);
  CHECK(alone_one["certificates"].size() == 1);
  CHECK(alone_one["summary"]["certificates"] == 3);
}

// Real time: Pebble issues 40-second certificates, so the service renews them
// (at half their lifetime, as for any certificate under 10 days) while the
// test watches, woken by its timer alone.
TEST_CASE("daemon: short-lived certificates are renewed in time, again and again" *
          doctest::test_suite("realtime")) {
  PebbleOptions short_lived;
  short_lived.certificate_validity_seconds = 40;
  DaemonFixture f(short_lived);
  f.configure(f.certificate("brief"));
  f.start();
  REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
  REQUIRE_MESSAGE(f.wait_issued({"brief"}), f.log());
  std::vector<json> versions{f.status()["certificates"][0]};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(100);
  while (versions.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    const json row = f.status()["certificates"][0];
    if (row["sha256"] != versions.back()["sha256"]) {
      versions.push_back(row);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE_MESSAGE(versions.size() == 3, f.log());
  for (std::size_t i = 1; i < versions.size(); ++i) {
    CAPTURE(i);
    // Each replaced its predecessor before the predecessor expired.
    const auto not_after = parse_rfc3339(versions[i - 1]["not_after"].get<std::string>());
    const auto next_not_after = parse_rfc3339(versions[i]["not_after"].get<std::string>());
    REQUIRE(not_after);
    REQUIRE(next_not_after);
    CHECK(*next_not_after > *not_after);
    CHECK(versions[i]["next_action"]["rule"] == "lifetime");
  }
  auto shown = certkeeper({"--config", f.config.string(), "show", "brief", "--json"});
  CHECK(json::parse(shown.out)["versions"].size() >= 2);  // the versions before the current one
  CHECK(f.daemon->stop(SIGTERM) == 0);
}

// The whole loop in real time: 40-second certificates issued, deployed to an
// nginx and (as one combined PEM) to an HAProxy, renewed, deployed again, the
// servers reloaded by the deploy's own commands, and each then serving the
// new certificate, as a probe shows.
TEST_CASE("daemon: renewed certificates are deployed, the servers reloaded, and served" *
          doctest::test_suite("realtime")) {
  require_program("nginx");
  require_program("haproxy");
  PebbleOptions short_lived;
  short_lived.certificate_validity_seconds = 40;
  DaemonFixture f(short_lived);
  const auto out = f.dir / "deployed";
  std::filesystem::create_directories(out);
  const auto nginx_prefix = f.dir / "nginx";
  std::filesystem::create_directories(nginx_prefix / "logs");
  const auto haproxy_pid = f.dir / "haproxy.pid";
  write_nginx_reload(f.dir / "reload-nginx", nginx_prefix);
  write_text(f.dir / "reload-haproxy",
             "#!/bin/sh\n[ -f " + haproxy_pid.string() + " ] || exit 0\nexec kill -USR2 $(cat " +
                 haproxy_pid.string() + ")\n",
             0755);
  auto deployed = [&](const std::string& name, const std::string& deploy) {
    return "[[certificate]]\nname = \"" + name + "\"\ndomains = [\"" + name +
           ".example.test\"]\nchallenge = { type = \"http-01\", listen = \"" +
           f.pebble.http_listen() + "\" }\ndeploy = " + deploy + "\n\n";
  };
  f.configure(deployed("web", "{ fullchain = \"" + (out / "web.pem").string() + "\", key = \"" +
                                  (out / "web.key").string() + "\", reload = [\"" +
                                  (f.dir / "reload-nginx").string() + "\"] }") +
              deployed("lb", "{ combined = \"" + (out / "lb.pem").string() + "\", reload = [\"" +
                                 (f.dir / "reload-haproxy").string() + "\"] }"));
  f.start();
  REQUIRE_MESSAGE(f.wait_issued({"web", "lb"}), f.log());
  for (int i = 0; i < 100 && !std::filesystem::exists(out / "lb.pem"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The servers start on what the first deploy wrote.
  const auto nginx = start_nginx(nginx_prefix, [&](int port) {
    return "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
           " ssl;\n    ssl_certificate " + (out / "web.pem").string() +
           ";\n    ssl_certificate_key " + (out / "web.key").string() + ";\n  }\n";
  });
  const auto haproxy = start_listening(
      [&](int port) {
        write_text(f.dir / "haproxy.cfg",
                   "global\n  pidfile " + haproxy_pid.string() +
                       "\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n"
                       "  timeout server 5s\nfrontend tls\n  bind 127.0.0.1:" +
                       std::to_string(port) + " ssl crt " + (out / "lb.pem").string() +
                       "\n  http-request return status 200\n");
        return std::make_unique<Process>(std::vector<std::string>{"haproxy", "-W", "-db", "-f",
                                                                  (f.dir / "haproxy.cfg").string()},
                                         f.dir / "haproxy.log");
      },
      "haproxy", [&] { return read_text(f.dir / "haproxy.log"); });
  write_text(f.dir / "root.pem", f.pebble.root_pem());
  auto serves_current = [&](const std::string& name, int port) {
    auto probe =
        certkeeper({"--config", f.config.string(), "probe", "127.0.0.1:" + std::to_string(port),
                    "--sni", name + ".example.test", "--ca-file", (f.dir / "root.pem").string(),
                    "--expect", name, "--json"});
    const json report = json::parse(probe.out, nullptr, false);
    return report.is_object() && report["expect"]["matches"] == true;
  };
  // Wait for a renewal of each after the servers started, then for them to serve it.
  std::map<std::string, std::string> started_with;
  const json at_start = f.status();  // named: a range over a temporary's member dangles
  for (const auto& row : at_start["certificates"]) {
    started_with[row["name"].get<std::string>()] = row["sha256"].get<std::string>();
  }
  bool renewed = false;
  for (int i = 0; i < 600 && !renewed; ++i) {
    renewed = true;
    const json now = f.status();
    for (const auto& row : now["certificates"]) {
      renewed = renewed && row["sha256"] != started_with[row["name"].get<std::string>()];
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE_MESSAGE(renewed, f.log());
  bool web = false;
  bool lb = false;
  for (int i = 0; i < 100 && !(web && lb); ++i) {
    web = web || serves_current("web", nginx.port);
    lb = lb || serves_current("lb", haproxy.port);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK_MESSAGE(web, f.log());
  CHECK_MESSAGE(lb, std::string(read_text(f.dir / "haproxy.log") + f.log()));
  CHECK(f.log().find("deployed 2 file(s) and reloaded") != std::string::npos);
  CHECK(f.log().find("deployed 1 file(s) and reloaded") != std::string::npos);
  CHECK(f.daemon->stop(SIGTERM) == 0);
}

namespace {

// How many lines of `file` contain `wanted`.
int lines_with(const std::filesystem::path& file, const std::string& wanted) {
  std::istringstream in(std::filesystem::exists(file) ? read_text(file) : "");
  int count = 0;
  for (std::string line; std::getline(in, line);) {
    count += line.find(wanted) != std::string::npos ? 1 : 0;
  }
  return count;
}

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

}  // namespace

// Alerts end to end, in real time: 40-second certificates; Pebble stopped
// after the first issue, so the renewal at half the lifetime fails (an alert)
// and the certificate crosses its 45% expiry threshold (another). Each
// reaches a webhook (nginx over TLS, trusted through webhook_ca_file), a
// command and sendmail, once. Pebble comes back knowing nothing (the account
// is registered again), `renew` skips the backoff, and a recovery notice of
// each follows. A restart sends nothing again.
TEST_CASE("daemon: alerts reach a webhook, a command and sendmail once each, then recover" *
          doctest::test_suite("alerts")) {
  require_program("nginx");
  PebbleOptions short_lived;
  short_lived.certificate_validity_seconds = 40;
  DaemonFixture f(short_lived);

  const Issued webhook_root = TestPki::root("Webhook Test Root");
  const Issued webhook_tls = loopback_server_certificate(webhook_root, "webhook");
  write_text(f.dir / "webhook-root.pem", webhook_root.cert_pem());
  write_text(f.dir / "webhook.pem", webhook_tls.cert_pem());
  write_text(f.dir / "webhook.key", webhook_tls.key_pem(), 0600);
  const auto hooks = f.dir / "nginx" / "logs" / "hooks.log";
  // nginx logs each POSTed body (read because it is proxied) as one line.
  const auto receiver = start_nginx(f.dir / "nginx", [&](int port) {
    const std::string backend = std::to_string(free_port());
    return "  log_format body escape=none '$request_body';\n  client_body_buffer_size 64k;\n"
           "  server {\n    listen 127.0.0.1:" +
           backend + ";\n    location / { return 204; }\n  }\n  server {\n    listen 127.0.0.1:" +
           std::to_string(port) + " ssl;\n    ssl_certificate " + (f.dir / "webhook.pem").string() +
           ";\n    ssl_certificate_key " + (f.dir / "webhook.key").string() +
           ";\n    location = /hook {\n      access_log " + hooks.string() +
           " body;\n      proxy_pass http://127.0.0.1:" + backend + "/ok;\n    }\n  }\n";
  });
  const auto commands = f.dir / "commands.txt";
  write_text(f.dir / "page-oncall",
             "#!/bin/sh\necho \"$1 $CERTKEEPER_ALERT_NOTICE $CERTKEEPER_ALERT_KEY "
             "$CERTKEEPER_ALERT_SEVERITY\" >> " +
                 commands.string() + "\n",
             0755);
  // sendmail's interface (-t: recipients from the headers), the message kept.
  const auto mail = f.dir / "mail.txt";
  write_text(f.dir / "sendmail",
             "#!/bin/sh\n[ \"$1 $2\" = \"-t -oi\" ] || exit 64\ncat >> " + mail.string() +
                 "\necho '--end--' >> " + mail.string() + "\n",
             0755);
  f.configure(f.certificate("alerting") + "[alerts]\nbefore_expiry = [\"45%\"]\nwebhook = " +
              "\"https://127.0.0.1:" + std::to_string(receiver.port) +
              "/hook\"\nwebhook_ca_file = \"" + (f.dir / "webhook-root.pem").string() +
              "\"\ncommand = [\"" + (f.dir / "page-oncall").string() +
              "\", \"from-certkeeper\"]\nemail = [\"ops@example.test\"]\nsendmail = \"" +
              (f.dir / "sendmail").string() + "\"\n");
  f.start();
  REQUIRE_MESSAGE(f.wait_issued({"alerting"}), f.log());
  f.pebble.stop_ca();

  // Renewal at 20 s fails; the 45% threshold is crossed at 22 s.
  const bool both_fired = wait_until(
      [&] {
        return lines_with(hooks, "\"renewal_failed:alerting\"") >= 1 &&
               lines_with(hooks, "\"expiry:alerting:45%\"") >= 1;
      },
      std::chrono::seconds(60));
  REQUIRE_MESSAGE(both_fired, std::string(f.log() + read_text(f.dir / "nginx/logs/error.log")));
  CHECK(lines_with(hooks, "\"notice\":\"firing\"") == 2);
  CHECK(lines_with(hooks, "\"severity\":\"warning\"") == 2);
  CHECK(lines_with(hooks, "\"certificate\":\"alerting\"") == 2);
  const auto alerts_open = certkeeper({"--config", f.config.string(), "alerts", "--open"});
  CHECK(alerts_open.exit_code == 1);  // alerts are open
  CHECK(alerts_open.out.find("renewal_failed") != std::string::npos);

  // Pebble again, empty: the account is registered anew; renew skips the backoff.
  REQUIRE(f.pebble.start_ca());
  const json renewed =
      json::parse(ask_raw(f.socket, R"({"id": 1, "cmd": "renew", "args": {"name": "alerting"}})"
                                    "\n"));
  CHECK(renewed["result"]["queued"] == true);
  const bool recovered = wait_until(
      [&] { return lines_with(hooks, "\"notice\":\"resolved\"") >= 2; }, std::chrono::seconds(60));
  REQUIRE_MESSAGE(recovered, f.log());
  CHECK(lines_with(hooks, "renewal_failed:alerting") == 2);  // firing, resolved: once each
  CHECK(lines_with(hooks, "expiry:alerting:45%") == 2);
  CHECK(f.log().find("no longer knows") == std::string::npos);  // said in the events, not here
  // The command and the mail had the same four notices.
  CHECK(wait_until([&] { return lines_with(commands, "from-certkeeper") == 4; },
                   std::chrono::seconds(30)));
  CHECK(lines_with(commands, "firing renewal_failed:alerting warning") == 1);
  CHECK(lines_with(commands, "resolved expiry:alerting:45%") == 1);
  CHECK(wait_until([&] { return lines_with(mail, "--end--") == 4; }, std::chrono::seconds(30)));
  CHECK(lines_with(mail, "To: ops@example.test") == 4);
  CHECK(lines_with(mail, "Subject: [certkeeper] resolved: alerting: renewal_failed") == 1);

  const json history =
      json::parse(certkeeper({"--config", f.config.string(), "alerts", "--json"}).out);
  REQUIRE(history.size() == 2);
  for (const auto& alert : history) {
    CAPTURE(alert.dump());
    CHECK(alert["state"] == "resolved");
    CHECK(alert["resolution"] == "recovered");
    CHECK(alert["notices"].size() == 6);  // firing and resolved, by three sinks
    for (const auto& notice : alert["notices"]) {
      CHECK(notice["state"] == "delivered");
    }
  }

  // A restart: nothing is sent again.
  CHECK(f.daemon->stop(SIGTERM) == 0);
  f.start();
  REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(lines_with(hooks, "alerting") == 4);
  CHECK(f.daemon->stop(SIGTERM) == 0);
}

// At the most verbose level, through an account registered with External
// Account Binding: the log and the inventory hold neither the EAB MAC key nor
// any private key.
TEST_CASE("daemon: EAB secrets and private keys never reach the log or the inventory" *
          doctest::test_suite("basics")) {
  const std::string hmac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
  DaemonFixture f(PebbleOptions{{{"kid-1", hmac}}, {}, 0});
  f.configure(f.certificate("secretive"), "eab_kid = \"kid-1\"\neab_hmac_key = \"" + hmac + "\"\n");
  std::string config = read_text(f.config);
  config.replace(config.find("log_level = \"debug\""), 19, "log_level = \"trace\"");
  write_text(f.config, config);
  f.start();
  REQUIRE_MESSAGE(f.wait_issued({"secretive"}), f.log());
  CHECK(f.daemon->stop(SIGTERM) == 0);
  const std::string log = f.log();
  CHECK(log.find("issued") != std::string::npos);
  CHECK(log.find(hmac) == std::string::npos);
  CHECK(log.find("PRIVATE KEY") == std::string::npos);
  std::string database;
  for (const auto& entry : std::filesystem::directory_iterator(f.dir / "state")) {
    if (entry.path().filename().string().starts_with("inventory.db")) {
      database += read_text(entry.path());
    }
  }
  CHECK_FALSE(database.empty());
  CHECK(database.find(hmac) == std::string::npos);
  CHECK(database.find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("daemon: dns-01 by RFC 2136 from the configuration; the TSIG secret never in the log" *
          doctest::test_suite("basics")) {
  in_network_namespace(Bind::addresses(), [] {
    Bind bind;
    PebbleOptions options;
    options.dns_server = std::string(Bind::kResolver) + ":53";
    DaemonFixture f(options);
    f.configure(
        "[[certificate]]\nname = \"zone-wide\"\ndomains = [\"*.zone.example.test\", "
        "\"zone.example.test\"]\nchallenge = { type = \"dns-01\", rfc2136 = { server = "
        "\"127.0.0.1\", tsig_key = \"" +
        bind.key("ck-key").string() + "\" } }\n");
    std::string config = read_text(f.config);
    config.replace(config.find("log_level = \"debug\""), 19, "log_level = \"trace\"");
    write_text(f.config, config);
    f.start();
    REQUIRE_MESSAGE(f.wait_issued({"zone-wide"}), f.log());
    CHECK(f.daemon->stop(SIGTERM) == 0);
    CHECK(bind.txt("_acme-challenge.zone.example.test") == "");
    const std::string log = f.log();
    CHECK(log.find("zone-wide") != std::string::npos);
    CHECK(log.find(bind.secret("ck-key")) == std::string::npos);
  });
}

// A CA that answers rateLimited with a Retry-After an hour away (scripted,
// plain HTTP): after the first refused order the service sends it no other,
// for any certificate, until then.
TEST_CASE("daemon: a CA's rateLimited Retry-After holds every order to it" *
          doctest::test_suite("basics")) {
  std::atomic<int> orders{0};
  std::atomic<int> nonces{0};
  std::unique_ptr<ScriptedHttpServer> ca;
  ca = std::make_unique<ScriptedHttpServer>([&](const std::string& request) {
    const std::string path = request.substr(
        request.find(' ') + 1, request.find(' ', request.find(' ') + 1) - request.find(' ') - 1);
    const std::string nonce = "Replay-Nonce: n" + std::to_string(++nonces) + "\r\n";
    if (path == "/dir") {
      const json dir{{"newNonce", ca->url("/nonce")},
                     {"newAccount", ca->url("/account")},
                     {"newOrder", ca->url("/order")}};
      return http_response("200 OK", "Content-Type: application/json\r\n", dir.dump());
    }
    if (path == "/account") {
      return http_response(
          "201 Created",
          "Content-Type: application/json\r\nLocation: " + ca->url("/acct/1") + "\r\n" + nonce,
          R"({"status":"valid"})");
    }
    if (path == "/order") {
      ++orders;
      return http_response(
          "429 Too Many Requests",
          "Content-Type: application/problem+json\r\nRetry-After: 3600\r\n" + nonce,
          R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many certificates"})");
    }
    return http_response("200 OK", nonce, "");
  });
  DaemonFixture f;
  write_text(f.config, "[daemon]\nstate_dir = \"" + (f.dir / "state").string() + "\"\nsocket = \"" +
                           f.socket + "\"\n\n[issuer.limited]\ndirectory = \"" + ca->url("/dir") +
                           "\"\n\n" + f.certificate("first") + f.certificate("second"));
  f.start();
  REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
  REQUIRE_MESSAGE(wait_until([&] { return orders >= 1; }, std::chrono::seconds(30)), f.log());
  REQUIRE(wait_until([&] { return f.log().find("rate limiting") != std::string::npos; },
                     std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  CHECK_MESSAGE(orders == 1, f.log());
  const json s = f.status();
  bool rate_limited = false;
  for (const auto& row : s["certificates"]) {
    rate_limited = rate_limited || row["last_attempt"]["error"].get<std::string>().find(
                                       "rateLimited") != std::string::npos;
  }
  CHECK(rate_limited);
  CHECK(f.log().find("no orders to it until") != std::string::npos);
  CHECK(f.daemon->stop(SIGTERM) == 0);
}

namespace {

// A certbot-style folder (cert.pem, privkey.pem, chain.pem) for `import`,
// named as the certificate is configured.
void write_certbot_folder(const std::filesystem::path& folder, const Issued& leaf,
                          const Issued& ca) {
  std::filesystem::create_directories(folder);
  write_text(folder / "cert.pem", leaf.cert_pem());
  write_text(folder / "privkey.pem", leaf.key_pem(), 0600);
  write_text(folder / "chain.pem", ca.cert_pem());
}

// The status row of `name`, or null.
json row_of(const json& status, const std::string& name) {
  for (const auto& row : status.value("certificates", json::array())) {
    if (row["name"] == name) {
      return row;
    }
  }
  return nullptr;
}

}  // namespace

// Staples and revocation, kept by the service: three imported certificates of
// a test CA, one naming a real `openssl ocsp` responder (stapled), one a CRL
// served over HTTP, one a CRL nobody serves. Checked at start: the staple is
// written, both answer good, the unreachable CRL is alerted. Then the CA
// revokes the first two; at the next start the service finds them revoked,
// alerts, and re-issues both from Pebble at once; the alerts recover.
TEST_CASE("daemon: staples kept fresh, revocation checked by OCSP and CRL, revoked re-issued" *
          doctest::test_suite("basics")) {
  require_program("openssl");
  DaemonFixture f;
  OcspPki pki;
  std::string crl = TestPki::crl(pki.ca, {}, pki.now - 60, pki.now + kDay);
  std::mutex crl_mutex;
  ScriptedHttpServer crl_server([&](const std::string&) {
    std::lock_guard lock(crl_mutex);
    return http_response("200 OK", "Content-Type: application/pkix-crl\r\n", crl);
  });
  const int nobody = free_port();
  const Issued by_ocsp = pki.leaf("stapled.example.test");
  const Issued by_crl =
      TestPki::make(leaf_spec("listed.example.test", pki.now,
                              {"crlDistributionPoints", "URI:" + crl_server.url("/ca.crl")}),
                    &pki.ca);
  const Issued unreachable = TestPki::make(
      leaf_spec(
          "unlisted.example.test", pki.now,
          {"crlDistributionPoints", "URI:http://127.0.0.1:" + std::to_string(nobody) + "/ca.crl"}),
      &pki.ca);
  pki.start({{&by_ocsp, "V"}}, pki.ca);
  const auto imports = f.dir / "import";
  write_certbot_folder(imports / "stapled", by_ocsp, pki.ca);
  write_certbot_folder(imports / "listed", by_crl, pki.ca);
  write_certbot_folder(imports / "unlisted", unreachable, pki.ca);
  const auto staple = f.dir / "stapled.ocsp";
  f.configure(f.certificate("stapled") + "staple = \"" + staple.string() + "\"\n\n" +
              f.certificate("listed") + f.certificate("unlisted"));
  const auto imported = certkeeper({"--config", f.config.string(), "import", imports.string()});
  REQUIRE_MESSAGE(imported.exit_code == 0, imported.err);

  f.start();
  REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
  auto checked = [&](const std::string& name, const std::string& revocation) {
    const json row = row_of(f.status(), name);
    return row.is_object() && row.contains("revocation") &&
           row["revocation"]["status"] == revocation;
  };
  REQUIRE_MESSAGE(wait_until(
                      [&] {
                        return checked("stapled", "good") && checked("listed", "good") &&
                               checked("unlisted", "unavailable");
                      },
                      std::chrono::seconds(60)),
                  std::string(f.status().dump(2) + f.log()));
  const json first = f.status();
  CHECK(row_of(first, "stapled")["revocation"]["method"] == "ocsp");
  CHECK(row_of(first, "listed")["revocation"]["method"] == "crl");
  CHECK(row_of(first, "stapled")["staple"]["status"] == "good");
  CHECK(std::filesystem::file_size(staple) > 0);
  const std::string stapled_sha = row_of(first, "stapled")["sha256"].get<std::string>();
  const std::string listed_sha = row_of(first, "listed")["sha256"].get<std::string>();
  auto open_alerts = [&] {
    return json::parse(
        certkeeper({"--config", f.config.string(), "alerts", "--open", "--json"}).out);
  };
  REQUIRE(wait_until([&] { return open_alerts().size() == 1; }, std::chrono::seconds(10)));
  CHECK(open_alerts()[0]["key"] == "crl_unreachable:unlisted");
  CHECK(f.daemon->stop(SIGTERM) == 0);

  // The CA revokes both. The kept staple would still say good until its
  // half-life: it is removed, as if it had come due.
  pki.stop();
  pki.start({{&by_ocsp, "R,keyCompromise"}}, pki.ca);
  {
    std::lock_guard lock(crl_mutex);
    crl =
        TestPki::crl(pki.ca, {{serial_of(by_crl), 1, pki.now - 60}}, pki.now - 30, pki.now + kDay);
  }
  std::filesystem::remove(staple);
  f.start();
  REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
  auto reissued = [&](const std::string& name, const std::string& old_sha) {
    const json row = row_of(f.status(), name);
    return row.is_object() && row["sha256"].is_string() && row["sha256"] != old_sha &&
           !row["sha256"].get<std::string>().empty();
  };
  REQUIRE_MESSAGE(
      wait_until([&] { return reissued("stapled", stapled_sha) && reissued("listed", listed_sha); },
                 std::chrono::seconds(90)),
      f.log());
  CHECK(f.log().find("revoked") != std::string::npos);
  const json history =
      json::parse(certkeeper({"--config", f.config.string(), "alerts", "--json"}).out);
  int revoked_alerts = 0;
  for (const auto& alert : history) {
    if (alert["kind"] == "revoked") {
      ++revoked_alerts;
      CHECK(alert["severity"] == "critical");
      // Resolved once the new version is in: the policy re-issued it at once.
      CHECK(wait_until(
          [&] {
            const json now =
                json::parse(certkeeper({"--config", f.config.string(), "alerts", "--json"}).out);
            for (const auto& a : now) {
              if (a["id"] == alert["id"]) {
                return a["state"] == "resolved";
              }
            }
            return false;
          },
          std::chrono::seconds(30)));
    }
  }
  CHECK(revoked_alerts == 2);
  // Pebble's certificates name no OCSP responder: the old staple is gone, not
  // left for a server to staple to the new certificate.
  CHECK(wait_until([&] { return checked("stapled", "not_applicable"); }, std::chrono::seconds(30)));
  CHECK_FALSE(std::filesystem::exists(staple));
  CHECK(f.daemon->stop(SIGTERM) == 0);
}

// The deployment proven live: after each deploy the service probes the
// configured endpoint (nginx, serving the deployed files). A reload command
// that does nothing leaves nginx on the old certificate: found twice in a
// row, that drift is an alert; with the reload restored, the next deploy is
// served again and the alert recovers.
TEST_CASE("daemon: probes each deployment; drift is alerted, then recovers" *
          doctest::test_suite("alerts")) {
  require_program("nginx");
  PebbleOptions short_lived;
  short_lived.certificate_validity_seconds = 40;
  DaemonFixture f(short_lived);
  const auto out = f.dir / "deployed";
  std::filesystem::create_directories(out);
  const auto prefix = f.dir / "nginx";
  write_nginx_reload(f.dir / "reload-nginx", prefix);
  auto web = [&](const std::string& reload, const std::string& probe) {
    return "[[certificate]]\nname = \"web\"\ndomains = [\"web.example.test\"]\n"
           "challenge = { type = \"http-01\", listen = \"" +
           f.pebble.http_listen() + "\" }\ndeploy = { fullchain = \"" + (out / "web.pem").string() +
           "\", key = \"" + (out / "web.key").string() + "\", reload = [\"" + reload + "\"] }\n" +
           probe + "\n";
  };
  f.configure(web((f.dir / "reload-nginx").string(), ""));
  f.start();
  REQUIRE_MESSAGE(f.wait_issued({"web"}), f.log());
  REQUIRE(wait_until([&] { return std::filesystem::exists(out / "web.key"); },
                     std::chrono::seconds(10)));
  const auto nginx = start_nginx(prefix, [&](int port) {
    return "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
           " ssl;\n    ssl_certificate " + (out / "web.pem").string() +
           ";\n    ssl_certificate_key " + (out / "web.key").string() + ";\n  }\n";
  });
  const std::string endpoint = "127.0.0.1:" + std::to_string(nginx.port);
  const std::string probe = "probe = [\"" + endpoint + "\"]\n";
  auto reload_config = [&](const std::string& text) {
    f.configure(text);
    const json reloaded = json::parse(ask_raw(f.socket, "{\"id\": 1, \"cmd\": \"reload\"}\n"));
    REQUIRE(reloaded["ok"] == true);
  };
  auto served_matches = [&] {
    const json row = row_of(f.status(), "web");
    return row.is_object() && !row["served"].empty() &&
           row["served"][0].value("matches", false);  // no "matches" before the first probe
  };
  auto drift_open = [&] {
    const json open =
        json::parse(certkeeper({"--config", f.config.string(), "alerts", "--open", "--json"}).out);
    return std::ranges::any_of(open,
                               [&](const json& a) { return a["key"] == "drift:web:" + endpoint; });
  };

  // Probed at once once configured, and after every deploy: it serves the current one.
  reload_config(web((f.dir / "reload-nginx").string(), probe));
  CHECK_MESSAGE(wait_until(served_matches, std::chrono::seconds(60)), f.log());
  CHECK_FALSE(drift_open());

  // Deploys go on, but nginx is never reloaded: drift, confirmed, alerted.
  reload_config(web("true", probe));
  REQUIRE_MESSAGE(wait_until(drift_open, std::chrono::seconds(120)), f.log());
  CHECK(f.log().find("serves an older version of web") != std::string::npos);

  // Reloads again: the next deploy is served, the alert recovers.
  reload_config(web((f.dir / "reload-nginx").string(), probe));
  CHECK_MESSAGE(wait_until([&] { return !drift_open(); }, std::chrono::seconds(120)), f.log());
  CHECK(served_matches());
  const json history = json::parse(
      certkeeper({"--config", f.config.string(), "alerts", "--name", "web", "--json"}).out);
  CHECK(std::ranges::any_of(history, [](const json& a) {
    return a["kind"] == "drift" && a["resolution"] == "recovered";
  }));

  // probe --certificate: the service probes now and the command follows it; then,
  // with no service, the command probes alone. (Renewals go on every 20 s: a
  // probe between a deploy and nginx's reload may see the one before.)
  RunResult through;
  CHECK_MESSAGE(
      wait_until(
          [&] {
            through = certkeeper({"--config", f.config.string(), "probe", "--certificate", "web"});
            return through.exit_code == 0;
          },
          std::chrono::seconds(60)),
      std::string(through.out + through.err));
  CHECK(through.out.find(endpoint + ": serves the current version of web") != std::string::npos);
  CHECK(f.daemon->stop(SIGTERM) == 0);
  // Alone: a verdict either way (a deploy the stop cut short may leave nginx a
  // version behind), from a probe of its own.
  auto alone =
      certkeeper({"--config", f.config.string(), "probe", "--certificate", "web", "--json"});
  CHECK(alone.exit_code <= 1);
  const json probed = json::parse(alone.out, nullptr, false);
  REQUIRE_MESSAGE(probed.is_array(), alone.err);
  CHECK(probed[0]["endpoint"] == endpoint);
  CHECK(probed[0]["error"] == "");
  CHECK(probed[0]["matches"] == (alone.exit_code == 0));
  CHECK(
      certkeeper({"--config", f.config.string(), "probe", "--certificate", "nothing"}).exit_code ==
      2);
}

// SIGKILL at random points while the service issues, renews and deploys, 20
// times, each restart adding work; then one run to the end. Whatever was cut:
// no key lost, no temporary file left, every interrupted order finished,
// every deployed certificate with its own key, the database intact.
TEST_CASE("daemon: SIGKILL at random points, 20 times, loses and tears nothing" *
          doctest::test_suite("crash")) {
  DaemonFixture f;
  const auto out = f.dir / "deployed";
  std::filesystem::create_directories(out);
  write_text(f.dir / "reload", "#!/bin/sh\nsleep 0.05\n", 0755);
  auto config_for = [&](int count) {
    std::string certificates;
    for (int i = 0; i < count; ++i) {
      const std::string name = "k" + std::to_string(i);
      certificates += "[[certificate]]\nname = \"" + name + "\"\ndomains = [\"" + name +
                      ".example.test\"]\nchallenge = { type = \"http-01\", listen = \"" +
                      f.pebble.http_listen() + "\" }\ndeploy = { fullchain = \"" +
                      (out / (name + ".pem")).string() + "\", key = \"" +
                      (out / (name + ".key")).string() + "\", reload = [\"" +
                      (f.dir / "reload").string() + "\"] }\n\n";
    }
    f.configure(certificates);
  };
  const unsigned seed = std::random_device{}();
  CAPTURE(seed);
  std::mt19937 random(seed);
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    config_for(2 + round / 4);  // a new certificate every fourth round
    f.notify.clear();
    f.start();
    REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
    if (round % 2 == 1) {  // a renewal in flight too
      static_cast<void>(
          ask_raw(f.socket, R"({"id": 1, "cmd": "renew", "args": {"name": "k0", "force": true}})"
                            "\n"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 1500));
    CHECK(f.daemon->stop(SIGKILL) == 128 + SIGKILL);
  }
  // Stale temporaries are those older than 10 s; then one run to the end.
  std::this_thread::sleep_for(std::chrono::seconds(11));
  const int count = 2 + (kRounds - 1) / 4;
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    names.push_back("k" + std::to_string(i));
  }
  f.notify.clear();
  f.start();
  REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
  REQUIRE_MESSAGE(f.wait_issued(names), f.log());
  const auto db = (f.dir / "state" / "inventory.db").string();
  auto sql = [&](const std::string& query) { return run({"sqlite3", db, query}).out; };
  // What is not settled yet: orders left unfinished, deploys torn; "" once settled.
  auto unsettled = [&] {
    std::string left =
        sql("SELECT certificate_name || ': order ' || order_url || ' is ' || status FROM orders "
            "WHERE status NOT IN ('valid', 'invalid')");
    for (const auto& name : names) {
      const auto pem = out / (name + ".pem");
      if (!std::filesystem::exists(pem) ||
          run({"openssl", "x509", "-in", pem.string(), "-noout", "-pubkey"}).out !=
              run({"openssl", "pkey", "-in", (out / (name + ".key")).string(), "-pubout"}).out) {
        left += name + ": the deployed certificate and key are not a pair\n";
      }
    }
    return left;
  };
  std::string left = unsettled();
  for (int i = 0; i < 300 && !left.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = unsettled();
  }
  CHECK(f.daemon->stop(SIGTERM) == 0);
  CHECK_MESSAGE(left.empty(), std::string(left + "\n" + f.log()));
  CHECK(sql("PRAGMA integrity_check") == "ok\n");
  // No key the inventory knows of is missing.
  std::istringstream keys(sql("SELECT path FROM keys"));
  for (std::string path; std::getline(keys, path);) {
    CAPTURE(path);
    CHECK(std::filesystem::exists(path));
  }
  // Each current certificate's key is its own, and is the deployed one.
  for (const auto& name : names) {
    CAPTURE(name);
    const std::string current =
        read_text(f.dir / "state" / "certs" / name / "current" / "cert.pem");
    CHECK(read_text(out / (name + ".pem")).starts_with(current));
  }
  for (const auto& dir : {f.dir / "state", out}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      CAPTURE(entry.path().string());
      CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
    }
  }
}

// A renewal asked for while another job of the certificate runs (here the
// deploy a restart finishes, its reload held) is queued behind it, and runs.
TEST_CASE("daemon: a renewal asked while another job of the certificate runs is not lost" *
          doctest::test_suite("basics")) {
  DaemonFixture f;
  const auto out = f.dir / "deployed";
  std::filesystem::create_directories(out);
  const auto hold = f.dir / "hold";
  write_text(f.dir / "reload",
             "#!/bin/sh\nwhile [ -e " + hold.string() + " ]; do sleep 0.05; done\n", 0755);
  f.configure(
      "[[certificate]]\nname = \"www\"\ndomains = [\"www.example.test\"]\n"
      "challenge = { type = \"http-01\", listen = \"" +
      f.pebble.http_listen() + "\" }\ndeploy = { fullchain = \"" + (out / "www.pem").string() +
      "\", key = \"" + (out / "www.key").string() + "\", reload = [\"" +
      (f.dir / "reload").string() + "\"] }\n");
  f.start();
  REQUIRE_MESSAGE(f.wait_issued({"www"}), f.log());
  const std::string first = row_of(f.status(), "www")["sha256"];
  REQUIRE(f.daemon->stop(SIGTERM) == 0);

  // A deploy a crash tore: the next start deploys again, and its reload waits.
  std::filesystem::remove(out / "www.pem");
  write_text(hold, "");
  f.notify.clear();
  f.start();
  REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
  const json asked = json::parse(
      ask_raw(f.socket, R"({"id": 1, "cmd": "renew", "args": {"name": "www", "force": true}})"
                        "\n"));
  CHECK(asked["result"]["queued"] == true);
  CHECK(asked["result"]["running"] == true);  // the deploy
  std::filesystem::remove(hold);
  auto renewed = [&] {
    const json row = row_of(f.status(), "www");
    return row.is_object() && row["sha256"] != first;
  };
  CHECK_MESSAGE(wait_until(renewed, std::chrono::seconds(150)), f.log());
  CHECK(f.daemon->stop(SIGTERM) == 0);
}

TEST_CASE("daemon: malformed, unknown, oversized and silent requests never stop it" *
          doctest::test_suite("basics")) {
  DaemonFixture f;
  f.configure("");
  f.start();
  REQUIRE_MESSAGE(f.notify.wait_for("READY=1"), f.log());
  const json garbage = json::parse(ask_raw(f.socket, "this is not json\n"));
  CHECK(garbage["ok"] == false);
  CHECK(garbage["error"]["code"] == "parse");
  const json unknown = json::parse(ask_raw(f.socket, "{\"id\": 2, \"cmd\": \"shutdown\"}\n"));
  CHECK(unknown["id"] == 2);
  CHECK(unknown["error"]["code"] == "unknown_command");
  const json nothing = json::parse(ask_raw(f.socket, "{\"id\": 3, \"cmd\": \"revoke\"}\n"));
  CHECK(nothing["ok"] == false);  // no certificate named
  // An argument of the wrong type is refused before the service reads it.
  const json typed =
      json::parse(ask_raw(f.socket, R"({"id": 6, "cmd": "show", "args": {"certificate": 5}})"
                                    "\n"));
  CHECK(typed["error"]["code"] == "invalid_argument");
  const json nameless = json::parse(ask_raw(f.socket, "{\"id\": 5, \"cmd\": \"probe\"}\n"));
  CHECK(nameless["error"]["code"] == "not_found");
  const json oversized = json::parse(ask_raw(f.socket, std::string(70 * 1024, 'x') + "\n"));
  CHECK(oversized["error"]["code"] == "too_large");
  // A client that connects and says nothing does not hold the loop.
  const int silent = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, f.socket.c_str(), f.socket.size() + 1);
  REQUIRE(::connect(silent, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  const json fine = json::parse(ask_raw(f.socket, "{\"id\": 4, \"cmd\": \"status\"}\n"));
  CHECK(fine["ok"] == true);
  ::close(silent);
  CHECK(f.daemon->stop(SIGTERM) == 0);
}

TEST_CASE("daemon: a configuration with errors is refused at start, exit 2" *
          doctest::test_suite("basics")) {
  DaemonFixture f;
  write_text(f.config, "[daemon]\nstate_dir = 42\n");
  auto r = certkeeper({"--config", f.config.string(), "daemon"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("daemon.state_dir") != std::string::npos);
}

TEST_CASE("systemd units: systemd-analyze verifies them, and rates the service's exposure <= 1.5" *
          doctest::test_suite("basics")) {
  require_program("systemd-analyze");
  TempDir dir;
  // The unit as installed, its ExecStart pointed at the binary under test
  // (verify checks that the program exists).
  std::string unit = read_text(CERTKEEPER_SERVICE_UNIT);
  const std::string exec = "ExecStart=";
  const auto at = unit.find(exec);
  REQUIRE(at != std::string::npos);
  unit.replace(at + exec.size(), unit.find(" --config", at) - at - exec.size(),
               certkeeper_binary());
  write_text(dir / "certkeeper.service", unit);
  write_text(dir / "certkeeper.socket",
             read_text(std::string(CERTKEEPER_SOURCE_DIR) + "/systemd/certkeeper.socket"));
  auto verify = run({"systemd-analyze", "verify", (dir / "certkeeper.service").string(),
                     (dir / "certkeeper.socket").string()});
  CHECK_MESSAGE(verify.exit_code == 0, std::string(verify.out + verify.err));
  CHECK_MESSAGE(verify.err.empty(), verify.err);  // no warning either
  auto security = run({"systemd-analyze", "security", "--offline=true", "--threshold=15",
                       (dir / "certkeeper.service").string()});
  CHECK_MESSAGE(security.exit_code == 0, std::string(security.out + security.err));
  const auto level = security.out.find("Overall exposure level for certkeeper.service: ");
  REQUIRE(level != std::string::npos);
  const double exposure = std::stod(security.out.substr(level + 48));
  CHECK(exposure <= 1.5);
}

// systemd's socket activation, by systemd's own tool: it listens, and starts
// the service with the socket (LISTEN_FDS) on the first connection, which the
// service then answers.
TEST_CASE("daemon: takes its control socket from systemd (socket activation)" *
          doctest::test_suite("basics")) {
  require_program("systemd-socket-activate");
  TempDir dir;
  const std::string socket = (dir / "activated.sock").string();
  const auto config = dir / "certkeeper.toml";
  // daemon.socket names another path: the inherited socket must win.
  write_text(config, "[daemon]\nstate_dir = \"" + (dir / "state").string() + "\"\nsocket = \"" +
                         (dir / "unused.sock").string() + "\"\n");
  Process activator({"systemd-socket-activate", "-l", socket, certkeeper_binary(), "--config",
                     config.string(), "daemon"},
                    dir / "daemon.log");
  bool listening = false;
  for (int i = 0; i < 200 && !listening; ++i) {
    listening = std::filesystem::exists(socket);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(listening);
  const json answer = json::parse(ask_raw(socket, "{\"id\": 1, \"cmd\": \"status\"}\n"));
  CHECK(answer["ok"] == true);
  CHECK(answer["result"]["daemon"]["running"] == true);
  CHECK_FALSE(std::filesystem::exists(dir / "unused.sock"));
  CHECK(activator.stop(SIGTERM) == 0);
  CHECK(std::filesystem::exists(socket));  // systemd's socket: not ours to remove
}

namespace {

// GET over the daemon's listener, with curl: the body, or "" when it failed.
std::string http_get(int port, const std::string& path) {
  return run({"curl", "-sf", "--max-time", "10", "http://127.0.0.1:" + std::to_string(port) + path})
      .out;
}

// `name`'s row class in a status page's DOM (`<tr class="STATE"><th>NAME...`).
std::string row_state(const std::string& dom, const std::string& name) {
  const std::size_t at = dom.find("<th>" + name + "<");
  const std::size_t row = at == std::string::npos ? at : dom.rfind("<tr class=\"", at);
  if (row == std::string::npos) {
    return "";
  }
  const std::size_t from = row + 11;
  return dom.substr(from, dom.find('"', from) - from);
}

std::filesystem::path artifact_dir() {
  std::filesystem::path dir = CERTKEEPER_ARTIFACT_DIR;
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

// The optional listener, with real clients: promtool checks a scrape, a real
// Prometheus scrapes the daemon and answers a query for the expiry, and
// headless Chromium renders the status page of certificates in several
// states (one imported with a hostile CN, one whose CA is unreachable at a
// URL with markup in it), saved as a screenshot.
TEST_CASE("daemon: metrics for promtool and Prometheus, the status page in Chromium" *
          doctest::test_suite("monitoring")) {
  for (const char* program : {"curl", "promtool", "prometheus", "chromium"}) {
    require_program(program);
  }
  DaemonFixture f;
  const int port = free_port();
  // Imported before the service starts: a long-lived self-signed certificate
  // whose CN is markup, configured under its name (not due for renewal).
  const auto imported = f.dir / "imported";
  std::filesystem::create_directories(imported);
  const std::string hostile_cn = "<img src=x onerror=alert(1)>";
  REQUIRE(run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", (imported / "hostile.key").string(), "-out",
               (imported / "hostile.pem").string(), "-days", "90", "-subj", "/CN=" + hostile_cn,
               "-addext", "subjectAltName=DNS:hostile.example.test"})
              .exit_code == 0);
  const std::string broken_url = "http://127.0.0.1:1/<script>alert(2)</script>/directory";
  // Two issuers: each certificate names its own.
  auto of_pebble = [&](const std::string& name, const std::string& more) {
    return f.certificate(name).insert(f.certificate(name).size() - 1,
                                      "issuer = \"pebble\"\n" + more);
  };
  f.configure(of_pebble("alpha", "") +
              of_pebble("beta", "probe = [\"127.0.0.1:1\"]\n") +  // nothing listens there
              "[[certificate]]\nname = \"hostile.example.test\"\n"
              "domains = [\"hostile.example.test\"]\nissuer = \"pebble\"\n\n"
              "[[certificate]]\nname = \"broken\"\ndomains = [\"broken.example.test\"]\n"
              "issuer = \"broken\"\nchallenge = { type = \"http-01\", listen = \"" +
              f.pebble.http_listen() + "\" }\n\n[issuer.broken]\ndirectory = \"" + broken_url +
              "\"\n\n[metrics]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n");
  const auto import = certkeeper({"--config", f.config.string(), "import", imported.string()});
  REQUIRE_MESSAGE(import.exit_code == 0, import.err);
  f.start();
  REQUIRE_MESSAGE(f.wait_issued({"alpha", "beta", "hostile.example.test"}), f.log());
  REQUIRE(wait_for_port(port));

  // promtool checks a scrape (and the same text comes over the control socket).
  std::string scrape;
  REQUIRE(wait_until(
      [&] {
        scrape = http_get(port, "/metrics");
        return scrape.find("certkeeper_certificate_renewal_failures{certificate=\"broken\"} 0") ==
               std::string::npos;  // broken's first attempt has failed
      },
      std::chrono::seconds(60)));
  write_text(f.dir / "scrape.txt", scrape);
  auto checked = run({"sh", "-c", "promtool check metrics < " + (f.dir / "scrape.txt").string()});
  CHECK_MESSAGE(checked.exit_code == 0, std::string(checked.out + checked.err));
  auto by_socket = certkeeper({"--config", f.config.string(), "metrics"});
  CHECK(by_socket.exit_code == 0);
  CHECK(by_socket.out.find(
            "certkeeper_certificate_not_after_timestamp_seconds{certificate=\"alpha\"}") !=
        std::string::npos);

  // A real Prometheus scrapes it; a query through its HTTP API returns the
  // certificates' expiry as the daemon exports it.
  write_text(f.dir / "prometheus.yml",
             "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: certkeeper\n"
             "    static_configs:\n      - targets: ['127.0.0.1:" +
                 std::to_string(port) + "']\n");
  const auto prometheus = start_listening(
      [&](int p) {
        return std::make_unique<Process>(
            std::vector<std::string>{"prometheus",
                                     "--config.file=" + (f.dir / "prometheus.yml").string(),
                                     "--storage.tsdb.path=" + (f.dir / "tsdb").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(p)},
            f.dir / "prometheus.log");
      },
      "prometheus", [&] { return read_text(f.dir / "prometheus.log"); });
  json expiry;
  const bool answered = wait_until(
      [&] {
        expiry = json::parse(
            run({"curl", "-sf", "--max-time", "5",
                 "http://127.0.0.1:" + std::to_string(prometheus.port) +
                     "/api/v1/query?query=certkeeper_certificate_not_after_timestamp_seconds"})
                .out,
            nullptr, false);
        return expiry.is_object() && expiry["data"]["result"].size() == 3;
      },
      std::chrono::seconds(60));
  REQUIRE_MESSAGE(answered, read_text(f.dir / "prometheus.log"));
  for (const auto& series : expiry["data"]["result"]) {
    const std::string name = series["metric"]["certificate"];
    CAPTURE(name);
    CHECK(series["metric"]["job"] == "certkeeper");
    const std::string exported =
        "certkeeper_certificate_not_after_timestamp_seconds{certificate=\"" + name + "\"} " +
        series["value"][1].get<std::string>() + "\n";
    CHECK(scrape.find(exported) != std::string::npos);
  }

  // Headless Chromium renders the page: every certificate in its state, the
  // hostile CN and the CA's words as text, never markup. A screenshot stays.
  const auto profile = f.dir / "chromium";
  const std::vector<std::string> chromium{"chromium",
                                          "--headless",
                                          "--no-sandbox",
                                          "--disable-gpu",
                                          "--disable-dev-shm-usage",
                                          "--no-first-run",
                                          "--disable-background-networking",
                                          "--disable-component-update",
                                          "--user-data-dir=" + profile.string(),
                                          "--window-size=1400,900"};
  const std::string page = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto dump = chromium;
  dump.insert(dump.end(), {"--dump-dom", page});
  const auto rendered = run(dump, {{"HOME", f.dir.path().string()}});
  REQUIRE_MESSAGE(rendered.exit_code == 0, rendered.err);
  const std::string& dom = rendered.out;
  CHECK(row_state(dom, "alpha") == "ok");
  CHECK(row_state(dom, "beta") == "drifted");
  CHECK(row_state(dom, "hostile.example.test") == "ok");
  CHECK(row_state(dom, "broken") == "failing");
  CHECK(dom.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
  CHECK(dom.find("&lt;script&gt;alert(2)&lt;/script&gt;") != std::string::npos);
  CHECK(dom.find("<img") == std::string::npos);
  CHECK(dom.find("<script") == std::string::npos);
  CHECK(dom.find("id=\"alerts\"") != std::string::npos);  // broken's failure is an alert...
  CHECK(dom.find("id=\"events\"") != std::string::npos);  // ...and its issues are events
  const auto screenshot = artifact_dir() / "status-page.png";
  std::filesystem::remove(screenshot);
  auto shot = chromium;
  shot.insert(shot.end(), {"--screenshot=" + screenshot.string(), page});
  CHECK(run(shot, {{"HOME", f.dir.path().string()}}).exit_code == 0);
  CHECK(std::filesystem::exists(screenshot));

  // Listening elsewhere than loopback needs the operator's word for it.
  const std::string text = read_text(f.config);
  write_text(f.config, text.substr(0, text.find("[metrics]")) +
                           "[metrics]\nlisten = \"0.0.0.0:" + std::to_string(port) + "\"\n");
  const json refused = json::parse(ask_raw(f.socket, "{\"id\": 1, \"cmd\": \"reload\"}\n"));
  CHECK(refused["ok"] == true);  // answered; the configuration itself was refused
  CHECK(f.log().find("allow_remote") != std::string::npos);
  CHECK(http_get(port, "/metrics").find("certkeeper_config_last_reload_success 0") !=
        std::string::npos);
  CHECK(f.daemon->stop(SIGTERM) == 0);
}

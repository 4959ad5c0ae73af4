// The certkeeper binary, run as a user would: exit codes, JSON and messages.

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/daemon/import_fixtures.h"
#include "tests/store/store_fixtures.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

namespace {

struct CliFixture : ImportPki {
  TempDir dir;
  std::string state = (dir / "state").string();
  std::string at = std::to_string(kT0);

  RunResult ck(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state});
    return certkeeper(args);
  }
};

}  // namespace

TEST_CASE("every command has --help, and bad usage exits 2") {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"import", "--help"},
                                        {"list", "--help"},
                                        {"show", "--help"},
                                        {"config", "check", "--help"},
                                        {"--version"},
                                        {"issue", "--help"},
                                        {"renew", "--help"},
                                        {"revoke", "--help"},
                                        {"issuer", "info", "--help"},
                                        {"account", "rollover", "--help"},
                                        {"renewal-info", "--help"},
                                        {"verify", "--help"},
                                        {"staple", "--help"},
                                        {"probe", "--help"},
                                        {"status", "--help"},
                                        {"alerts", "--help"},
                                        {"events", "--help"},
                                        {"metrics", "--help"},
                                        {"daemon", "--help"}}) {
    auto r = certkeeper(args);
    CAPTURE(args[0]);
    CHECK(r.exit_code == 0);
    CHECK_FALSE(r.out.empty());
  }
  CHECK(certkeeper({}).exit_code == 2);
  CHECK(certkeeper({"list", "--no-such-flag"}).exit_code == 2);
  CHECK(certkeeper({"import"}).exit_code == 2);
  CHECK(certkeeper({"frobnicate"}).exit_code == 2);
  CHECK(certkeeper({"issue", "--domain", "x.example"}).exit_code == 2);  // no --server
  CHECK(certkeeper({"account"}).exit_code == 2);
  CHECK(certkeeper({"verify"}).exit_code == 2);                     // no --leaf
  CHECK(certkeeper({"staple", "--cert", "x.pem"}).exit_code == 2);  // no --out
  CHECK(certkeeper({"probe", "host:99999"}).exit_code == 2);
  CHECK(certkeeper({"probe", "host", "--starttls", "ftp"}).exit_code == 2);
  // Every command that waits on a peer is bounded, by a timeout that must make sense.
  const std::vector<std::vector<std::string>> bounded{
      {"staple", "--cert", "x.pem", "--out", "x.ocsp"},
      {"verify", "--leaf", "x.pem"},
      {"revoke", "x.example"},
      {"renewal-info", "x.example"},
      {"account", "show"},
      {"issuer", "info", "--server", "https://127.0.0.1:1/dir"}};
  for (const char* bad : {"soon", "0s", "5 parsecs", "25h"}) {
    for (std::vector<std::string> args : bounded) {
      CAPTURE(bad);
      CAPTURE(args.front());
      args.insert(args.end(), {"--timeout", bad});
      auto r = certkeeper(args);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("--timeout") != std::string::npos);
    }
  }
}

TEST_CASE_FIXTURE(CliFixture, "commands that speak no HTTP never load libcurl") {
  // The dynamic loader lists every library it opens when LD_DEBUG=files.
  auto r = run({certkeeper_binary(), "--state-dir", state, "list"}, {{"LD_DEBUG", "files"}});
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("libssl") != std::string::npos);  // the trace is really there
  CHECK(r.err.find("libcurl") == std::string::npos);
}

TEST_CASE_FIXTURE(CliFixture, "import, list and show a certbot folder and a bundle") {
  certbot_folder(dir / "letsencrypt", "www", www, www);
  write_text(dir / "api.pem", api.cert_pem() + ca.cert_pem());
  auto imported =
      ck({"import", (dir / "letsencrypt").string(), (dir / "api.pem").string(), "--json"});
  CHECK(imported.exit_code == 0);
  auto summary = json::parse(imported.out);
  CHECK(summary["new"] == 2);
  CHECK(summary["failed"] == 0);

  auto list = ck({"list", "--json", "--at", at});
  REQUIRE(list.exit_code == 0);
  auto rows = json::parse(list.out);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["name"] == "api.example.test");  // soonest to expire first
  CHECK(rows[0]["days_left"] == 20);
  CHECK(rows[1]["name"] == "www");
  CHECK(rows[1]["key_type"] == "ecdsa-p256");
  CHECK(rows[1]["issuer_cn"] == "Import Intermediate");
  CHECK(rows[1]["source"] == "import");
  CHECK(rows[1]["status"] == "active");

  auto table = ck({"list", "--at", at});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("NAME") == 0);
  CHECK(table.out.find("www.example.test,example.test") != std::string::npos);

  auto show = ck({"show", "www", "--json", "--at", at});
  REQUIRE(show.exit_code == 0);
  auto shown = json::parse(show.out);
  CHECK(shown["key_path"] == (dir / "letsencrypt" / "live" / "www" / "privkey.pem").string());
  CHECK(shown["chain_length"] == 1);
  CHECK(shown["events"].size() == 1);

  const std::string fingerprint = shown["sha256"];
  auto by_prefix = ck({"show", fingerprint.substr(0, 12), "--json"});
  CHECK(by_prefix.exit_code == 0);
  CHECK(json::parse(by_prefix.out)["name"] == "www");
  auto text = ck({"show", "www", "--at", at});
  CHECK(text.out.find("not after:") != std::string::npos);
  CHECK(ck({"show", "nothing-here"}).exit_code == 1);
}

TEST_CASE_FIXTURE(CliFixture,
                  "list --expiring is a check: exit 1 when anything expires in the window") {
  write_text(dir / "api.pem", api.cert_pem());  // 20 days left at kT0
  REQUIRE(ck({"import", (dir / "api.pem").string()}).exit_code == 0);
  auto soon = ck({"list", "--expiring", "30d", "--json", "--at", at});
  CHECK(soon.exit_code == 1);
  CHECK(json::parse(soon.out).size() == 1);
  auto later = ck({"list", "--expiring", "10d", "--json", "--at", at});
  CHECK(later.exit_code == 0);
  CHECK(json::parse(later.out).empty());
  auto after_expiry =
      ck({"list", "--expiring", "1s", "--json", "--at", std::to_string(kT0 + 30 * kDay)});
  CHECK(after_expiry.exit_code == 1);
  CHECK(json::parse(after_expiry.out)[0]["status"] == "expired");
  auto bad = ck({"list", "--expiring", "soon"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("invalid duration") != std::string::npos);
}

TEST_CASE_FIXTURE(CliFixture, "a failed file makes import exit 1 while the rest imports") {
  write_text(dir / "good.pem", www.cert_pem());
  write_text(dir / "bad.pem",
             "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
  auto r = ck({"import", (dir / "good.pem").string(), (dir / "bad.pem").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find((dir / "bad.pem").string()) != std::string::npos);
  CHECK(r.out.find("1 new, 0 updated, 1 failed") != std::string::npos);
  CHECK(ck({"show", "www.example.test"}).exit_code == 0);
}

TEST_CASE_FIXTURE(CliFixture, "an unreadable file is reported with its path") {
  write_text(dir / "secret.pem", www.cert_pem() + www.key_pem(), 0000);
  std::vector<std::string> argv;
  std::string binary = certkeeper_binary();
  if (::geteuid() == 0) {
    // root reads anything: run as nobody, which may use the state dir but not the file.
    // nobody gets its own copy of the binary: the build tree may not be reachable for it.
    require_program("setpriv");
    std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
    std::filesystem::create_directories(state);
    REQUIRE(run({"chown", "-R", "nobody", state}).exit_code == 0);
    std::filesystem::copy_file(binary, dir / "certkeeper");
    binary = (dir / "certkeeper").string();
    argv = {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"};
  }
  for (const std::string& a : {binary, std::string("--state-dir"), state, std::string("import"),
                               (dir / "secret.pem").string()}) {
    argv.push_back(a);
  }
  auto r = run(argv);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find((dir / "secret.pem").string()) != std::string::npos);
  CHECK(r.err.find("Permission denied") != std::string::npos);
}

TEST_CASE_FIXTURE(CliFixture, "a state directory it cannot use is a clear error at start") {
  write_text(dir / "www.pem", www.cert_pem() + www.key_pem());
  REQUIRE(ck({"import", (dir / "www.pem").string()}).exit_code == 0);
  auto refused = [&](const RunResult& r, const std::string& why) {
    CHECK(r.exit_code == 3);
    CHECK_MESSAGE(r.err.find("state directory: ") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find(why) != std::string::npos, r.err);
  };

  SUBCASE("read-only") {
    std::vector<std::string> argv;
    if (::geteuid() == 0) {  // root writes anywhere but on a read-only mount: one of its own
      require_program("unshare");
      argv = {"unshare",
              "--mount",
              "sh",
              "-c",
              "mount --bind -o ro \"$1\" \"$1\" && shift && exec \"$@\"",
              "sh",
              state};
    } else {
      std::filesystem::permissions(state, std::filesystem::perms(0500));
    }
    for (const std::string& a : {certkeeper_binary(), std::string("--state-dir"), state,
                                 std::string("import"), (dir / "www.pem").string()}) {
      argv.push_back(a);
    }
    refused(run(argv), ::geteuid() == 0 ? "read-only file system" : "not writable");
    std::filesystem::permissions(state, std::filesystem::perms(0750));
  }
  SUBCASE("another user's") {
    std::string theirs = "/";  // root's, for anyone else
    if (::geteuid() == 0) {
      REQUIRE(run({"chown", "-R", "nobody", state}).exit_code == 0);
      theirs = state;
    }
    refused(certkeeper({"--state-dir", theirs, "list"}), "certkeeper runs as");
    if (::geteuid() == 0) {
      refused(ck({"list"}), "it belongs to nobody");
      REQUIRE(run({"chown", "-R", "root", state}).exit_code == 0);
    }
  }
  SUBCASE("not a directory") {
    refused(certkeeper({"--state-dir", (dir / "www.pem").string(), "list"}), "not a directory");
  }
  // Nothing was lost, and it works again as it should.
  auto list = ck({"list", "--json"});
  CHECK(list.exit_code == 0);
  CHECK(json::parse(list.out).size() == 1);
}

TEST_CASE_FIXTURE(CliFixture,
                  "a write lock held by another process: a bounded wait, then a clear error") {
  write_text(dir / "www.pem", www.cert_pem() + www.key_pem());
  write_text(dir / "api.pem", api.cert_pem() + api.key_pem());
  REQUIRE(ck({"import", (dir / "www.pem").string()}).exit_code == 0);
  // Another process: for certkeeper, this one, holding a write transaction open.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open((std::filesystem::path(state) / "inventory.db").c_str(), &raw) == SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> holder(raw, &sqlite3_close);
  REQUIRE(sqlite3_exec(holder.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

  auto blocked = ck({"import", (dir / "api.pem").string()});
  CHECK(blocked.exit_code == 3);
  CHECK_MESSAGE(blocked.err.find("held a write transaction") != std::string::npos, blocked.err);
  CHECK_MESSAGE(blocked.err.find("nothing was changed") != std::string::npos, blocked.err);
  // Readers are not blocked (WAL).
  auto read = ck({"list", "--json"});
  CHECK(read.exit_code == 0);
  CHECK(json::parse(read.out).size() == 1);

  REQUIRE(sqlite3_exec(holder.get(), "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  std::string integrity;
  REQUIRE(sqlite3_exec(
              holder.get(), "PRAGMA integrity_check",
              [](void* out, int, char** values, char**) {
                *static_cast<std::string*>(out) += values[0] ? values[0] : "";
                return 0;
              },
              &integrity, nullptr) == SQLITE_OK);
  CHECK(integrity == "ok");
  CHECK(ck({"import", (dir / "api.pem").string()}).exit_code == 0);
  CHECK(json::parse(ck({"list", "--json"}).out).size() == 2);
}

TEST_CASE_FIXTURE(
    CliFixture,
    "a full disk: a clear error, nothing half-written, and it works once there is room") {
  REQUIRE_MESSAGE(::geteuid() == 0, "needs root, to mount a small tmpfs as the state directory");
  std::filesystem::create_directories(state);
  REQUIRE(run({"mount", "-t", "tmpfs", "-o", "size=1m,mode=0750", "tmpfs", state}).exit_code == 0);
  struct Unmount {
    std::string dir;
    ~Unmount() { (void)run({"umount", "-l", dir}); }
  } unmount{state};
  write_text(dir / "www.pem", www.cert_pem() + www.key_pem());
  write_text(dir / "api.pem", api.cert_pem() + api.key_pem());
  REQUIRE(ck({"import", (dir / "www.pem").string()}).exit_code == 0);
  const auto filler = std::filesystem::path(state) / "filler";
  (void)run({"sh", "-c", "exec head -c 16M /dev/zero > \"$1\"", "sh", filler.string()});

  auto full = ck({"import", (dir / "api.pem").string()});
  CHECK(full.exit_code == 3);
  CHECK_MESSAGE(full.err.find("No space left on device") != std::string::npos, full.err);
  CHECK(full.err.find("the file system is full") != std::string::npos);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(state)) {
    CHECK_MESSAGE(entry.path().filename().string().find(".tmp-") == std::string::npos,
                  entry.path().string());  // no temporary file left behind
  }

  std::filesystem::remove(filler);
  auto list = ck({"list", "--json"});
  REQUIRE(list.exit_code == 0);
  CHECK(json::parse(list.out).size() == 1);  // no partial row
  CHECK(ck({"import", (dir / "api.pem").string()}).exit_code == 0);
  CHECK(json::parse(ck({"list", "--json"}).out).size() == 2);
}

TEST_CASE_FIXTURE(CliFixture, "config check reports every error with file and line, exit 2") {
  write_text(
      dir / "good.toml",
      "[issuer.ca]\ndirectory = \"https://ca.example/dir\"\n[[certificate]]\nname = \"www\"\n"
      "domains = [\"www.example.com\"]\nchallenge = { type = \"http-01\", listen = "
      "\"127.0.0.1:80\" }\n");
  auto good = certkeeper({"config", "check", (dir / "good.toml").string()});
  CHECK(good.exit_code == 0);
  CHECK(good.out.find("OK (1 issuer(s), 1 certificate(s))") != std::string::npos);

  write_text(dir / "bad.toml", "[daemon]\nstate_dir = 7\nbogus = true\n");
  auto bad = certkeeper({"config", "check", (dir / "bad.toml").string()});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find((dir / "bad.toml").string() + ":2:13: daemon.state_dir") != std::string::npos);
  CHECK(bad.err.find((dir / "bad.toml").string() + ":3:1: daemon.bogus") != std::string::npos);
  auto as_json = certkeeper({"--config", (dir / "bad.toml").string(), "config", "check", "--json"});
  CHECK(as_json.exit_code == 2);
  auto parsed = json::parse(as_json.out);
  CHECK(parsed["ok"] == false);
  CHECK(parsed["errors"].size() == 2);
  CHECK(parsed["errors"][0]["line"] == 2);

  // Any command refuses to run on a broken configuration.
  auto list = certkeeper({"list", "--config", (dir / "bad.toml").string()});
  CHECK(list.exit_code == 2);
  CHECK(list.err.find("invalid configuration") != std::string::npos);
}

TEST_CASE_FIXTURE(CliFixture,
                  "the configuration's state_dir is used unless --state-dir overrides it") {
  const std::string configured = (dir / "configured").string();
  write_text(dir / "c.toml", "[daemon]\nstate_dir = \"" + configured + "\"\n");
  write_text(dir / "www.pem", www.cert_pem());
  REQUIRE(certkeeper({"--config", (dir / "c.toml").string(), "import", (dir / "www.pem").string()})
              .exit_code == 0);
  CHECK(std::filesystem::exists(std::filesystem::path(configured) / "inventory.db"));
  CHECK(json::parse(certkeeper({"list", "--config", (dir / "c.toml").string(), "--json"}).out)
            .size() == 1);
  CHECK(json::parse(ck({"list", "--config", (dir / "c.toml").string(), "--json"}).out).empty());
}

TEST_CASE_FIXTURE(CliFixture, "an inventory from a newer certkeeper is refused with exit 3") {
  REQUIRE(ck({"list"}).exit_code == 0);
  REQUIRE(raw_sql(state + "/inventory.db", "PRAGMA user_version = 42") == SQLITE_OK);
  auto r = ck({"list"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("schema version 42") != std::string::npos);
}

TEST_CASE_FIXTURE(CliFixture, "config check: everything it accepts is built, and says so") {
  write_text(
      dir / "ahead.toml",
      "[issuer.ca]\ndirectory = \"https://ca.example/dir\"\n[[certificate]]\nname = "
      "\"www\"\ndomains = [\"www.example.com\"]\nchallenge = { type = \"http-01\", listen "
      "= \"127.0.0.1:80\" }\ndeploy = { fullchain = \"" +
          (dir / "www.pem").string() +
          "\" }\n"
          "staple = \"/etc/nginx/www.ocsp\"\nprobe = [\"www.example.com\"]\nreuse_key = true\n"
          "[alerts]\nwebhook = \"https://hooks.example.com/x\"\n");
  auto text = certkeeper({"config", "check", (dir / "ahead.toml").string()});
  CHECK(text.exit_code == 0);  // valid: it is what certkeeper will do, said plainly
  CHECK(text.err.find("warning:") == std::string::npos);  // deploy, staple, probe, reuse_key
  auto json_out = certkeeper({"config", "check", (dir / "ahead.toml").string(), "--json"});
  CHECK(nlohmann::json::parse(json_out.out)["not_built"].empty());
}

TEST_CASE_FIXTURE(CliFixture,
                  "issue checks identifiers as config check does: exit 2, no CA asked") {
  // Port 9 (discard) on loopback: nothing there; the checks come first.
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--domain", "c.example.test."}, "no trailing dot"},
      {{"--domain", "bad_name!.example.test"}, "not a valid DNS name"},
      {{"--domain", "192.0.2.7"}, "list it under ips"},
      {{"--ip", "300.1.1.1"}, "is not an IP address"},
  };
  for (const auto& [identifiers, message] : cases) {
    CAPTURE(message);
    std::vector<std::string> args{"issue", "--server", "https://127.0.0.1:9/dir", "--http-listen",
                                  "127.0.0.1:9"};
    args.insert(args.end(), identifiers.begin(), identifiers.end());
    auto r = ck(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(message) != std::string::npos);
  }
  std::error_code ec;
  CHECK(std::filesystem::is_empty(std::filesystem::path(state) / "keys", ec));  // no key left
}

TEST_CASE_FIXTURE(CliFixture,
                  "status: states in colour on a terminal; none piped or with NO_COLOR") {
  require_program("script");
  const auto config = dir / "certkeeper.toml";
  write_text(config, "[daemon]\nstate_dir = \"" + state + "\"\nsocket = \"" +
                         (dir / "none.sock").string() +
                         "\"\n[issuer.ca]\ndirectory = \"https://127.0.0.1:9/dir\"\n"
                         "[[certificate]]\nname = \"www\"\ndomains = [\"www.example.com\"]\n");
  const std::string command = certkeeper_binary() + " --config " + config.string() + " status";
  auto piped = certkeeper({"--config", config.string(), "status"});
  CHECK(piped.out.find("pending") != std::string::npos);  // never issued
  CHECK(piped.out.find("\x1b[") == std::string::npos);
  // `script` gives the command a terminal.
  auto terminal = run({"script", "-qec", command, "/dev/null"}, {{"TERM", "xterm"}});
  CHECK(terminal.out.find("\x1b[2mpending") != std::string::npos);
  auto no_colour =
      run({"script", "-qec", command, "/dev/null"}, {{"TERM", "xterm"}, {"NO_COLOR", "1"}});
  CHECK(no_colour.out.find("pending") != std::string::npos);
  CHECK(no_colour.out.find("\x1b[") == std::string::npos);
  auto json_out = certkeeper({"--config", config.string(), "status", "--json"});
  CHECK(json::parse(json_out.out)["certificates"][0]["state"] == "pending");
  // --watch refreshes in place (home, clear) on a terminal; `timeout` ends it.
  auto watched =
      run({"script", "-qec", "timeout 2 " + command + " --watch --interval 0.5", "/dev/null"},
          {{"TERM", "xterm"}});
  std::size_t refreshes = 0;
  for (std::size_t from = 0; (from = watched.out.find("\x1b[H\x1b[2J", from)) != std::string::npos;
       ++from) {
    ++refreshes;
  }
  CHECK(refreshes >= 2);
  CHECK(certkeeper({"--config", config.string(), "metrics"}).exit_code == 3);  // no service
}

TEST_CASE_FIXTURE(CliFixture, "--json means JSON on failure too, with the same exit code") {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string code;
  };
  const Case cases[] = {
      {{"renew", "nothing", "--json"}, 2, "usage"},                 // not configured
      {{"show", "nothing", "--json"}, 1, ""},                       // not found: exit 1
      {{"list", "--bogus", "--json"}, 2, "usage"},                  // a parse error
      {{"verify", "--leaf", "/nonexistent.pem", "--json"}, 2, ""},  // no such file
  };
  for (const Case& c : cases) {
    CAPTURE(c.args[0]);
    auto r = ck(c.args);
    CHECK(r.exit_code == c.exit_code);
    const json out = json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE(out.is_object(), std::string(r.out + r.err));
    CHECK(out["ok"] == false);
    CHECK(out["exit_code"] == c.exit_code);
    CHECK_FALSE(out["error"]["message"].get<std::string>().empty());
    if (!c.code.empty()) {
      CHECK(out["error"]["code"] == c.code);
    }
    CHECK(r.err.find("certkeeper: error: ") != std::string::npos);  // people still read stderr
  }
  // Without --json, stdout stays empty.
  CHECK(ck({"renew", "nothing"}).out.empty());
}

namespace {

// The lines of the README's console block whose first line is `$ COMMAND...`
// (the command line itself excluded, up to the next `$` line or the block's end).
std::vector<std::string> readme_example(const std::string& command) {
  std::ifstream in(std::string(CERTKEEPER_SOURCE_DIR) + "/README.md");
  std::vector<std::string> out;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (inside && (line.starts_with("```") || line.starts_with("$ "))) {
      break;
    }
    if (inside) {
      out.push_back(line);
    }
    inside = inside || line.starts_with("$ certkeeper " + command);
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

// The README's examples that need no network, run: what they show is what
// certkeeper prints (paths and fingerprints aside).
TEST_CASE_FIXTURE(CliFixture, "README: the import, verify and config check examples hold") {
  // import: a certbot folder, a certificate with its key beside it, one without,
  // and a truncated file.
  const auto etc = dir / "etc";
  certbot_folder(etc / "letsencrypt", "www", www, www);
  write_text(etc / "nginx/tls/api.pem", api.cert_pem() + ca.cert_pem());
  write_text(etc / "nginx/tls/api.key", api.key_pem(), 0600);
  const Issued mail = TestPki::leaf(ca, {"mail.example.test"});
  write_text(etc / "nginx/tls/mail.pem", mail.cert_pem());
  write_text(etc / "nginx/tls/mail.key", mail.key_pem(), 0600);
  write_text(etc / "nginx/tls/old.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
  auto imported = ck({"import", (etc / "letsencrypt").string(), (etc / "nginx/tls").string()});
  CHECK(imported.exit_code == 1);  // one failed
  auto shown = readme_example("import /etc/letsencrypt");
  REQUIRE(shown.size() == 2);
  const auto printed = lines_of(replace_all(imported.out + imported.err, etc.string(), "/etc"));
  for (const auto& line : shown) {
    CAPTURE(line);
    CAPTURE(imported.out + imported.err);
    CHECK(std::ranges::find(printed, line) != printed.end());
  }

  // verify: the verdict, then the path, one certificate a line with its end and fingerprint.
  write_text(dir / "fullchain.pem", www.cert_pem() + ca.cert_pem());
  write_text(dir / "roots.pem", root.cert_pem());
  auto verified = ck({"verify", "--leaf", (dir / "fullchain.pem").string(), "--roots",
                      (dir / "roots.pem").string(), "--hostname", "www.example.test", "--at", at});
  CHECK(verified.exit_code == 0);
  const auto example = readme_example("verify --leaf");
  const auto got = lines_of(verified.out);
  REQUIRE(example.size() >= 3);
  REQUIRE(got.size() >= 3);
  CHECK(got[0] == example[0]);                         // valid
  CHECK(got[1].starts_with(example[1].substr(0, 6)));  // "  0 CN="
  CHECK(got[2].starts_with("      until "));
  CHECK(got[2].find("  sha256 ") == example[2].find("  sha256 "));

  // config check: every error with file, line, column and key, then the count.
  const auto config = dir / "certkeeper.toml";
  write_text(config,
             "[issuer.a]\ndirectory = \"https://a.example/dir\"\n\n[issuer.b]\n"
             "directory = \"https://b.example/dir\"\n\n[[certificate]]\nname = \"www\"\n"
             "domains = [\"www.example.com\"]\nissuer = \"a\"\n\n\n[[certificate]]\n"
             "name = \"www\"\ndomains = [\"www.example.com\"]\nissuer = \"c\"\n");
  auto checked = ck({"config", "check", config.string()});
  CHECK(checked.exit_code == 2);
  const auto expected = readme_example("config check /etc/certkeeper/certkeeper.toml");
  REQUIRE(expected.size() == 3);
  const auto reported = lines_of(
      replace_all(checked.out + checked.err, config.string(), "/etc/certkeeper/certkeeper.toml"));
  for (const auto& line : expected) {
    CAPTURE(line);
    CAPTURE(checked.out + checked.err);
    CHECK(std::ranges::find(reported, line) != reported.end());
  }
}

// A relative --state-dir: the inventory keeps absolute paths, which resolve
// from any directory (issue 18 #7).
TEST_CASE_FIXTURE(CliFixture, "a relative --state-dir stores absolute paths") {
  certbot_folder(dir / "letsencrypt", "www", www, www);
  auto imported = run({"sh", "-c",
                       "cd " + dir.path().string() + " && " + certkeeper_binary() +
                           " --state-dir relative-state import letsencrypt"});
  REQUIRE_MESSAGE(imported.exit_code == 0, imported.err);
  auto shown =
      certkeeper({"--state-dir", (dir / "relative-state").string(), "show", "www", "--json"});
  REQUIRE(shown.exit_code == 0);
  const json record = json::parse(shown.out);
  CHECK(std::filesystem::path(record["key_path"].get<std::string>()).is_absolute());
  CHECK(std::filesystem::exists(record["key_path"].get<std::string>()));
}

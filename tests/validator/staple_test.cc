// The OCSP staple fetcher: the refresh rule, `certkeeper staple` against a real
// `openssl ocsp` responder, and nginx serving the staple it wrote to
// `openssl s_client -status`.

#include <doctest/doctest.h>
#include <unistd.h>

#include "tests/support/fault_proxy.h"
#include "tests/validator/ocsp_fixture.h"
#include "validator/staple.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

TEST_CASE("a staple is refreshed once half of its validity has passed") {
  struct Case {
    const char* name;
    std::int64_t this_update, next_update, now;
    bool due;
  };
  for (const Case& c : {
           Case{"good_fresh", 1000, 2000, 1400, false},
           Case{"due_at_half_life", 1000, 2000, 1500, true},
           Case{"due_after_next_update", 1000, 2000, 2500, true},
           Case{"good_no_next_update_within_a_day", 1000, 0, 1000 + 3600, false},
           Case{"due_no_next_update_after_a_day", 1000, 0, 1000 + 86400, true},
       }) {
    CAPTURE(c.name);
    CHECK(validator::staple_refresh_due(c.this_update, c.next_update, c.now) == c.due);
  }
}

namespace {

struct StapleRun {
  OcspPki& pki;
  std::filesystem::path out = pki.dir.path() / "www.ocsp";

  std::string fullchain(const Issued& leaf) {
    const auto path = pki.dir.path() / "fullchain.pem";
    write_text(path, leaf.cert_pem() + pki.ca.cert_pem());
    return path.string();
  }
  RunResult staple(const Issued& leaf, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--state-dir",   (pki.dir.path() / "state").string(),
                                  "staple",        "--cert",
                                  fullchain(leaf), "--out",
                                  out.string(),    "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return certkeeper(args);
  }
};

}  // namespace

TEST_CASE("staple: written, kept until due, forced; a failed fetch keeps the valid staple") {
  require_program("openssl");
  OcspPki pki;
  const Issued leaf = pki.leaf("www.example.test");
  pki.start({{&leaf, "V"}}, pki.ca);
  StapleRun s{pki};
  // In the inventory, so the staple's state is kept there too.
  REQUIRE(
      certkeeper({"--state-dir", (pki.dir.path() / "state").string(), "import", s.fullchain(leaf)})
          .exit_code == 0);

  auto first = s.staple(leaf);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  auto written = json::parse(first.out);
  CHECK(written["outcome"] == "written");
  CHECK(written["status"] == "good");
  const std::string staple = read_text(s.out);
  CHECK_FALSE(staple.empty());
  // The file is a DER OCSP response openssl itself accepts for this certificate.
  write_text(pki.dir.path() / "leaf.pem", leaf.cert_pem());
  auto check = run({"openssl", "ocsp", "-respin", s.out.string(), "-issuer",
                    (pki.dir.path() / "ca.pem").string(), "-cert",
                    (pki.dir.path() / "leaf.pem").string(), "-noverify"});
  CHECK_MESSAGE(check.out.find(": good") != std::string::npos, std::string(check.out + check.err));

  auto again = s.staple(leaf);
  CHECK(json::parse(again.out)["outcome"] == "kept");
  auto forced = s.staple(leaf, {"--force"});
  CHECK(json::parse(forced.out)["outcome"] == "written");
  const std::string newest = read_text(s.out);

  pki.stop();
  auto failed = s.staple(leaf, {"--force"});
  CHECK(failed.exit_code == 3);
  CHECK(failed.err.find("the staple on disk stays, valid until") != std::string::npos);
  CHECK(read_text(s.out) == newest);  // never replaced by a failure

  auto db = run({"sqlite3", (pki.dir.path() / "state" / "inventory.db").string(),
                 "SELECT cert_status, last_error != '' FROM staples"});
  CHECK(db.out == "good|1\n");
}

TEST_CASE("staple: faults on the way to the responder end within the timeout; the staple stays") {
  require_program("openssl");
  OcspPki pki;
  const Issued leaf = pki.leaf("www.example.test");
  pki.start({{&leaf, "V"}}, pki.ca);
  StapleRun s{pki};
  auto first = s.staple(leaf);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const std::string staple = read_text(s.out);
  auto through = [&](FaultProxy& proxy) {
    return run({certkeeper_binary(), "--state-dir", (pki.dir.path() / "state").string(), "staple",
                "--cert", s.fullchain(leaf), "--out", s.out.string(), "--force", "--timeout", "2s",
                "--json"},
               {{"http_proxy", proxy.url()}, {"no_proxy", ""}, {"NO_PROXY", ""}});
  };
  for (Fault fault : {Fault::reset, Fault::garbage, Fault::truncate, Fault::stall}) {
    CAPTURE(static_cast<int>(fault));
    FaultProxy proxy([fault](int) { return fault; });
    auto r = through(proxy);
    CHECK(proxy.requests() >= 1);  // it went through the proxy
    CHECK(r.exit_code == 3);
    CHECK_MESSAGE(r.err.find(pki.url) != std::string::npos, r.err);  // names the responder
    CHECK(read_text(s.out) == staple);                               // never replaced by a failure
  }
  // A slow answer is only slow.
  FaultProxy proxy([](int) { return Fault::delay; });
  auto slow = through(proxy);
  CHECK_MESSAGE(slow.exit_code == 0, slow.err);
  CHECK(proxy.faults().contains(Fault::delay));
}

TEST_CASE("staple: a full disk keeps the staple on it, says why, and works once there is room") {
  REQUIRE_MESSAGE(::geteuid() == 0, "needs root, to mount a small tmpfs for the staples");
  require_program("openssl");
  OcspPki pki;
  const Issued leaf = pki.leaf("www.example.test");
  pki.start({{&leaf, "V"}}, pki.ca);
  const auto staples = pki.dir.path() / "staples";
  std::filesystem::create_directories(staples);
  REQUIRE(run({"mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", staples.string()}).exit_code ==
          0);
  struct Unmount {
    std::string dir;
    ~Unmount() { (void)run({"umount", "-l", dir}); }
  } unmount{staples.string()};
  StapleRun s{pki, staples / "www.ocsp"};
  auto first = s.staple(leaf);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const std::string staple = read_text(s.out);
  const auto filler = staples / "filler";
  (void)run({"sh", "-c", "exec head -c 1M /dev/zero > \"$1\"", "sh", filler.string()});

  auto full = s.staple(leaf, {"--force"});
  CHECK(full.exit_code == 3);
  CHECK_MESSAGE(
      full.err.find(s.out.string() + ": not written (write failed: No space left on "
                                     "device); what was there is kept") != std::string::npos,
      full.err);
  CHECK(read_text(s.out) == staple);  // never replaced by a failure
  for (const auto& entry : std::filesystem::directory_iterator(staples)) {
    CHECK_MESSAGE(entry.path().filename().string().find(".tmp-") == std::string::npos,
                  entry.path().string());
  }
  std::filesystem::remove(filler);
  auto again = s.staple(leaf, {"--force"});
  CHECK_MESSAGE(again.exit_code == 0, again.err);
  CHECK(json::parse(again.out)["outcome"] == "written");
}

TEST_CASE("staple: no responder is nothing to do, unless the certificate demands a staple") {
  require_program("openssl");
  OcspPki pki;
  StapleRun s{pki};
  const Issued plain = TestPki::make(
      leaf_spec("plain.example.test", pki.now, {"nsComment", "no responder"}), &pki.ca);
  auto nothing = s.staple(plain);
  CHECK(nothing.exit_code == 0);
  CHECK(json::parse(nothing.out)["message"] == "no OCSP responder; nothing to staple");
  CHECK_FALSE(std::filesystem::exists(s.out));

  const Issued demanding = TestPki::make(
      leaf_spec("must.example.test", pki.now, {"tlsfeature", "status_request"}), &pki.ca);
  auto problem = s.staple(demanding);
  CHECK(problem.exit_code == 1);
  CHECK(json::parse(problem.out)["must_staple"] == true);
}

TEST_CASE("nginx staples what certkeeper wrote: s_client -status sees it good") {
  require_program("openssl");
  require_program("nginx");
  OcspPki pki;
  const Issued leaf = pki.leaf("www.example.test");
  pki.start({{&leaf, "V"}}, pki.ca);
  StapleRun s{pki};
  REQUIRE(s.staple(leaf).exit_code == 0);
  pki.stop();  // from here on nginx only has the file

  const auto prefix = pki.dir.path() / "nginx";
  std::filesystem::create_directories(prefix / "logs");
  write_text(prefix / "www.key", leaf.key_pem(), 0600);
  const std::string fullchain = s.fullchain(leaf);
  const auto nginx = start_nginx(prefix, [&](int port) {
    return "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
           " ssl;\n    server_name www.example.test;\n    ssl_certificate " + fullchain +
           ";\n    ssl_certificate_key " + (prefix / "www.key").string() +
           ";\n    ssl_stapling on;\n    ssl_stapling_file " + s.out.string() + ";\n  }\n";
  });
  const int port = nginx.port;
  write_text(pki.dir.path() / "root.pem", pki.root.cert_pem());
  auto r = run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                "-servername", "www.example.test", "-status", "-CAfile",
                (pki.dir.path() / "root.pem").string(), "-verify_return_error"},
               {});
  CAPTURE(r.out);
  CHECK(r.out.find("OCSP Response Status: successful") != std::string::npos);
  CHECK(r.out.find("Cert Status: good") != std::string::npos);
  CHECK(r.out.find("Verify return code: 0 (ok)") != std::string::npos);
}

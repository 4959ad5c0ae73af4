// A CA whose directory lists profiles and ARI: a static directory served over
// TLS by openssl s_server (Pebble 2.4 has neither).

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "acme/ari.h"
#include "acme/client.h"
#include "core/clock.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

namespace {

struct ProfileCa {
  StaticTlsServer tls;
  ProfileCa() {
    json directory{
        {"newNonce", tls.url("/nonce")},
        {"newAccount", tls.url("/account")},
        {"newOrder", tls.url("/order")},
        {"revokeCert", tls.url("/revoke")},
        {"renewalInfo", tls.url("/renewal-info")},
        {"meta",
         {{"termsOfService", "https://ca.example/tos"},
          {"externalAccountRequired", false},
          {"profiles",
           {{"classic", "the default 90-day certificate"}, {"shortlived", "six days, no OCSP"}}}}}};
    write_text(tls.dir / "dir", directory.dump());
  }
};

}  // namespace

TEST_CASE_FIXTURE(ProfileCa, "issuer info lists profiles, EAB and ARI") {
  auto r = certkeeper(
      {"issuer", "info", "--server", tls.url("/dir"), "--ca-file", tls.ca_file(), "--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto info = json::parse(r.out);
  CHECK(info["profiles"]["shortlived"] == "six days, no OCSP");
  CHECK(info["renewal_info"] == tls.url("/renewal-info"));
  CHECK(info["external_account_required"] == false);
  auto text =
      certkeeper({"issuer", "info", "--server", tls.url("/dir"), "--ca-file", tls.ca_file()});
  CHECK(text.out.find("shortlived") != std::string::npos);
}

TEST_CASE_FIXTURE(ProfileCa, "bad: an unknown profile is refused before anything is sent") {
  TempDir state;
  auto r = certkeeper({"--state-dir", state.path().string(), "issue", "--server", tls.url("/dir"),
                       "--ca-file", tls.ca_file(), "--domain", "x.example.test", "--profile",
                       "tlsserver", "--http-listen", "127.0.0.1:" + std::to_string(free_port())});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("the CA offers no profile \"tlsserver\" (it offers: classic, shortlived)") !=
        std::string::npos);
  // No account was registered: the inventory holds no account and no order.
  auto list = certkeeper({"--state-dir", state.path().string(), "list", "--all", "--json"});
  CHECK(json::parse(list.out).empty());
}

TEST_CASE("bad: a server that is not an ACME CA gets a clear error") {
  StaticTlsServer tls;
  write_text(tls.dir / "dir", "<html>not a directory</html>");
  auto r = certkeeper({"issuer", "info", "--server", tls.url("/dir"), "--ca-file", tls.ca_file()});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("the ACME directory is not a JSON object") != std::string::npos);
  auto untrusted = certkeeper({"issuer", "info", "--server", tls.url("/dir")});
  CHECK(untrusted.exit_code == 3);
  CHECK(untrusted.err.find("SSL") != std::string::npos);
}

TEST_CASE_FIXTURE(ProfileCa,
                  "renewal-info asks the CA, keeps its choice, and stores when to ask again") {
  TempDir state;
  Issued root = TestPki::root("ARI Root");
  Issued leaf = TestPki::leaf(root, {"ari.example.test"});
  write_text(state / "ari.pem", leaf.cert_pem());
  auto ck = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state.path().string()});
    return certkeeper(args);
  };
  REQUIRE(ck({"import", (state / "ari.pem").string()}).exit_code == 0);
  const std::string id = acme::certificate_identifier(*leaf.cert).value();
  auto window = [&](std::int64_t start, std::int64_t end) {
    json info{{"suggestedWindow", {{"start", format_rfc3339(start)}, {"end", format_rfc3339(end)}}},
              {"explanationURL", "https://ca.example/why"}};
    write_text(tls.dir / "renewal-info" / id, info.dump());
  };
  const std::int64_t now = std::time(nullptr);
  window(now + 10 * kDay, now + 12 * kDay);
  const std::vector<std::string> ask{"renewal-info",  "ari.example.test", "--server",
                                     tls.url("/dir"), "--ca-file",        tls.ca_file(),
                                     "--json"};

  auto first = ck(ask);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  auto a = json::parse(first.out);
  CHECK(a["fetched"] == true);
  CHECK(a["ari_id"] == id);
  CHECK(a["renew_now"] == false);
  CHECK(a["explanation_url"] == "https://ca.example/why");
  const std::string chosen = a["selected_time"];
  CHECK(chosen >= a["window_start"].get<std::string>());
  CHECK(chosen < a["window_end"].get<std::string>());

  auto second = json::parse(ck(ask).out);  // within the next-check time: not asked again
  CHECK(second["fetched"] == false);
  CHECK(second["selected_time"] == chosen);

  auto forced_args = ask;
  forced_args.push_back("--force");
  auto forced = json::parse(ck(forced_args).out);  // same window: same choice
  CHECK(forced["fetched"] == true);
  CHECK(forced["selected_time"] == chosen);

  window(now - 2 * kDay, now - kDay);  // the CA moved the window into the past
  auto urgent = json::parse(ck(forced_args).out);
  CHECK(urgent["renew_now"] == true);
  auto shown = json::parse(ck({"show", "ari.example.test", "--json"}).out);
  CHECK(shown["events"].size() >= 3);  // imported, and two window changes
}

TEST_CASE("bad: renewal-info at a CA that offers no ARI") {
  StaticTlsServer tls;
  write_text(tls.dir / "dir",
             json{{"newNonce", "a"}, {"newAccount", "b"}, {"newOrder", "c"}}.dump());
  TempDir state;
  Issued root = TestPki::root("ARI Root");
  write_text(state / "c.pem", TestPki::leaf(root, {"no-ari.example.test"}).cert_pem());
  REQUIRE(certkeeper({"--state-dir", state.path().string(), "import", (state / "c.pem").string()})
              .exit_code == 0);
  auto r = certkeeper({"--state-dir", state.path().string(), "renewal-info", "no-ari.example.test",
                       "--server", tls.url("/dir"), "--ca-file", tls.ca_file()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("offers no renewal information") != std::string::npos);
}

TEST_CASE_FIXTURE(ProfileCa, "clients sharing a CA session fetch the directory once") {
  HttpOptions http;
  http.ca_file = tls.ca_file();
  auto session = std::make_shared<acme::CaSession>();
  auto first = acme::AcmeClient::create_reader(tls.url("/dir"), http);
  REQUIRE(first);
  first->share(session);
  REQUIRE(first->directory());
  // The CA's directory is gone now: only a client that shares the session
  // still knows it.
  std::filesystem::remove(tls.dir / "dir");
  auto second = acme::AcmeClient::create_reader(tls.url("/dir"), http);
  REQUIRE(second);
  second->share(session);
  auto shared = second->directory();
  REQUIRE_MESSAGE(shared, shared.error().describe());
  CHECK(shared->renewal_info == tls.url("/renewal-info"));
  auto alone = acme::AcmeClient::create_reader(tls.url("/dir"), http);
  REQUIRE(alone);
  CHECK_FALSE(alone->directory());
}

// A CA whose directory lists profiles and ARI: a static directory served over
// TLS by openssl s_server (Pebble 2.4 has neither).

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

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

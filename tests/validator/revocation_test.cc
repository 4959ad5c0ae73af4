// Revocation against real peers on loopback: `openssl ocsp` answering from a
// CA index (good, revoked, unknown, delegated responder, wrong signer, stale)
// and CRLs served over HTTP (revoked serial, wrong signature, expired CRL,
// conditional GET answered from the cache). The OCSP PKI is dated around now
// (see ocsp_fixture.h); the CRL tests use the fixed kT0.

#include <doctest/doctest.h>

#include <atomic>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/fault_proxy.h"
#include "tests/validator/ocsp_fixture.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

namespace {

CertificateSpec responder_spec(std::int64_t now, bool ocsp_signing) {
  CertificateSpec spec;
  spec.common_name = "OCSP Responder";
  spec.not_before = now - kDay;
  spec.not_after = now + 30 * kDay;
  spec.extended_key_usage = ocsp_signing ? "OCSPSigning" : "serverAuth";
  return spec;
}

}  // namespace

TEST_CASE("OCSP by openssl ocsp: good, revoked, unknown, signed by the issuer") {
  require_program("openssl");
  OcspPki pki;
  const Issued good = pki.leaf("good.example.test");
  const Issued revoked = pki.leaf("revoked.example.test");
  const Issued unknown = pki.leaf("unknown.example.test");
  pki.start({{&good, "V"}, {&revoked, "R,keyCompromise"}}, pki.ca);

  auto ok = pki.verify(good);
  CHECK(ok["valid"] == true);
  REQUIRE(ok["revocation"].size() == 2);
  CHECK(ok["revocation"][0]["status"] == "good");
  CHECK(ok["revocation"][0]["method"] == "ocsp");
  CHECK(ok["revocation"][0]["source"] == pki.url);
  CHECK_FALSE(ok["revocation"][0]["next_update"].get<std::string>().empty());
  CHECK(ok["revocation"][1]["status"] == "not_applicable");  // the CA names no responder

  auto bad = pki.verify(revoked);
  CHECK(bad["error"] == "revoked");
  CHECK(bad["revocation"][0]["status"] == "revoked");
  CHECK(bad["revocation"][0]["reason"] == "keyCompromise");

  auto unsure = pki.verify(unknown);
  CHECK(unsure["revocation"][0]["status"] == "unknown");
  CHECK(unsure["valid"] == true);  // "unknown" is an answer, not a revocation

  SUBCASE("stale: a response whose nextUpdate has passed is refused, and said so") {
    auto later = pki.verify(good, {"--at", std::to_string(pki.now + 3 * kDay)});
    CHECK(later["error"] == "revocation_unavailable");
    CHECK(later["revocation"][0]["status"] == "unavailable");
    CHECK(later["revocation"][0]["error"].get<std::string>().find("stale response") !=
          std::string::npos);
    auto soft = pki.verify(good, {"--at", std::to_string(pki.now + 3 * kDay), "--soft-fail"});
    CHECK(soft["valid"] == true);
    CHECK(soft["revocation"][0]["status"] == "unavailable");  // soft, but never silent
  }
}

TEST_CASE("OCSP: a delegated responder, and responders that may not sign") {
  require_program("openssl");
  OcspPki pki;
  const Issued good = pki.leaf("good.example.test");

  SUBCASE("good_delegated_responder") {
    const Issued delegated = TestPki::make(responder_spec(pki.now, true), &pki.ca);
    pki.start({{&good, "V"}}, delegated);
    auto r = pki.verify(good);
    CHECK(r["valid"] == true);
    CHECK(r["revocation"][0]["status"] == "good");
  }
  SUBCASE("bad_responder_without_ocsp_signing") {
    const Issued not_for_ocsp = TestPki::make(responder_spec(pki.now, false), &pki.ca);
    pki.start({{&good, "V"}}, not_for_ocsp);
    auto r = pki.verify(good);
    CHECK(r["error"] == "revocation_unavailable");
    CHECK(r["revocation"][0]["error"].get<std::string>().find("lacks id-kp-OCSPSigning") !=
          std::string::npos);
  }
  SUBCASE("bad_response_signed_by_a_stranger") {
    const Issued stranger = TestPki::make(responder_spec(pki.now, true), nullptr);
    pki.start({{&good, "V"}}, stranger);
    auto r = pki.verify(good);
    CHECK(r["error"] == "revocation_unavailable");
    CHECK(r["revocation"][0]["error"].get<std::string>().find("which the issuer did not issue") !=
          std::string::npos);
  }
}

namespace {

// A CA publishing its CRL at /ca.crl over plain HTTP on loopback, with an ETag.
struct CrlPki {
  TempDir dir;
  Issued root = TestPki::make(ca_spec("CRL Test Root", kT0), nullptr);
  Issued ca = TestPki::make(ca_spec("CRL Issuing CA", kT0), &root);
  std::string crl_der;
  std::atomic<int> requests{0};
  std::atomic<int> not_modified{0};
  ScriptedHttpServer server{[this](const std::string& request) {
    ++requests;
    if (request.find("If-None-Match: \"v1\"") != std::string::npos) {
      ++not_modified;
      return http_response("304 Not Modified", "ETag: \"v1\"\r\n", "");
    }
    return http_response("200 OK", "Content-Type: application/pkix-crl\r\nETag: \"v1\"\r\n",
                         crl_der);
  }};

  Issued leaf(const std::string& name) {
    return TestPki::make(
        leaf_spec(name, kT0, {"crlDistributionPoints", "URI:" + server.url("/ca.crl")}), &ca);
  }
  json verify(const Issued& leaf) {
    return verify_report(dir, leaf, ca, root, {"--at", std::to_string(kT0), "--revocation", "crl"});
  }
};

}  // namespace

TEST_CASE("CRL over HTTP: revoked, good, and a conditional GET answered from the cache") {
  CrlPki pki;
  const Issued good = pki.leaf("good.example.test");
  const Issued revoked = pki.leaf("revoked.example.test");
  pki.crl_der =
      TestPki::crl(pki.ca, {{serial_of(revoked), 1}, {"01", 4}}, kT0 - kDay, kT0 + 6 * kDay);

  auto bad = pki.verify(revoked);
  CHECK(bad["error"] == "revoked");
  CHECK(bad["revocation"][0]["method"] == "crl");
  CHECK(bad["revocation"][0]["reason"] == "keyCompromise");
  CHECK(bad["revocation"][0]["from_cache"] == false);
  CHECK(pki.requests == 1);

  auto ok = pki.verify(good);
  CHECK(ok["valid"] == true);
  CHECK(ok["revocation"][0]["status"] == "good");
  CHECK(ok["revocation"][0]["from_cache"] == true);  // 304: the kept copy
  CHECK(pki.not_modified == 1);
  CHECK(std::filesystem::exists(pki.dir.path() / "state" / "crls"));
}

TEST_CASE("CRL: a wrong signature and an expired CRL are refused, never trusted") {
  CrlPki pki;
  const Issued good = pki.leaf("good.example.test");
  SUBCASE("bad_signature_by_another_key") {
    const Issued impostor = TestPki::make(ca_spec("CRL Issuing CA", kT0), nullptr);
    pki.crl_der = TestPki::crl(pki.ca, {}, kT0 - kDay, kT0 + 6 * kDay, impostor.key.get());
    auto r = pki.verify(good);
    CHECK(r["error"] == "revocation_unavailable");
    CHECK(r["revocation"][0]["error"].get<std::string>().find("does not verify") !=
          std::string::npos);
  }
  SUBCASE("bad_expired_crl") {
    pki.crl_der = TestPki::crl(pki.ca, {}, kT0 - 10 * kDay, kT0 - 3 * kDay);
    auto r = pki.verify(good);
    CHECK(r["error"] == "revocation_unavailable");
    CHECK(r["revocation"][0]["error"].get<std::string>().find("expired CRL") != std::string::npos);
  }
  SUBCASE("bad_garbage") {
    pki.crl_der = "this is not a CRL";
    auto r = pki.verify(good);
    CHECK(r["error"] == "revocation_unavailable");
  }
}

TEST_CASE("faults on the way to a CRL: each ends within its timeout, unavailable, never a pass") {
  CrlPki pki;
  const Issued good = pki.leaf("good.example.test");
  pki.crl_der = TestPki::crl(pki.ca, {}, kT0 - kDay, kT0 + 6 * kDay);
  for (Fault fault : {Fault::reset, Fault::garbage, Fault::truncate, Fault::stall}) {
    CAPTURE(static_cast<int>(fault));
    FaultProxy proxy([fault](int) { return fault; });
    auto r = verify_report(pki.dir, good, pki.ca, pki.root,
                           {"--at", std::to_string(kT0), "--revocation", "crl", "--timeout", "2s"},
                           {{"http_proxy", proxy.url()}, {"no_proxy", ""}, {"NO_PROXY", ""}});
    CHECK(proxy.requests() >= 1);  // it went through the proxy
    CHECK(r["valid"] == false);
    CHECK(r["error"] == "revocation_unavailable");
    CHECK(r["revocation"][0]["status"] == "unavailable");
    CHECK(r["revocation"][0]["source"] == pki.server.url("/ca.crl"));
    CHECK_FALSE(r["revocation"][0].value("error", "").empty());
  }
  // A slow answer is only slow.
  FaultProxy proxy([](int) { return Fault::delay; });
  auto r = verify_report(pki.dir, good, pki.ca, pki.root,
                         {"--at", std::to_string(kT0), "--revocation", "crl", "--timeout", "5s"},
                         {{"http_proxy", proxy.url()}, {"no_proxy", ""}, {"NO_PROXY", ""}});
  CHECK(r["valid"] == true);
  CHECK(proxy.faults().contains(Fault::delay));
}

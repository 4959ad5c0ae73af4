// `certkeeper verify` end to end over a test PKI made here, with fixed dates
// around kT0 (2026-01-01) and every verification at kT0 (--at): good, expired,
// not yet valid, wrong EKU, name constrained, wrong host, weak key, SHA-1,
// cross-signed roots, and the paths plain OpenSSL does not find.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/keys.h"
#include "tests/support/test_support.h"
#include "tests/validator/specs.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

namespace {

// Files in a temp dir, and `certkeeper verify --json` over them at kT0.
struct Verifier {
  TempDir dir;
  int files = 0;

  std::string file(const std::vector<const Issued*>& certs) {
    std::string pem;
    for (const auto* c : certs) {
      pem += c->cert_pem();
    }
    const auto path = dir.path() / ("f" + std::to_string(++files) + ".pem");
    write_text(path, pem);
    return path.string();
  }

  struct Outcome {
    int exit_code;
    json report;
    std::string err;
  };
  Outcome verify(const Issued& leaf, const std::vector<const Issued*>& untrusted,
                 const std::vector<const Issued*>& roots, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "verify",  "--leaf",    file({&leaf}), "--untrusted",       file(untrusted),
        "--roots", file(roots), "--at",        std::to_string(kT0), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = certkeeper(args);
    json report = json::parse(r.out, nullptr, false);
    return {r.exit_code, report, r.err};
  }
};

std::string error_of(const Verifier::Outcome& o) {
  return o.report.is_object() ? o.report.value("error", "?") : "(no JSON: " + o.err + ")";
}

}  // namespace

TEST_CASE("verify: one PKI, one case per rule, named by the expected code") {
  const Issued root = TestPki::make(ca_spec("Validator Root"), nullptr);
  const Issued inter = TestPki::make(ca_spec("Validator Intermediate", 0), &root);
  Verifier v;
  struct Case {
    std::string name;
    Issued leaf;
    std::string expected;  // "" = valid
    std::vector<std::string> extra;
  };
  auto with = [](std::function<void(CertificateSpec&)> change) {
    CertificateSpec spec = leaf_spec({"www.example.test"});
    change(spec);
    return spec;
  };
  std::vector<Case> cases;
  cases.push_back({"good_leaf",
                   TestPki::make(leaf_spec({"www.example.test"}), &inter),
                   "",
                   {"--hostname", "www.example.test"}});
  cases.push_back({"good_wildcard",
                   TestPki::make(leaf_spec({"*.example.test"}), &inter),
                   "",
                   {"--hostname", "a.example.test"}});
  cases.push_back({"bad_wrong_hostname",
                   TestPki::make(leaf_spec({"www.example.test"}), &inter),
                   "hostname_mismatch",
                   {"--hostname", "mail.example.test"}});
  cases.push_back({"good_ip",
                   TestPki::make(with([](auto& s) { s.ip_addresses = {"127.0.0.1"}; }), &inter),
                   "",
                   {"--ip", "127.0.0.1"}});
  cases.push_back({"bad_wrong_ip",
                   TestPki::make(with([](auto& s) { s.ip_addresses = {"127.0.0.1"}; }), &inter),
                   "hostname_mismatch",
                   {"--ip", "127.0.0.2"}});
  cases.push_back({"bad_expired",
                   TestPki::make(with([](auto& s) {
                                   s.not_before = kT0 - 100 * kDay;
                                   s.not_after = kT0 - kDay;
                                 }),
                                 &inter),
                   "expired"});
  cases.push_back({"good_expires_this_second",
                   TestPki::make(with([](auto& s) { s.not_after = kT0; }), &inter), ""});
  cases.push_back({"bad_not_yet_valid",
                   TestPki::make(with([](auto& s) { s.not_before = kT0 + kDay; }), &inter),
                   "not_yet_valid"});
  cases.push_back(
      {"bad_client_auth_only",
       TestPki::make(with([](auto& s) { s.extended_key_usage = "clientAuth"; }), &inter),
       "invalid_eku"});
  cases.push_back(
      {"good_client_auth_purpose",
       TestPki::make(with([](auto& s) { s.extended_key_usage = "clientAuth"; }), &inter),
       "",
       {"--purpose", "clientAuth"}});
  cases.push_back({"bad_ca_leaf_that_may_only_sign_certificates",
                   TestPki::make(with([](auto& s) { s.is_ca = true; }), &inter),
                   "invalid_key_usage"});
  cases.push_back({"bad_weak_key",
                   TestPki::make(leaf_spec({"www.example.test"}), &inter,
                                 ossl::PKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                                                              static_cast<size_t>(1024)))),
                   "weak_key"});
  cases.push_back({"bad_sha1_signed",
                   TestPki::make(with([](auto& s) { s.digest = "SHA1"; }), &inter),
                   "weak_signature_algorithm"});
  cases.push_back({"bad_unknown_critical_extension",
                   TestPki::make(with([](auto& s) {
                                   s.extensions = {{"1.3.6.1.4.1.55555.1", "critical,DER:05:00"}};
                                 }),
                                 &inter),
                   "unknown_critical_extension"});
  cases.push_back({"bad_max_depth",
                   TestPki::make(leaf_spec({"www.example.test"}), &inter),
                   "path_length_exceeded",
                   {"--max-depth", "0"}});
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto outcome = v.verify(c.leaf, {&inter}, {&root}, c.extra);
    CHECK(error_of(outcome) == c.expected);
    CHECK(outcome.exit_code == (c.expected.empty() ? 0 : 1));
    if (c.expected.empty()) {
      REQUIRE(outcome.report["chain"].size() == 3);
      CHECK(outcome.report["chain"][2]["trust_anchor"] == true);
      CHECK(outcome.report["chain"][0]["sha256"].get<std::string>().size() == 64);
    }
  }
}

TEST_CASE("verify: issuers and trust") {
  const Issued root = TestPki::make(ca_spec("Validator Root"), nullptr);
  const Issued inter = TestPki::make(ca_spec("Validator Intermediate", 0), &root);
  const Issued leaf = TestPki::make(leaf_spec({"www.example.test"}), &inter);
  const Issued stranger = TestPki::make(ca_spec("Somebody Else's Root"), nullptr);
  Verifier v;

  CHECK(error_of(v.verify(leaf, {}, {&root})) == "missing_intermediate");
  CHECK(error_of(v.verify(leaf, {&inter, &root}, {&stranger})) == "untrusted_root");

  SUBCASE("a chain sent whole whose root is not trusted is an untrusted root, not a gap") {
    // As `verify --leaf fullchain.pem` of a private CA without --roots: the
    // intermediate is there; its issuer, the root, is simply not trusted.
    const Verifier::Outcome outcome = v.verify(leaf, {&inter}, {&stranger});
    CHECK(error_of(outcome) == "untrusted_root");
    CHECK(outcome.report.dump().find("the chain ends at CN=Validator Intermediate,") !=
          std::string::npos);
    // The leaf alone, its intermediate not given: that is a gap.
    CHECK(error_of(v.verify(leaf, {}, {&stranger})) == "missing_intermediate");
    // A self-signed leaf, not trusted: named.
    const Verifier::Outcome self = v.verify(root, {}, {&stranger});
    CHECK(error_of(self) == "untrusted_root");
    CHECK_MESSAGE(
        self.report.dump().find("tests is a self-signed certificate") != std::string::npos,
        self.report.dump());
  }

  SUBCASE("bad_signature: right name and key identifier, wrong key") {
    CertificateSpec impostor = ca_spec("Validator Intermediate", 0);
    impostor.subject_key_id_hex = ossl::hex(std::string(
        reinterpret_cast<const char*>(
            ASN1_STRING_get0_data(X509_get0_subject_key_id(inter.cert.get()))),
        static_cast<size_t>(ASN1_STRING_length(X509_get0_subject_key_id(inter.cert.get())))));
    const Issued fake = TestPki::make(impostor, &root);
    const Issued forged = TestPki::make(leaf_spec({"www.example.test"}), &fake);
    CHECK(error_of(v.verify(forged, {&inter}, {&root})) == "bad_signature");
  }
  SUBCASE("bad: an issuer that is not a CA") {
    CertificateSpec not_ca = ca_spec("Validator Intermediate");
    not_ca.is_ca = false;
    not_ca.key_usage = "digitalSignature,keyCertSign";
    const Issued i = TestPki::make(not_ca, &root);
    const Issued l = TestPki::make(leaf_spec({"www.example.test"}), &i);
    CHECK(error_of(v.verify(l, {&i}, {&root})) == "invalid_basic_constraints");
  }
  SUBCASE("bad: pathLenConstraint 0 with an intermediate below") {
    const Issued lower = TestPki::make(ca_spec("Lower Intermediate"), &inter);
    const Issued l = TestPki::make(leaf_spec({"www.example.test"}), &lower);
    auto o = v.verify(l, {&inter, &lower}, {&root});
    CHECK(error_of(o) == "path_length_exceeded");
  }
  SUBCASE("malformed: a leaf file that does not parse is invalid, not a usage error") {
    write_text(v.dir.path() / "garbage.pem",
               "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    auto r = certkeeper({"verify", "--leaf", (v.dir.path() / "garbage.pem").string(), "--roots",
                         v.file({&root}), "--json"});
    CHECK(r.exit_code == 1);
    CHECK(json::parse(r.out)["error"] == "malformed");
    CHECK(certkeeper({"verify", "--leaf", "/nonexistent.pem"}).exit_code == 2);
    CHECK(certkeeper({"verify", "--leaf", v.file({&leaf}), "--revocation", "maybe"}).exit_code ==
          2);
  }
}

TEST_CASE("verify: name constraints on DNS names and IP addresses") {
  const Issued root = TestPki::make(ca_spec("Validator Root"), nullptr);
  CertificateSpec constrained = ca_spec("Constrained Intermediate", 0);
  constrained.extensions = {
      {"nameConstraints", "critical,permitted;DNS:allowed.test,permitted;IP:10.0.0.0/255.0.0.0"}};
  const Issued inter = TestPki::make(constrained, &root);
  Verifier v;
  auto leaf = [&](std::vector<std::string> dns, std::vector<std::string> ips) {
    CertificateSpec spec = leaf_spec(std::move(dns));
    spec.ip_addresses = std::move(ips);
    return TestPki::make(spec, &inter);
  };
  CHECK(error_of(v.verify(leaf({"www.allowed.test"}, {}), {&inter}, {&root})) == "");
  CHECK(error_of(v.verify(leaf({"www.other.test"}, {}), {&inter}, {&root})) ==
        "name_constraint_violation");
  CHECK(error_of(v.verify(leaf({"www.allowed.test"}, {"10.1.2.3"}), {&inter}, {&root})) == "");
  CHECK(error_of(v.verify(leaf({"www.allowed.test"}, {"192.168.1.1"}), {&inter}, {&root})) ==
        "name_constraint_violation");
}

TEST_CASE("verify: cross-signed roots, both ways up") {
  const Issued old_root = TestPki::make(ca_spec("Old Root"), nullptr);
  const Issued new_root = TestPki::make(ca_spec("New Root"), nullptr);
  // New Root's name and key, signed by Old Root: the cross-sign.
  CertificateSpec cross_spec = ca_spec("New Root");
  const Issued cross{ossl::PKey(), [&] {
                       auto cert = build_certificate(cross_spec, *new_root.key, old_root.cert.get(),
                                                     *old_root.key);
                       REQUIRE(cert);
                       return std::move(*cert);
                     }()};
  const Issued inter = TestPki::make(ca_spec("Issuing CA", 0), &new_root);
  const Issued leaf = TestPki::make(leaf_spec({"www.example.test"}), &inter);
  Verifier v;

  auto via_new = v.verify(leaf, {&inter, &cross}, {&new_root});
  CHECK(error_of(via_new) == "");
  CHECK(via_new.report["chain"].size() == 3);  // the shorter path, to the new root itself

  auto via_old = v.verify(leaf, {&inter, &cross}, {&old_root});
  CHECK(error_of(via_old) == "");
  REQUIRE(via_old.report["chain"].size() == 4);
  CHECK(via_old.report["chain"][3]["subject"].get<std::string>().find("Old Root") !=
        std::string::npos);

  SUBCASE("bad: an expired cross-sign is reported when it is the only way up") {
    cross_spec.not_after = kT0 - kDay;
    auto expired = build_certificate(cross_spec, *new_root.key, old_root.cert.get(), *old_root.key);
    REQUIRE(expired);
    const Issued expired_cross{ossl::PKey(), std::move(*expired)};
    CHECK(error_of(v.verify(leaf, {&inter, &expired_cross}, {&old_root})) == "expired");
    // ...and skipped when the new root is trusted too.
    CHECK(error_of(v.verify(leaf, {&inter, &expired_cross}, {&old_root, &new_root})) == "");
  }
}

TEST_CASE("verify: backtracking finds the path plain OpenSSL misses") {
  // Two certificates for one intermediate (same name, same key): the first in
  // the bundle leads to a root nobody trusts, the second to the trusted one.
  const Issued trusted = TestPki::make(ca_spec("Trusted Root"), nullptr);
  const Issued dead_end = TestPki::make(ca_spec("Retired Root"), nullptr);
  const Issued inter = TestPki::make(ca_spec("Issuing CA", 0), &dead_end);
  auto reissued =
      build_certificate(ca_spec("Issuing CA", 0), *inter.key, trusted.cert.get(), *trusted.key);
  REQUIRE(reissued);
  const Issued inter_trusted{ossl::PKey(), std::move(*reissued)};
  const Issued leaf = TestPki::make(leaf_spec({"www.example.test"}), &inter);
  Verifier v;

  auto ours = v.verify(leaf, {&inter, &inter_trusted}, {&trusted});
  CHECK(error_of(ours) == "");
  CHECK(ours.report["paths_considered"].get<int>() >= 2);

  auto openssl =
      run({"openssl", "verify", "-attime", std::to_string(kT0), "-CAfile", v.file({&trusted}),
           "-untrusted", v.file({&inter, &inter_trusted}), v.file({&leaf})});
  CAPTURE(openssl.out + openssl.err);
  CHECK(openssl.exit_code != 0);  // what this test shows certkeeper does better
}

TEST_CASE("verify: a root with extendedKeyUsage, from the system's store and from --roots") {
  CertificateSpec root_spec = ca_spec("Root With EKU");
  root_spec.extended_key_usage = "serverAuth";
  const Issued root = TestPki::make(root_spec, nullptr);
  const Issued plain_root = TestPki::make(ca_spec("Root Without EKU"), nullptr);
  Verifier v;
  for (const Issued* anchor : {&root, &plain_root}) {
    CAPTURE(anchor->cert_pem());
    const Issued leaf = TestPki::make(leaf_spec({"www.example.test"}), anchor);
    const std::string bundle = v.file({anchor});
    // No --roots: the system's store, here $SSL_CERT_FILE.
    auto system = run({certkeeper_binary(), "verify", "--leaf", v.file({&leaf}), "--at",
                       std::to_string(kT0), "--json"},
                      {{"SSL_CERT_FILE", bundle}});
    const json report = json::parse(system.out, nullptr, false);
    REQUIRE_MESSAGE(report.is_object(), system.err);
    const bool has_eku = anchor == &root;
    CHECK(system.exit_code == (has_eku ? 1 : 0));
    CHECK(report.value("error", "?") == (has_eku ? "invalid_eku" : ""));
    // The same root given by the operator: a private PKI's, its EKU a constraint met.
    auto given = v.verify(leaf, {}, {anchor});
    CHECK(given.exit_code == 0);
    CHECK(error_of(given) == "");
  }
}

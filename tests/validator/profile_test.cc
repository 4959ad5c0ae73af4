// The strict RFC 5280 and CA/Browser Forum profile end to end: one table of
// generated chains (root, intermediate, leaf), each bad case beside its good
// twin, through `certkeeper verify --at kT0 --json`. A bad case names the code
// and the certificate it is found in (0 leaf, 1 intermediate, 2 root).

#include <doctest/doctest.h>

#include <openssl/core_names.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"
#include "tests/validator/specs.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;

namespace {

using Change = std::function<void(CertificateSpec&)>;

struct ProfileCase {
  std::string name;
  std::string expected;  // "" = valid
  int at = -1;           // where the finding is: 0 leaf, 1 intermediate, 2 root
  Change root = nullptr;
  Change inter = nullptr;
  Change leaf = nullptr;
  bool explicit_curve_leaf = false;
};

// A P-256 key whose SubjectPublicKeyInfo spells the curve out (RFC 5480 forbids it).
ossl::PKey explicit_curve_key() {
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  char group[] = "P-256";
  char encoding[] = "explicit";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, encoding, 0), OSSL_PARAM_END};
  EVP_PKEY* key = nullptr;
  REQUIRE(ctx);
  REQUIRE(EVP_PKEY_keygen_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_params(ctx.get(), params) == 1);
  REQUIRE(EVP_PKEY_generate(ctx.get(), &key) == 1);
  return ossl::PKey(key);
}

struct Outcome {
  std::string error;
  json findings;
  std::string text;
};

Outcome verify(TempDir& dir, const Issued& root, const Issued& inter, const Issued& end,
               const std::vector<std::string>& extra = {}) {
  write_text(dir.path() / "leaf.pem", end.cert_pem());
  write_text(dir.path() / "inter.pem", inter.cert_pem());
  write_text(dir.path() / "root.pem", root.cert_pem());
  std::vector<std::string> args{"verify",
                                "--leaf",
                                (dir.path() / "leaf.pem").string(),
                                "--untrusted",
                                (dir.path() / "inter.pem").string(),
                                "--roots",
                                (dir.path() / "root.pem").string(),
                                "--at",
                                std::to_string(kT0),
                                "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = certkeeper(args);
  const json report = json::parse(r.out, nullptr, false);
  if (!report.is_object()) {
    return {"(no JSON: " + r.err + ")", json::array(), r.out + r.err};
  }
  return {report.value("error", ""), report.value("findings", json::array()), report.dump()};
}

bool found_at(const json& findings, const std::string& code, int at) {
  for (const auto& f : findings) {
    if (f["code"] == code && f["certificate"] == at) {
      return true;
    }
  }
  return false;
}

std::string many_names(const std::string& prefix, int count, const std::string& separator) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    out += (i == 0 ? "" : separator) + prefix + std::to_string(i) + ".test";
  }
  return out;
}

std::vector<ProfileCase> cases() {
  const std::string dir_config = "[dir]\nO = Permitted Org\n";
  auto nc = [](std::string value, std::string config = "") {
    return [value, config](CertificateSpec& s) {
      s.extensions.emplace_back("nameConstraints", value);
      s.config = config;
    };
  };
  auto cn = [](std::string name) { return [name](CertificateSpec& s) { s.common_name = name; }; };
  auto ip_leaf = [](std::string ip, std::string common_name) {
    return [ip, common_name](CertificateSpec& s) {
      s.dns_names.clear();
      s.ip_addresses = {ip};
      s.common_name = common_name;
    };
  };
  auto names = [](std::vector<std::string> dns) {
    return [dns](CertificateSpec& s) {
      s.dns_names = dns;
      s.common_name = dns.front();
    };
  };
  return {
      {"good_leaf", ""},
      // Key identifiers (RFC 5280 §4.2.1.1, §4.2.1.2; BR §7.1.2.1.3).
      {"bad_leaf_without_aki", "invalid_key_identifier", 0, nullptr, nullptr,
       [](auto& s) { s.authority_key_id = "-"; }},
      {"bad_leaf_aki_critical", "invalid_key_identifier", 0, nullptr, nullptr,
       [](auto& s) { s.authority_key_id = "critical,keyid:always"; }},
      {"bad_intermediate_without_ski", "invalid_key_identifier", 1, nullptr,
       [](auto& s) { s.subject_key_id_hex = "-"; }, [](auto& s) { s.authority_key_id = "-"; }},
      {"bad_intermediate_ski_critical", "invalid_key_identifier", 1, nullptr,
       [](auto& s) { s.subject_key_id_hex = "critical,hash"; }},
      {"bad_intermediate_without_aki", "invalid_key_identifier", 1, nullptr,
       [](auto& s) { s.authority_key_id = "-"; }},
      {"good_root_without_aki", "", -1, [](auto& s) { s.authority_key_id = "-"; }},
      {"bad_root_aki_names_issuer_and_serial", "invalid_key_identifier", 2,
       [](auto& s) { s.authority_key_id = "keyid:always,issuer:always"; }},
      {"bad_root_aki_another_key", "invalid_key_identifier", 2,
       [](auto& s) { s.authority_key_id = "DER:30:06:80:04:01:02:03:04"; }},
      {"bad_root_without_ski", "invalid_key_identifier", 2,
       [](auto& s) {
         s.subject_key_id_hex = "-";
         s.authority_key_id = "-";
       },
       [](auto& s) { s.authority_key_id = "-"; }},
      // Subject and SAN (RFC 5280 §4.1.2.6, §4.2.1.6; BR §7.1.2.7.12, §7.1.4.2).
      {"bad_ca_with_empty_subject", "invalid_name", 1, nullptr,
       [](auto& s) {
         s.common_name.clear();
         s.organization.clear();
       }},
      {"good_empty_subject_critical_san", "", -1, nullptr, nullptr, cn("")},
      {"bad_empty_subject_san_not_critical", "invalid_name", 0, nullptr, nullptr,
       [](auto& s) {
         s.common_name.clear();
         s.san_critical = false;
       }},
      {"bad_subject_with_critical_san", "invalid_name", 0, nullptr, nullptr,
       [](auto& s) { s.san_critical = true; }},
      {"bad_underscore_in_dns_name", "invalid_name", 0, nullptr, nullptr,
       names({"a_b.example.test"})},
      {"bad_zero_serial", "malformed", 0, nullptr, nullptr, [](auto& s) { s.serial_hex = "0"; }},
      {"bad_negative_serial", "malformed", 0, nullptr, nullptr,
       [](auto& s) { s.serial_hex = "-1F"; }},
      // Common name (BR §7.1.4.3): one of the SANs, character for character.
      {"bad_common_name_case", "invalid_name", 0, nullptr, nullptr, cn("WWW.example.test")},
      {"bad_common_name_not_a_san", "invalid_name", 0, nullptr, nullptr, cn("mail.example.test")},
      {"good_common_name_ipv4", "", -1, nullptr, nullptr, ip_leaf("127.0.0.1", "127.0.0.1")},
      {"bad_common_name_ipv4_leading_zeros", "invalid_name", 0, nullptr, nullptr,
       ip_leaf("127.0.0.1", "127.000.000.001")},
      {"good_common_name_ipv6", "", -1, nullptr, nullptr, ip_leaf("2001:db8::1", "2001:db8::1")},
      {"bad_common_name_ipv6_not_rfc5952", "invalid_name", 0, nullptr, nullptr,
       ip_leaf("2001:db8::1", "2001:DB8:0:0:0:0:0:1")},
      {"good_common_name_a_label", "", -1, nullptr, nullptr, names({"xn--bcher-kva.example.test"})},
      {"bad_common_name_u_label", "invalid_name", 0, nullptr, nullptr,
       [](auto& s) {
         s.dns_names = {"xn--bcher-kva.example.test"};
         s.common_name =
             "b\xc3\xbc"
             "cher.example.test";
       }},
      // Extended key usage (BR §7.1.2.7.10; RFC 5280 §4.2.1.12).
      {"bad_leaf_any_eku", "invalid_eku", 0, nullptr, nullptr,
       [](auto& s) { s.extended_key_usage = "serverAuth,anyExtendedKeyUsage"; }},
      {"bad_leaf_eku_critical", "invalid_eku", 0, nullptr, nullptr,
       [](auto& s) { s.extended_key_usage = "critical,serverAuth"; }},
      {"good_leaf_without_eku", "", -1, nullptr, nullptr,
       [](auto& s) { s.extended_key_usage = "-"; }},
      {"good_root_eku_that_allows_the_purpose", "", -1,
       [](auto& s) { s.extended_key_usage = "serverAuth,clientAuth"; }},
      {"bad_root_eku_without_the_purpose", "invalid_eku", 2,
       [](auto& s) { s.extended_key_usage = "clientAuth"; }},
      // Key usage (RFC 5280 §4.2.1.3), and a CA as the end entity.
      {"bad_leaf_not_ca_with_key_cert_sign", "invalid_key_usage", 0, nullptr, nullptr,
       [](auto& s) { s.key_usage = "critical,digitalSignature,keyCertSign"; }},
      {"good_ca_as_end_entity_with_pathlen", "", -1, nullptr, nullptr,
       [](auto& s) {
         s.is_ca = true;
         s.path_length = 0;
         s.key_usage = "critical,digitalSignature,keyCertSign";
       }},
      // Trust anchors with extensions (RFC 5280 §4.2.1.9).
      {"bad_root_basic_constraints_not_critical", "invalid_basic_constraints", 2,
       [](auto& s) { s.basic_constraints = "CA:TRUE"; }},
      {"bad_root_without_basic_constraints", "invalid_basic_constraints", 2,
       [](auto& s) { s.basic_constraints = "-"; }},
      {"bad_root_key_cert_sign_without_ca", "invalid_basic_constraints", 2,
       [](auto& s) { s.basic_constraints = "critical,CA:FALSE"; }},
      {"bad_root_unknown_critical_extension", "unknown_critical_extension", 2,
       [](auto& s) {
         s.extensions = {{"1.3.6.1.4.1.55555.1", "critical,DER:05:00"}};
       }},
      // Name constraints (RFC 5280 §4.2.1.10).
      {"good_name_constraints", "", -1, nullptr, nc("critical,permitted;DNS:example.test")},
      {"bad_name_constraints_in_a_leaf", "invalid_name_constraints", 0, nullptr, nullptr,
       nc("critical,permitted;DNS:example.test")},
      {"bad_name_constraints_not_critical", "invalid_name_constraints", 1, nullptr,
       nc("permitted;DNS:example.test")},
      {"bad_dns_constraint_not_a_name", "invalid_name_constraints", 1, nullptr,
       nc("critical,permitted;DNS:*.example.test")},
      {"bad_ip_constraint_mask_not_contiguous", "invalid_name_constraints", 1, nullptr,
       nc("critical,permitted;IP:10.0.0.0/255.0.255.0")},
      {"bad_san_not_a_name_under_constraints", "invalid_name", 0, nullptr,
       nc("critical,permitted;DNS:example.test"), names({"-bad.example.test"})},
      {"bad_wildcard_may_stand_for_an_excluded_name", "name_constraint_violation", 0, nullptr,
       nc("critical,excluded;DNS:bad.example.test"), names({"*.example.test"})},
      {"good_wildcard_beside_an_exclusion_deeper_down", "", -1, nullptr,
       nc("critical,excluded;DNS:a.bad.example.test"), names({"*.example.test"})},
      {"good_directory_name_permitted", "", -1, nullptr,
       nc("critical,permitted;dirName:dir", dir_config),
       [](auto& s) { s.organization = "Permitted Org"; }},
      {"bad_directory_name_not_permitted", "name_constraint_violation", 0, nullptr,
       nc("critical,permitted;dirName:dir", dir_config),
       [](auto& s) { s.organization = "Other Org"; }},
      {"bad_directory_name_excluded", "name_constraint_violation", 0, nullptr,
       nc("critical,excluded;dirName:dir", dir_config),
       [](auto& s) { s.organization = "permitted   ORG"; }},  // compared folded (RFC 5280 §7.1)
      {"good_email_constraint_on_a_certificate_without_email", "", -1, nullptr,
       nc("critical,permitted;email:example.test")},
      {"bad_email_constraint_on_an_email_name", "name_constraint_violation", 0, nullptr,
       nc("critical,permitted;email:example.test"),
       [](auto& s) {
         s.dns_names.clear();
         s.extensions = {{"subjectAltName", "DNS:www.example.test,email:a@example.test"}};
       }},
      {"bad_name_constraints_too_complex", "name_constraints_too_complex", 1, nullptr,
       nc("critical,excluded;DNS:" + many_names("x", 1000, ",excluded;DNS:")),
       [](auto& s) {
         s.dns_names.clear();
         for (int i = 0; i < 300; ++i) {
           s.dns_names.push_back("n" + std::to_string(i) + ".example.test");
         }
         s.common_name = s.dns_names.front();
       }},
      // Policy constraints (RFC 5280 §4.2.1.11), keys (RFC 5480), malformed extensions.
      {"good_policy_constraints_critical", "", -1, nullptr,
       [](auto& s) {
         s.extensions = {{"policyConstraints", "critical,requireExplicitPolicy:5"}};
       }},
      {"bad_policy_constraints_not_critical", "malformed", 1, nullptr,
       [](auto& s) {
         s.extensions = {{"policyConstraints", "requireExplicitPolicy:5"}};
       }},
      {"bad_explicit_curve_parameters", "weak_key", 0, nullptr, nullptr, nullptr, true},
      {"good_authority_information_access", "", -1, nullptr, nullptr,
       [](auto& s) {
         s.extensions = {{"authorityInfoAccess", "OCSP;URI:http://127.0.0.1:9/"}};
       }},
      {"bad_authority_information_access_does_not_parse", "malformed", 0, nullptr, nullptr,
       [](auto& s) {
         s.extensions = {{"authorityInfoAccess", "DER:01:01:ff"}};
       }},
  };
}

}  // namespace

TEST_CASE("verify: the strict profile, each rule's bad case beside its good twin") {
  TempDir dir;
  for (const ProfileCase& c : cases()) {
    CAPTURE(c.name);
    CertificateSpec root_spec = ca_spec("Profile Root");
    CertificateSpec inter_spec = ca_spec("Profile Intermediate");
    CertificateSpec end_spec = leaf_spec({"www.example.test"});
    for (auto [change, spec] : {std::pair{&c.root, &root_spec}, std::pair{&c.inter, &inter_spec},
                                std::pair{&c.leaf, &end_spec}}) {
      if (*change) {
        (*change)(*spec);
      }
    }
    const Issued root = TestPki::make(root_spec, nullptr);
    const Issued inter = TestPki::make(inter_spec, &root);
    const Issued end = c.explicit_curve_leaf ? TestPki::make(end_spec, &inter, explicit_curve_key())
                                             : TestPki::make(end_spec, &inter);
    const Outcome outcome = verify(dir, root, inter, end);
    CHECK_MESSAGE(outcome.error == c.expected, outcome.text);
    if (!c.expected.empty()) {
      CHECK_MESSAGE(found_at(outcome.findings, c.expected, c.at), outcome.text);
    }
  }
}

TEST_CASE("verify: self-issued intermediates do not count toward --max-depth") {
  // Root -> Intermediate -> Intermediate again (same name, a new key: a key
  // rollover certificate) -> leaf. One intermediate counts.
  TempDir dir;
  const Issued root = TestPki::make(ca_spec("Profile Root"), nullptr);
  const Issued inter = TestPki::make(ca_spec("Profile Intermediate"), &root);
  const Issued rolled = TestPki::make(ca_spec("Profile Intermediate"), &inter);
  const Issued end = TestPki::make(leaf_spec({"www.example.test"}), &rolled);
  write_text(dir.path() / "bundle.pem", inter.cert_pem() + rolled.cert_pem());
  write_text(dir.path() / "leaf.pem", end.cert_pem());
  write_text(dir.path() / "root.pem", root.cert_pem());
  auto verify_depth = [&](const std::string& depth) {
    auto r = certkeeper({"verify", "--leaf", (dir.path() / "leaf.pem").string(), "--untrusted",
                         (dir.path() / "bundle.pem").string(), "--roots",
                         (dir.path() / "root.pem").string(), "--at", std::to_string(kT0),
                         "--max-depth", depth, "--json"});
    return json::parse(r.out).value("error", "?");
  };
  CHECK(verify_depth("1") == "");
  CHECK(verify_depth("0") == "path_length_exceeded");
}

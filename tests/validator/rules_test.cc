// The verification rules as pure functions: tables of hand-written facts whose
// case names carry the expectation.

#include <doctest/doctest.h>

#include <functional>

#include "validator/public_suffix.h"
#include "validator/rules.h"

using namespace ck;
using namespace ck::validator;

namespace {

CertificateFacts leaf_facts() {
  CertificateFacts c;
  c.info.not_before = 1000;
  c.info.not_after = 2000;
  c.info.dns_names = {"www.example.com"};
  c.has_extensions = true;
  c.subject_dn = {{"2.5.4.3=www.example.com"}};
  c.common_names = {"www.example.com"};
  c.has_san = true;
  c.info.authority_key_id = "a1a1";
  c.has_authority_key_id = true;
  c.serial_octets = 16;
  c.has_key_usage = true;
  c.key_usage = kKeyUsageDigitalSignature;
  c.has_extended_key_usage = true;
  c.extended_key_usage = {std::string(kOidServerAuth)};
  c.key_algorithm = "ec";
  c.key_curve = "P-256";
  c.key_bits = 256;
  c.signature_digest = "sha256";
  return c;
}

CertificateFacts ca_facts() {
  CertificateFacts c = leaf_facts();
  c.info.dns_names.clear();
  c.has_san = false;
  c.subject_dn = {{"2.5.4.10=example ca"}};
  c.common_names.clear();
  c.info.subject_key_id = "b2b2";
  c.has_basic_constraints = true;
  c.basic_constraints_critical = true;
  c.is_ca = true;
  c.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign;
  c.has_extended_key_usage = false;
  c.extended_key_usage.clear();
  return c;
}

struct Case {
  const char* name;
  std::function<void(CertificateFacts&)> change;
  VerifyCode expected;  // ok: no finding
};

VerifyCode code_of(const std::optional<Finding>& f) {
  return f ? f->code : VerifyCode::ok;
}

std::string raw_ip(std::initializer_list<unsigned char> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("validity: notBefore and notAfter are both inclusive (RFC 5280 §4.1.2.5)") {
  const CertificateFacts c = leaf_facts();
  CHECK(code_of(check_validity(c, 999)) == VerifyCode::not_yet_valid);
  CHECK(code_of(check_validity(c, 1000)) == VerifyCode::ok);
  CHECK(code_of(check_validity(c, 2000)) == VerifyCode::ok);
  CHECK(code_of(check_validity(c, 2001)) == VerifyCode::expired);
}

TEST_CASE("encoding, key and signature rules on one certificate") {
  const Case cases[] = {
      {"good_leaf", [](CertificateFacts&) {}, VerifyCode::ok},
      {"good_serial_20_octets", [](CertificateFacts& c) { c.serial_octets = 20; }, VerifyCode::ok},
      {"bad_serial_21_octets", [](CertificateFacts& c) { c.serial_octets = 21; },
       VerifyCode::malformed},
      {"bad_serial_zero", [](CertificateFacts& c) { c.serial_zero = true; }, VerifyCode::malformed},
      {"bad_serial_negative", [](CertificateFacts& c) { c.serial_negative = true; },
       VerifyCode::malformed},
      {"bad_version_1", [](CertificateFacts& c) { c.version = 1; }, VerifyCode::malformed},
      {"bad_repeated_extension", [](CertificateFacts& c) { c.invalid_extensions = true; },
       VerifyCode::malformed},
      {"bad_algorithm_fields_differ",
       [](CertificateFacts& c) { c.signature_algorithm_mismatch = true; }, VerifyCode::malformed},
      {"good_rsa_2048",
       [](CertificateFacts& c) {
         c.key_algorithm = "rsa";
         c.key_bits = 2048;
       },
       VerifyCode::ok},
      {"bad_rsa_1024",
       [](CertificateFacts& c) {
         c.key_algorithm = "rsa";
         c.key_bits = 1024;
       },
       VerifyCode::weak_key},
      {"bad_rsa_2049",
       [](CertificateFacts& c) {
         c.key_algorithm = "rsa";
         c.key_bits = 2049;
       },
       VerifyCode::weak_key},
      {"good_p384", [](CertificateFacts& c) { c.key_curve = "P-384"; }, VerifyCode::ok},
      {"bad_curve_secp256k1", [](CertificateFacts& c) { c.key_curve = "secp256k1"; },
       VerifyCode::weak_key},
      {"bad_dsa", [](CertificateFacts& c) { c.key_algorithm = "dsa"; }, VerifyCode::weak_key},
      {"good_ed25519",
       [](CertificateFacts& c) {
         c.key_algorithm = "ed25519";
         c.signature_digest = "";
       },
       VerifyCode::ok},
      {"bad_sha1", [](CertificateFacts& c) { c.signature_digest = "sha1"; },
       VerifyCode::weak_signature_algorithm},
      {"bad_md5", [](CertificateFacts& c) { c.signature_digest = "md5"; },
       VerifyCode::weak_signature_algorithm},
      {"bad_unknown_critical",
       [](CertificateFacts& c) { c.unknown_critical_extensions = {"1.2.3.4"}; },
       VerifyCode::unknown_critical_extension},
      {"bad_aia_does_not_decode",
       [](CertificateFacts& c) { c.undecodable_extensions = {"1.3.6.1.5.5.7.1.1"}; },
       VerifyCode::malformed},
      {"good_policy_constraints_critical",
       [](CertificateFacts& c) {
         c.has_policy_constraints = true;
         c.policy_constraints_critical = true;
       },
       VerifyCode::ok},
      {"bad_policy_constraints_not_critical",
       [](CertificateFacts& c) { c.has_policy_constraints = true; }, VerifyCode::malformed},
      {"bad_ec_explicit_parameters", [](CertificateFacts& c) { c.ec_explicit_parameters = true; },
       VerifyCode::weak_key},
  };
  for (const Case& test : cases) {
    CAPTURE(test.name);
    CertificateFacts c = leaf_facts();
    test.change(c);
    std::vector<Finding> found;
    for (auto f : {check_encoding(c), check_key_strength(c), check_signature_algorithm(c),
                   check_extensions(c)}) {
      if (f) {
        found.push_back(*f);
      }
    }
    CHECK(most_severe(found) == test.expected);
  }
}

TEST_CASE("the end entity and its issuers: basic constraints, key usage, EKU") {
  const Case leaves[] = {
      {"good_server_leaf", [](CertificateFacts&) {}, VerifyCode::ok},
      {"good_ca_as_end_entity_signing",
       [](CertificateFacts& c) {
         c.is_ca = true;
         c.key_usage = kKeyUsageDigitalSignature | kKeyUsageKeyCertSign;
       },
       VerifyCode::ok},
      {"bad_ca_as_end_entity_cert_sign_only",
       [](CertificateFacts& c) {
         c.is_ca = true;
         c.key_usage = kKeyUsageKeyCertSign;
       },
       VerifyCode::invalid_key_usage},
      {"bad_ca_as_end_entity_client_auth_only",
       [](CertificateFacts& c) {
         c.is_ca = true;
         c.extended_key_usage = {std::string(kOidClientAuth)};
       },
       VerifyCode::invalid_eku},
      {"bad_leaf_key_usage_cert_sign_only",
       [](CertificateFacts& c) { c.key_usage = kKeyUsageKeyCertSign; },
       VerifyCode::invalid_key_usage},
      {"bad_not_ca_with_key_cert_sign",
       [](CertificateFacts& c) { c.key_usage = kKeyUsageDigitalSignature | kKeyUsageKeyCertSign; },
       VerifyCode::invalid_key_usage},
      {"good_leaf_without_key_usage", [](CertificateFacts& c) { c.has_key_usage = false; },
       VerifyCode::ok},
      {"good_leaf_without_eku_serves_any_purpose",
       [](CertificateFacts& c) { c.has_extended_key_usage = false; }, VerifyCode::ok},
      {"bad_leaf_client_auth_only",
       [](CertificateFacts& c) { c.extended_key_usage = {std::string(kOidClientAuth)}; },
       VerifyCode::invalid_eku},
      {"bad_leaf_any_eku_only",
       [](CertificateFacts& c) { c.extended_key_usage = {std::string(kOidAnyExtendedKeyUsage)}; },
       VerifyCode::invalid_eku},
      {"bad_leaf_any_eku_beside_server_auth",
       [](CertificateFacts& c) {
         c.extended_key_usage.push_back(std::string(kOidAnyExtendedKeyUsage));
       },
       VerifyCode::invalid_eku},
      {"bad_leaf_eku_critical", [](CertificateFacts& c) { c.extended_key_usage_critical = true; },
       VerifyCode::invalid_eku},
  };
  for (const Case& test : leaves) {
    CAPTURE(test.name);
    CertificateFacts c = leaf_facts();
    test.change(c);
    CHECK(code_of(check_end_entity(c, Purpose::server_auth)) == test.expected);
  }
  const Case issuers[] = {
      {"good_ca", [](CertificateFacts&) {}, VerifyCode::ok},
      {"bad_ca_false", [](CertificateFacts& c) { c.is_ca = false; },
       VerifyCode::invalid_basic_constraints},
      {"bad_no_basic_constraints",
       [](CertificateFacts& c) {
         c.is_ca = false;
         c.has_basic_constraints = false;
       },
       VerifyCode::invalid_basic_constraints},
      {"bad_no_key_cert_sign", [](CertificateFacts& c) { c.key_usage = kKeyUsageCrlSign; },
       VerifyCode::invalid_key_usage},
      {"good_ca_eku_server_auth",
       [](CertificateFacts& c) {
         c.has_extended_key_usage = true;
         c.extended_key_usage = {std::string(kOidServerAuth)};
       },
       VerifyCode::ok},
      {"good_ca_any_eku",
       [](CertificateFacts& c) {
         c.has_extended_key_usage = true;
         c.extended_key_usage = {std::string(kOidAnyExtendedKeyUsage)};
       },
       VerifyCode::ok},
      {"bad_ca_eku_client_only",
       [](CertificateFacts& c) {
         c.has_extended_key_usage = true;
         c.extended_key_usage = {std::string(kOidClientAuth)};
       },
       VerifyCode::invalid_eku},
  };
  for (const Case& test : issuers) {
    CAPTURE(test.name);
    CertificateFacts c = ca_facts();
    test.change(c);
    CHECK(code_of(check_issuer(c, Purpose::server_auth)) == test.expected);
  }
}

TEST_CASE("path length: pathLenConstraint counts non-self-issued intermediates (RFC 5280 §6.1.4)") {
  CertificateFacts leaf = leaf_facts();
  CertificateFacts i1 = ca_facts();
  CertificateFacts i2 = ca_facts();
  CertificateFacts root = ca_facts();
  std::vector<const CertificateFacts*> path{&leaf, &i1, &i2, &root};

  SUBCASE("good_no_constraints") {
    CHECK(code_of(check_path_length(path, -1)) == VerifyCode::ok);
  }
  SUBCASE("good_pathlen_1_above_one_intermediate") {
    i2.path_length = 1;
    CHECK(code_of(check_path_length(path, -1)) == VerifyCode::ok);
  }
  SUBCASE("bad_pathlen_0_above_one_intermediate") {
    i2.path_length = 0;
    auto f = check_path_length(path, -1);
    CHECK(code_of(f) == VerifyCode::path_length_exceeded);
    CHECK(f->certificate == 2);
  }
  SUBCASE("good_pathlen_0_when_the_intermediate_below_is_self_issued") {
    i2.path_length = 0;
    i1.info.self_issued = true;  // a key rollover certificate does not count
    CHECK(code_of(check_path_length(path, -1)) == VerifyCode::ok);
  }
  SUBCASE("good_pathlen_0_directly_above_the_leaf") {
    i1.path_length = 0;
    CHECK(code_of(check_path_length(path, -1)) == VerifyCode::ok);
  }
  SUBCASE("bad_max_depth_1_with_two_intermediates") {
    CHECK(code_of(check_path_length(path, 1)) == VerifyCode::path_length_exceeded);
    CHECK(code_of(check_path_length(path, 2)) == VerifyCode::ok);
  }
  SUBCASE("good_max_depth_1_when_one_intermediate_is_self_issued") {
    i2.info.self_issued = true;
    CHECK(code_of(check_path_length(path, 1)) == VerifyCode::ok);
    CHECK(code_of(check_path_length(path, 0)) == VerifyCode::path_length_exceeded);
  }
  SUBCASE("good_the_leafs_own_pathlen_is_ignored") {
    leaf.is_ca = true;  // a CA as the end entity, two intermediates above it
    leaf.path_length = 0;
    CHECK(code_of(check_path_length(path, -1)) == VerifyCode::ok);
  }
}

TEST_CASE("key identifiers (RFC 5280 §4.2.1.1, §4.2.1.2; BR §7.1.2.1.3)") {
  struct KeyIdCase {
    const char* name;
    bool ca;
    bool root;
    std::function<void(CertificateFacts&)> change;
    VerifyCode expected;
  };
  const KeyIdCase cases[] = {
      {"good_leaf", false, false, [](CertificateFacts&) {}, VerifyCode::ok},
      {"bad_leaf_without_aki", false, false,
       [](CertificateFacts& c) {
         c.has_authority_key_id = false;
         c.info.authority_key_id.clear();
       },
       VerifyCode::invalid_key_identifier},
      {"bad_aki_without_key_identifier", false, false,
       [](CertificateFacts& c) { c.info.authority_key_id.clear(); },
       VerifyCode::invalid_key_identifier},
      {"bad_aki_critical", false, false,
       [](CertificateFacts& c) { c.authority_key_id_critical = true; },
       VerifyCode::invalid_key_identifier},
      {"bad_ski_critical", true, false,
       [](CertificateFacts& c) { c.subject_key_id_critical = true; },
       VerifyCode::invalid_key_identifier},
      {"good_intermediate", true, false, [](CertificateFacts&) {}, VerifyCode::ok},
      {"bad_ca_without_ski", true, false,
       [](CertificateFacts& c) { c.info.subject_key_id.clear(); },
       VerifyCode::invalid_key_identifier},
      {"bad_intermediate_without_aki", true, false,
       [](CertificateFacts& c) { c.has_authority_key_id = false; },
       VerifyCode::invalid_key_identifier},
      {"good_root_without_aki", true, true,
       [](CertificateFacts& c) {
         c.has_authority_key_id = false;
         c.info.authority_key_id.clear();
       },
       VerifyCode::ok},
      {"good_root_aki_is_its_ski", true, true,
       [](CertificateFacts& c) { c.info.authority_key_id = c.info.subject_key_id; },
       VerifyCode::ok},
      {"bad_root_aki_another_key", true, true, [](CertificateFacts&) {},
       VerifyCode::invalid_key_identifier},
      {"bad_root_aki_names_issuer_and_serial", true, true,
       [](CertificateFacts& c) {
         c.info.authority_key_id = c.info.subject_key_id;
         c.authority_key_id_names_issuer = true;
       },
       VerifyCode::invalid_key_identifier},
      {"bad_root_without_ski", true, true,
       [](CertificateFacts& c) {
         c.has_authority_key_id = false;
         c.info.subject_key_id.clear();
       },
       VerifyCode::invalid_key_identifier},
  };
  for (const KeyIdCase& test : cases) {
    CAPTURE(test.name);
    CertificateFacts c = test.ca ? ca_facts() : leaf_facts();
    test.change(c);
    CHECK(code_of(check_key_identifiers(c, test.root)) == test.expected);
  }
}

TEST_CASE("subject, SAN and common name (RFC 5280 §4.1.2.6, §4.2.1.6; BR §7.1.4)") {
  const Case leaves[] = {
      {"good_leaf", [](CertificateFacts&) {}, VerifyCode::ok},
      {"good_empty_subject_critical_san",
       [](CertificateFacts& c) {
         c.subject_empty = true;
         c.common_names.clear();
         c.san_critical = true;
       },
       VerifyCode::ok},
      {"bad_empty_subject_san_not_critical",
       [](CertificateFacts& c) {
         c.subject_empty = true;
         c.common_names.clear();
       },
       VerifyCode::invalid_name},
      {"bad_empty_subject_no_san",
       [](CertificateFacts& c) {
         c.subject_empty = true;
         c.common_names.clear();
         c.has_san = false;
         c.info.dns_names.clear();
       },
       VerifyCode::invalid_name},
      {"bad_subject_and_critical_san", [](CertificateFacts& c) { c.san_critical = true; },
       VerifyCode::invalid_name},
      {"bad_underscore", [](CertificateFacts& c) { c.info.dns_names = {"a_b.example.com"}; },
       VerifyCode::invalid_name},
      {"bad_dns_san_syntax", [](CertificateFacts& c) { c.info.dns_names = {"-a.example.com"}; },
       VerifyCode::invalid_name},
      {"bad_dns_san_empty_label",
       [](CertificateFacts& c) { c.info.dns_names = {"a..example.com"}; },
       VerifyCode::invalid_name},
      {"good_wildcard_san",
       [](CertificateFacts& c) {
         c.info.dns_names = {"*.example.com"};
         c.common_names = {"*.example.com"};
       },
       VerifyCode::ok},
      {"bad_ip_san_5_bytes", [](CertificateFacts& c) { c.san_ip_bytes = {std::string(5, '\1')}; },
       VerifyCode::invalid_name},
      {"good_no_common_name", [](CertificateFacts& c) { c.common_names.clear(); }, VerifyCode::ok},
      {"bad_common_name_case", [](CertificateFacts& c) { c.common_names = {"WWW.example.com"}; },
       VerifyCode::invalid_name},
      {"bad_common_name_not_a_san",
       [](CertificateFacts& c) { c.common_names = {"mail.example.com"}; },
       VerifyCode::invalid_name},
      {"bad_second_common_name_not_a_san",
       [](CertificateFacts& c) { c.common_names.push_back("mail.example.com"); },
       VerifyCode::invalid_name},
      {"good_common_name_ipv4",
       [](CertificateFacts& c) {
         c.san_ip_bytes = {raw_ip({10, 0, 0, 1})};
         c.common_names = {"10.0.0.1"};
       },
       VerifyCode::ok},
      {"bad_common_name_ipv4_leading_zero",
       [](CertificateFacts& c) {
         c.san_ip_bytes = {raw_ip({10, 0, 0, 1})};
         c.common_names = {"010.0.0.1"};
       },
       VerifyCode::invalid_name},
      {"good_common_name_ipv6_rfc5952",
       [](CertificateFacts& c) {
         c.san_ip_bytes = {raw_ip({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})};
         c.common_names = {"2001:db8::1"};
       },
       VerifyCode::ok},
      {"bad_common_name_ipv6_upper_case",
       [](CertificateFacts& c) {
         c.san_ip_bytes = {raw_ip({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})};
         c.common_names = {"2001:DB8::1"};
       },
       VerifyCode::invalid_name},
      {"bad_common_name_ipv6_uncompressed",
       [](CertificateFacts& c) {
         c.san_ip_bytes = {raw_ip({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})};
         c.common_names = {"2001:db8:0:0:0:0:0:1"};
       },
       VerifyCode::invalid_name},
      {"good_common_name_a_label",
       [](CertificateFacts& c) {
         c.info.dns_names = {"xn--bcher-kva.example"};
         c.common_names = {"xn--bcher-kva.example"};
       },
       VerifyCode::ok},
      {"bad_common_name_u_label",
       [](CertificateFacts& c) {
         c.info.dns_names = {"xn--bcher-kva.example"};
         c.common_names = {
             "b\xc3\xbc"
             "cher.example"};
       },
       VerifyCode::invalid_name},
  };
  for (const Case& test : leaves) {
    CAPTURE(test.name);
    CertificateFacts c = leaf_facts();
    test.change(c);
    CHECK(code_of(check_names(c, true)) == test.expected);
  }
  CertificateFacts ca = ca_facts();
  CHECK(code_of(check_names(ca, false)) == VerifyCode::ok);
  ca.subject_empty = true;
  ca.has_san = true;
  ca.san_critical = true;
  CHECK(code_of(check_names(ca, false)) == VerifyCode::invalid_name);  // a CA needs a subject
}

TEST_CASE("trust anchors that are certificates with extensions (RFC 5280 §4.2.1.9; BR §7.1.2.1)") {
  const Case roots[] = {
      {"good_root", [](CertificateFacts&) {}, VerifyCode::ok},
      {"good_v1_root_without_extensions",
       [](CertificateFacts& c) {
         c = CertificateFacts{};
         c.subject_dn = {{"2.5.4.3=old root"}};
       },
       VerifyCode::ok},
      {"bad_no_basic_constraints",
       [](CertificateFacts& c) {
         c.has_basic_constraints = false;
         c.basic_constraints_critical = false;
         c.is_ca = false;
       },
       VerifyCode::invalid_basic_constraints},
      {"bad_basic_constraints_not_critical",
       [](CertificateFacts& c) { c.basic_constraints_critical = false; },
       VerifyCode::invalid_basic_constraints},
      {"bad_key_cert_sign_without_ca", [](CertificateFacts& c) { c.is_ca = false; },
       VerifyCode::invalid_basic_constraints},
      {"bad_path_length_without_ca",
       [](CertificateFacts& c) {
         c.is_ca = false;
         c.has_key_usage = false;
         c.path_length = 1;
       },
       VerifyCode::invalid_basic_constraints},
      {"bad_ca_without_key_cert_sign", [](CertificateFacts& c) { c.key_usage = kKeyUsageCrlSign; },
       VerifyCode::invalid_key_usage},
      {"good_root_eku_allows_the_purpose",  // as Pebble's: read as a constraint
       [](CertificateFacts& c) {
         c.has_extended_key_usage = true;
         c.extended_key_usage = {std::string(kOidServerAuth), std::string(kOidClientAuth)};
       },
       VerifyCode::ok},
      {"bad_root_eku_without_the_purpose",
       [](CertificateFacts& c) {
         c.has_extended_key_usage = true;
         c.extended_key_usage = {std::string(kOidClientAuth)};
       },
       VerifyCode::invalid_eku},
      {"bad_root_without_ski", [](CertificateFacts& c) { c.info.subject_key_id.clear(); },
       VerifyCode::invalid_key_identifier},
      {"bad_root_with_empty_subject",
       [](CertificateFacts& c) {
         c.subject_empty = true;
         c.has_san = true;
         c.san_critical = true;
       },
       VerifyCode::invalid_name},
  };
  for (const Case& test : roots) {
    CAPTURE(test.name);
    CertificateFacts c = ca_facts();
    c.info.authority_key_id = c.info.subject_key_id;
    test.change(c);
    CHECK(code_of(check_trust_anchor(c, true, Purpose::server_auth, false)) == test.expected);
  }
  CertificateFacts intermediate = ca_facts();  // trusted directly: its AKI names its issuer
  CHECK(code_of(check_trust_anchor(intermediate, false, Purpose::server_auth, false)) ==
        VerifyCode::ok);
  CHECK(code_of(check_trust_anchor(intermediate, true, Purpose::server_auth, false)) ==
        VerifyCode::invalid_key_identifier);
}

TEST_CASE("a root of the system's store has no extendedKeyUsage (BR §7.1.2.1.2)") {
  CertificateFacts root = ca_facts();
  root.info.authority_key_id = root.info.subject_key_id;
  CHECK(code_of(check_trust_anchor(root, true, Purpose::server_auth, true)) == VerifyCode::ok);
  CertificateFacts with_eku = root;
  with_eku.has_extended_key_usage = true;
  with_eku.extended_key_usage = {std::string(kOidServerAuth)};
  CHECK(code_of(check_trust_anchor(with_eku, true, Purpose::server_auth, true)) ==
        VerifyCode::invalid_eku);
  // An operator's private root: the EKU is a constraint it meets.
  CHECK(code_of(check_trust_anchor(with_eku, true, Purpose::server_auth, false)) == VerifyCode::ok);
  // An intermediate trusted directly is no root: the rule is the BR's for roots.
  CertificateFacts intermediate = ca_facts();
  intermediate.has_extended_key_usage = true;
  intermediate.extended_key_usage = {std::string(kOidServerAuth)};
  CHECK(code_of(check_trust_anchor(intermediate, false, Purpose::server_auth, true)) ==
        VerifyCode::ok);
}

TEST_CASE("the form of name constraints (RFC 5280 §4.2.1.10)") {
  const Case cases[] = {
      {"good_permitted_dns", [](CertificateFacts&) {}, VerifyCode::ok},
      {"good_leading_dot",
       [](CertificateFacts& c) { c.name_constraints.permitted_dns = {".example.com"}; },
       VerifyCode::ok},
      {"bad_in_a_leaf", [](CertificateFacts& c) { c.is_ca = false; },
       VerifyCode::invalid_name_constraints},
      {"bad_not_critical", [](CertificateFacts& c) { c.name_constraints.critical = false; },
       VerifyCode::invalid_name_constraints},
      {"bad_no_subtrees",
       [](CertificateFacts& c) {
         c.name_constraints.permitted_dns.clear();
         c.name_constraints.subtrees = 0;
       },
       VerifyCode::invalid_name_constraints},
      {"bad_wildcard_dns_constraint",
       [](CertificateFacts& c) { c.name_constraints.permitted_dns = {"*.example.com"}; },
       VerifyCode::invalid_name_constraints},
      {"bad_dns_constraint_with_space",
       [](CertificateFacts& c) { c.name_constraints.excluded_dns = {"exa mple.com"}; },
       VerifyCode::invalid_name_constraints},
      {"good_ip_constraint",
       [](CertificateFacts& c) {
         c.name_constraints.permitted_ip = {{raw_ip({10, 0, 0, 0}), raw_ip({255, 255, 0, 0})}};
       },
       VerifyCode::ok},
      {"bad_ip_mask_not_contiguous",
       [](CertificateFacts& c) {
         c.name_constraints.permitted_ip = {{raw_ip({10, 0, 0, 0}), raw_ip({255, 0, 255, 0})}};
       },
       VerifyCode::invalid_name_constraints},
      {"bad_ip_constraint_length",
       [](CertificateFacts& c) {
         c.name_constraints.excluded_ip = {{raw_ip({10, 0, 0}), raw_ip({255, 0, 0})}};
       },
       VerifyCode::invalid_name_constraints},
  };
  for (const Case& test : cases) {
    CAPTURE(test.name);
    CertificateFacts c = ca_facts();
    c.name_constraints.present = true;
    c.name_constraints.critical = true;
    c.name_constraints.subtrees = 1;
    c.name_constraints.permitted_dns = {"example.com"};
    test.change(c);
    CHECK(code_of(check_name_constraints_form(c)) == test.expected);
  }
  CHECK(code_of(check_name_constraints_form(leaf_facts())) == VerifyCode::ok);  // none at all
}

TEST_CASE("DNS and IP name constraints (RFC 5280 §4.2.1.10)") {
  struct Subtree {
    const char* name;
    const char* constraint;
    bool within;
  };
  for (const Subtree& t : {
           Subtree{"good_exact", "example.com", true},
           Subtree{"good_below", "www.example.com", true},
           Subtree{"good_case", "WWW.Example.COM", true},
           Subtree{"bad_suffix_not_label", "wwwexample.com", false},
           Subtree{"bad_other", "example.org", false},
       }) {
    CAPTURE(t.name);
    CHECK(dns_within_subtree(t.constraint, "example.com") == t.within);
  }
  CHECK(dns_within_subtree("www.example.com", ".example.com"));
  CHECK_FALSE(dns_within_subtree("example.com", ".example.com"));
  CHECK(dns_within_subtree("anything.test", ""));

  const IpSubtree ten{raw_ip({10, 0, 0, 0}), raw_ip({255, 0, 0, 0})};
  CHECK(ip_within_subtree(raw_ip({10, 1, 2, 3}), ten));
  CHECK_FALSE(ip_within_subtree(raw_ip({11, 1, 2, 3}), ten));
  CHECK_FALSE(ip_within_subtree(std::string(16, '\0'), ten));

  CertificateFacts leaf = leaf_facts();
  CertificateFacts ca = ca_facts();
  ca.name_constraints.present = true;
  std::vector<const CertificateFacts*> path{&leaf, &ca};
  SUBCASE("good_permitted") {
    ca.name_constraints.permitted_dns = {"example.com"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::ok);
  }
  SUBCASE("bad_not_permitted") {
    ca.name_constraints.permitted_dns = {"example.org"};
    auto f = check_name_constraints(path);
    CHECK(code_of(f) == VerifyCode::name_constraint_violation);
    CHECK(f->certificate == 0);
  }
  SUBCASE("bad_excluded") {
    ca.name_constraints.excluded_dns = {"www.example.com"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::name_constraint_violation);
  }
  SUBCASE("bad_ip_not_permitted") {
    ca.name_constraints.permitted_ip = {ten};
    leaf.san_ip_bytes = {raw_ip({192, 168, 1, 1})};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::name_constraint_violation);
  }
  SUBCASE("good_ipv4_permitted_says_nothing_about_ipv6") {
    ca.name_constraints.permitted_ip = {ten};
    leaf.san_ip_bytes = {std::string(15, '\0') + "\x01"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::ok);
  }
  SUBCASE("bad_wildcard_may_stand_for_an_excluded_name") {
    leaf.info.dns_names = {"*.example.com"};
    ca.name_constraints.excluded_dns = {"bad.example.com"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::name_constraint_violation);
  }
  SUBCASE("good_wildcard_beside_an_excluded_name_deeper_down") {
    leaf.info.dns_names = {"*.example.com"};
    ca.name_constraints.excluded_dns = {"a.bad.example.com"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::ok);
  }
  SUBCASE("bad_wildcard_wider_than_the_permitted_name") {
    leaf.info.dns_names = {"*.example.com"};
    ca.name_constraints.permitted_dns = {"www.example.com"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::name_constraint_violation);
  }
  SUBCASE("good_wildcard_inside_the_permitted_subtree") {
    leaf.info.dns_names = {"*.example.com"};
    ca.name_constraints.permitted_dns = {"example.com"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::ok);
  }
  const DistinguishedName org{{"2.5.4.6=de"}, {"2.5.4.10=example"}};
  SUBCASE("good_directory_name_permitted") {
    ca.name_constraints.permitted_dirs = {org};
    leaf.subject_dn = {{"2.5.4.6=de"}, {"2.5.4.10=example"}, {"2.5.4.3=www.example.com"}};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::ok);
  }
  SUBCASE("bad_directory_name_not_permitted") {
    ca.name_constraints.permitted_dirs = {org};
    leaf.subject_dn = {{"2.5.4.6=de"}, {"2.5.4.10=other"}, {"2.5.4.3=www.example.com"}};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::name_constraint_violation);
  }
  SUBCASE("bad_directory_name_excluded_in_a_san") {
    ca.name_constraints.excluded_dirs = {org};
    leaf.san_dirs = {{{"2.5.4.6=de"}, {"2.5.4.10=example"}, {"2.5.4.11=unit"}}};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::name_constraint_violation);
  }
  SUBCASE("good_empty_subject_is_not_a_directory_name") {
    ca.name_constraints.permitted_dirs = {org};
    leaf.subject_empty = true;
    leaf.subject_dn.clear();
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::ok);
  }
  SUBCASE("good_other_form_the_certificate_does_not_use") {
    ca.name_constraints.other_forms = {"otherName", "email"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::ok);
  }
  SUBCASE("bad_other_form_the_certificate_uses_is_refused_not_guessed") {
    ca.name_constraints.other_forms = {"email"};
    leaf.other_name_forms = {"email"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::name_constraint_violation);
  }
  SUBCASE("bad_over_the_budget") {
    ca.name_constraints.subtrees = 1000;
    ca.name_constraints.excluded_dns.assign(1000, "x.test");
    leaf.info.dns_names.assign(300, "www.example.com");
    auto f = check_name_constraints(path);
    CHECK(code_of(f) == VerifyCode::name_constraints_too_complex);
    CHECK(f->certificate == 1);
  }
}

TEST_CASE("host name syntax (RFC 1034 §3.5)") {
  for (const char* good : {"example.com", "a-b.example.com", "xn--bcher-kva.example", "a", "1.2"}) {
    CAPTURE(good);
    CHECK(is_host_name(good, false));
  }
  for (const char* bad : {"", "-a.com", "a-.com", "a..com", ".a.com", "a.com.", "a b.com",
                          "a_b.com", "*.example.com", "\xc3\xbc.example"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_host_name(bad, false));
  }
  CHECK(is_host_name("*.example.com", true));
  CHECK_FALSE(is_host_name("*.*.example.com", true));
  CHECK_FALSE(is_host_name("w*.example.com", true));
  CHECK_FALSE(is_host_name(std::string(64, 'a') + ".com", false));
}

TEST_CASE("host names: SAN only, wildcards in the leftmost label, never above a public suffix") {
  const PublicSuffixList suffixes;
  struct Match {
    const char* name;
    const char* pattern;
    const char* host;
    bool matches;
  };
  for (const Match& t : {
           Match{"good_exact", "www.example.com", "www.example.com", true},
           Match{"good_case_and_trailing_dot", "WWW.example.com", "www.EXAMPLE.com.", true},
           Match{"good_wildcard", "*.example.com", "a.example.com", true},
           Match{"bad_wildcard_two_labels", "*.example.com", "a.b.example.com", false},
           Match{"bad_wildcard_apex", "*.example.com", "example.com", false},
           Match{"bad_partial_wildcard", "w*.example.com", "www.example.com", false},
           Match{"bad_wildcard_not_leftmost", "www.*.com", "www.example.com", false},
           Match{"bad_wildcard_public_suffix", "*.co.uk", "example.co.uk", false},
           Match{"bad_wildcard_tld", "*.com", "example.com", false},
           Match{"bad_wildcard_private_suffix", "*.github.io", "someone.github.io", false},
           Match{"bad_other_name", "www.example.com", "mail.example.com", false},
       }) {
    CAPTURE(t.name);
    CHECK(dns_name_matches(t.pattern, t.host, suffixes) == t.matches);
  }
  CertificateFacts leaf = leaf_facts();
  leaf.info.subject_cn = "cn-only.example.com";  // never used for the host name
  CHECK(code_of(check_hostname(leaf, "cn-only.example.com", suffixes)) ==
        VerifyCode::hostname_mismatch);
  CHECK(code_of(check_hostname(leaf, "www.example.com", suffixes)) == VerifyCode::ok);
  leaf.san_ip_bytes = {raw_ip({127, 0, 0, 1})};
  CHECK(code_of(check_ip_address(leaf, "127.0.0.1")) == VerifyCode::ok);
  CHECK(code_of(check_ip_address(leaf, "127.0.0.2")) == VerifyCode::hostname_mismatch);
  CHECK(code_of(check_ip_address(leaf, "not-an-ip")) == VerifyCode::hostname_mismatch);
}

TEST_CASE("the verdict is the most severe finding") {
  std::vector<Finding> findings{{VerifyCode::hostname_mismatch, 0, ""},
                                {VerifyCode::expired, 0, ""}};
  CHECK(most_severe(findings) == VerifyCode::expired);
  CHECK(most_severe({}) == VerifyCode::ok);
  CHECK(to_string(VerifyCode::name_constraint_violation) == "name_constraint_violation");
}

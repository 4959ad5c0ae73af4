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
  c.has_basic_constraints = true;
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
  };
  for (const Case& test : cases) {
    CAPTURE(test.name);
    CertificateFacts c = leaf_facts();
    test.change(c);
    std::vector<Finding> found;
    for (auto f : {check_encoding(c), check_key_strength(c), check_signature_algorithm(c),
                   check_critical_extensions(c)}) {
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
      {"bad_leaf_is_ca", [](CertificateFacts& c) { c.is_ca = true; },
       VerifyCode::invalid_basic_constraints},
      {"bad_leaf_key_usage_cert_sign_only",
       [](CertificateFacts& c) { c.key_usage = kKeyUsageKeyCertSign; },
       VerifyCode::invalid_key_usage},
      {"good_leaf_without_key_usage", [](CertificateFacts& c) { c.has_key_usage = false; },
       VerifyCode::ok},
      {"bad_leaf_without_eku", [](CertificateFacts& c) { c.has_extended_key_usage = false; },
       VerifyCode::invalid_eku},
      {"bad_leaf_client_auth_only",
       [](CertificateFacts& c) { c.extended_key_usage = {std::string(kOidClientAuth)}; },
       VerifyCode::invalid_eku},
      {"bad_leaf_any_eku_only",
       [](CertificateFacts& c) { c.extended_key_usage = {std::string(kOidAnyExtendedKeyUsage)}; },
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
  SUBCASE("bad_unsupported_form_refused") {
    ca.name_constraints.unsupported_forms = {"dirName"};
    CHECK(code_of(check_name_constraints(path)) == VerifyCode::name_constraint_violation);
  }
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

#pragma once
// What the verification rules look at in one certificate, read once through
// OpenSSL into plain data. The rules (rules.h) are pure functions of these
// facts, so they are tested with tables of hand-written facts, no certificates.

#include <cstdint>
#include <string>
#include <vector>

#include "core/openssl.h"
#include "core/x509_info.h"

namespace ck::validator {

// An iPAddress name constraint (RFC 5280 §4.2.1.10): address and mask, 4 or 16
// raw bytes each.
struct IpSubtree {
  std::string address;
  std::string mask;
  bool operator==(const IpSubtree&) const = default;
};

// A distinguished name as RFC 5280 §7.1 compares them: its RDNs in order,
// each the sorted "OID=value" texts of its attributes, string values folded
// (case, surrounding and repeated spaces).
using DistinguishedName = std::vector<std::vector<std::string>>;

struct NameConstraints {
  bool present = false;
  bool critical = false;
  int subtrees = 0;  // permitted and excluded, of every form
  std::vector<std::string> permitted_dns;
  std::vector<std::string> excluded_dns;
  std::vector<IpSubtree> permitted_ip;
  std::vector<IpSubtree> excluded_ip;
  std::vector<DistinguishedName> permitted_dirs;
  std::vector<DistinguishedName> excluded_dirs;
  // Forms certkeeper does not evaluate ("email", "URI", "otherName", ...): a
  // certificate with names of such a form beneath is refused (fail closed);
  // one without is not constrained by them.
  std::vector<std::string> other_forms;
};

// RFC 5280 §4.2.1.3 keyUsage bits, as OpenSSL's KU_* values.
inline constexpr std::uint32_t kKeyUsageDigitalSignature = 0x0080;
inline constexpr std::uint32_t kKeyUsageKeyEncipherment = 0x0020;
inline constexpr std::uint32_t kKeyUsageKeyCertSign = 0x0004;
inline constexpr std::uint32_t kKeyUsageCrlSign = 0x0002;

inline constexpr std::string_view kOidServerAuth = "1.3.6.1.5.5.7.3.1";
inline constexpr std::string_view kOidClientAuth = "1.3.6.1.5.5.7.3.2";
inline constexpr std::string_view kOidOcspSigning = "1.3.6.1.5.5.7.3.9";
inline constexpr std::string_view kOidAnyExtendedKeyUsage = "2.5.29.37.0";

struct CertificateFacts {
  CertificateInfo info;   // fingerprint, serial, names, validity, key identifiers
  int version = 3;        // 1, 2 or 3
  int serial_octets = 0;  // length of the DER INTEGER content (RFC 5280 §4.1.2.2: at most 20)
  bool serial_negative = false;
  bool serial_zero = false;

  bool has_basic_constraints = false;
  bool is_ca = false;
  int path_length = -1;  // -1: no pathLenConstraint

  bool has_key_usage = false;
  std::uint32_t key_usage = 0;  // kKeyUsage* bits

  bool has_extended_key_usage = false;
  std::vector<std::string> extended_key_usage;  // dotted OIDs

  bool has_extensions = false;  // a v1 trust anchor has none
  bool subject_empty = false;
  DistinguishedName subject_dn;
  std::vector<std::string> common_names;  // every CN of the subject, UTF-8
  bool has_san = false;
  bool san_critical = false;
  std::vector<std::string> san_ip_bytes;    // iPAddress SANs as 4 or 16 raw bytes
  std::vector<DistinguishedName> san_dirs;  // directoryName SANs
  // Name forms beyond DNS, IP and directoryName: SAN forms ("email", "URI",
  // "otherName", ...), and "email" for an emailAddress in the subject.
  std::vector<std::string> other_name_forms;
  NameConstraints name_constraints;

  bool basic_constraints_critical = false;
  bool extended_key_usage_critical = false;
  bool has_authority_key_id = false;  // the extension (its keyIdentifier: info)
  bool authority_key_id_critical = false;
  bool authority_key_id_names_issuer = false;  // authorityCertIssuer or its serial
  bool subject_key_id_critical = false;
  bool has_policy_constraints = false;
  bool policy_constraints_critical = false;
  bool ec_explicit_parameters = false;  // RFC 5480 §2.1.1: a named curve only

  std::string key_algorithm;  // "rsa", "ec", "ed25519", "ed448", "dsa" or OpenSSL's name
  int key_bits = 0;
  std::string key_curve;         // "P-256", "P-384", "P-521", or OpenSSL's group name
  std::string signature_digest;  // "sha256", "sha1", "md5"...; "" when intrinsic (EdDSA)
  bool signature_algorithm_mismatch = false;  // signature vs tbsCertificate.signature differ

  std::vector<std::string> unknown_critical_extensions;  // dotted OIDs
  bool invalid_extensions =
      false;  // an extension repeated or not decodable (OpenSSL EXFLAG_INVALID)
  std::vector<std::string> undecodable_extensions;  // known ones that do not decode, dotted OIDs

  std::vector<std::string> ocsp_urls;       // authorityInfoAccess id-ad-ocsp
  std::vector<std::string> ca_issuer_urls;  // authorityInfoAccess id-ad-caIssuers
  std::vector<std::string> crl_urls;        // cRLDistributionPoints fullName URIs
  bool must_staple = false;                 // TLS feature status_request (RFC 7633)
};

// Reads the facts of `cert`. Fails only when OpenSSL cannot decode the parts
// every certificate has (times, public key): such a certificate is malformed.
[[nodiscard]] Result<CertificateFacts> read_facts(const X509& cert);

// A parsed certificate with its facts, made once and shared by every
// verification that uses it.
struct PreparedCertificate {
  ossl::X509Ptr cert;
  CertificateFacts facts;
};

[[nodiscard]] Result<PreparedCertificate> prepare(ossl::X509Ptr cert);

}  // namespace ck::validator

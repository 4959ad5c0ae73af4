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

struct NameConstraints {
  bool present = false;
  bool critical = false;
  std::vector<std::string> permitted_dns;
  std::vector<std::string> excluded_dns;
  std::vector<IpSubtree> permitted_ip;
  std::vector<IpSubtree> excluded_ip;
  // Constraint forms certkeeper does not evaluate ("email", "URI", "dirName",
  // "other"); a certificate under such a constraint is refused (fail closed).
  std::vector<std::string> unsupported_forms;
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

  std::vector<std::string> san_ip_bytes;  // iPAddress SANs as 4 or 16 raw bytes
  NameConstraints name_constraints;

  std::string key_algorithm;  // "rsa", "ec", "ed25519", "ed448", "dsa" or OpenSSL's name
  int key_bits = 0;
  std::string key_curve;         // "P-256", "P-384", "P-521", or OpenSSL's group name
  std::string signature_digest;  // "sha256", "sha1", "md5"...; "" when intrinsic (EdDSA)
  bool signature_algorithm_mismatch = false;  // signature vs tbsCertificate.signature differ

  std::vector<std::string> unknown_critical_extensions;  // dotted OIDs
  bool invalid_extensions =
      false;  // an extension repeated or not decodable (OpenSSL EXFLAG_INVALID)

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

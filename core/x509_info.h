#pragma once
// The summary of a certificate that the inventory stores and commands print.

#include <cstdint>
#include <string>
#include <vector>

#include "core/openssl.h"

namespace ck {

struct CertificateInfo {
  std::string sha256;                     // lowercase hex SHA-256 of the DER encoding
  std::string serial;                     // lowercase hex
  std::string subject;                    // RFC 2253 distinguished name
  std::string issuer;                     // RFC 2253
  std::string subject_cn;                 // "" when absent
  std::string issuer_cn;                  // "" when absent
  std::vector<std::string> dns_names;     // subjectAltName dNSName entries
  std::vector<std::string> ip_addresses;  // subjectAltName iPAddress entries, text form
  std::string subject_key_id;             // lowercase hex, "" when absent
  std::string authority_key_id;           // keyIdentifier, lowercase hex, "" when absent
  std::int64_t not_before = 0;            // Unix seconds
  std::int64_t not_after = 0;     // Unix seconds; the certificate is valid through this second
  std::string key_type;           // describe_key() of the subject public key
  std::string public_key_sha256;  // SHA-256 of the SubjectPublicKeyInfo, hex
  bool is_ca = false;             // basicConstraints cA=TRUE
  bool self_issued = false;       // subject == issuer

  // "DNS:a", "IP:1.2.3.4": all subjectAltName identities in one list.
  [[nodiscard]] std::vector<std::string> subject_alt_names() const;
  // The name an operator knows the certificate by: first DNS name, else first
  // IP address, else the subject CN, else the fingerprint's first 16 digits.
  [[nodiscard]] std::string display_name() const;
};

[[nodiscard]] Result<CertificateInfo> describe_certificate(const X509& cert);

// A distinguished name in RFC 2253 form ("CN=x,O=y"); "" when it cannot be printed.
[[nodiscard]] std::string name_to_string(const X509_NAME* name);

// ASN1_TIME to Unix seconds (GeneralizedTime and UTCTime alike).
[[nodiscard]] Result<std::int64_t> asn1_time_to_unix(const ASN1_TIME& time);

}  // namespace ck

#pragma once
// Builds and signs X.509 certificates. Used by the tests and benchmarks to make
// their own PKI with fixed dates, and by the ACME tls-alpn-01 responder.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/openssl.h"

namespace ck {

struct CertificateSpec {
  std::string common_name;                // omitted from the subject when empty
  std::string organization;               // omitted when empty
  std::vector<std::string> dns_names;     // subjectAltName dNSName
  std::vector<std::string> ip_addresses;  // subjectAltName iPAddress
  std::int64_t not_before = 0;            // Unix seconds
  std::int64_t not_after = 0;
  std::string serial_hex;  // random 127-bit serial when empty
  bool is_ca = false;
  int path_length = -1;  // CA only; -1 leaves it unset
  // OpenSSL configuration syntax. Empty picks the usual defaults: CAs get
  // "critical,keyCertSign,cRLSign"; leaves get "critical,digitalSignature"
  // (plus keyEncipherment for RSA) and extendedKeyUsage "serverAuth" (CAs
  // none). "-" leaves the extension out.
  std::string key_usage;
  std::string extended_key_usage;
  std::string basic_constraints;     // "" = "critical,CA:TRUE[,pathlen:N]" or "critical,CA:FALSE"
  std::string authority_key_id;      // "" = "keyid:always"
  std::optional<bool> san_critical;  // default: critical when the subject is empty (RFC 5280)
  // Further extensions as (name, value) in OpenSSL configuration syntax, e.g.
  // {"nameConstraints", "critical,permitted;DNS:example.com"},
  // {"authorityInfoAccess", "OCSP;URI:http://127.0.0.1:8080"}.
  std::vector<std::pair<std::string, std::string>> extensions;
  std::string digest = "SHA256";   // ignored for Ed25519/Ed448 keys
  std::string subject_key_id_hex;  // "" = the SHA-1 hash of the key, as usual; "-" = none
  // OpenSSL configuration text holding the sections that values name, e.g.
  // "[dir]\nC = DE\nO = Example\n" for "permitted;dirName:dir".
  std::string config;
};

// Signs `spec` for `subject_key`. With `issuer` null the certificate is
// self-signed and `issuer_key` must be `subject_key`.
[[nodiscard]] Result<ossl::X509Ptr> build_certificate(const CertificateSpec& spec,
                                                      EVP_PKEY& subject_key, const X509* issuer,
                                                      EVP_PKEY& issuer_key);

}  // namespace ck

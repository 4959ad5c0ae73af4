#pragma once
// PEM (RFC 7468) and DER input with precise errors: which block, on which line,
// and why it was rejected. Private keys are accepted in PKCS#8, PKCS#1 (RSA) and
// SEC1 (EC) form; encrypted keys are refused with a clear message.

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/openssl.h"

namespace ck {

struct PemBlock {
  std::string label;       // "CERTIFICATE", "PRIVATE KEY", ...
  std::string der;         // decoded body
  int line = 0;            // 1-based line of the BEGIN line
  bool encrypted = false;  // RFC 1421 "Proc-Type: 4,ENCRYPTED" header present
};

// Splits text into PEM blocks. Text outside blocks is ignored (bundles often
// carry "subject=" comments). Errors: a BEGIN with no matching END, a body that
// is not base64, an END label that differs from its BEGIN.
[[nodiscard]] Result<std::vector<PemBlock>> parse_pem_blocks(std::string_view text);

// Everything usable found in one file.
struct PemBundle {
  std::vector<ossl::X509Ptr> certificates;  // in file order
  std::vector<ossl::PKey> keys;
  std::vector<std::string> ignored_labels;  // blocks that are neither
};

// Parses DER certificates and remembers the CA certificates among them, so a
// chain repeated in many files is parsed once: d2i_X509 costs about 100 µs on
// OpenSSL 3.0 (it decodes the public key through the provider machinery).
// Leaves are not kept. Not thread-safe; bounded to `capacity` CA certificates.
class CertificateCache {
 public:
  explicit CertificateCache(std::size_t capacity = 1024) : capacity_(capacity) {}
  [[nodiscard]] Result<ossl::X509Ptr> parse(std::string_view der);

 private:
  std::size_t capacity_;
  std::unordered_map<std::string, ossl::X509Ptr> cas_;  // by DER
};

// Parses a PEM file, or a single DER certificate. Errors: empty input, no PEM
// block and not DER, a block that does not parse (named with its number, label
// and line), an encrypted private key. A bundle with no certificate and no key
// is an error too.
// With a cache, repeated CA certificates are not parsed again.
[[nodiscard]] Result<PemBundle> parse_pem_bundle(std::string_view data,
                                                 CertificateCache* cache = nullptr);

[[nodiscard]] Result<std::string> certificate_to_pem(const X509& cert);

}  // namespace ck

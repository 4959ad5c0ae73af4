#pragma once
// Reading certificates for verification: the trust anchors' file and PEM (or
// DER) bundles, each certificate prepared once.

#include <string>
#include <vector>

#include "core/error.h"
#include "validator/certificate_facts.h"

namespace ck::daemon {

// The PEM bundle of trust anchors: `given`, else $SSL_CERT_FILE, else
// OpenSSL's default file (Debian: the ca-certificates bundle).
[[nodiscard]] std::string trust_anchor_file(const std::string& given);

// The certificates of a PEM (or DER) file, each prepared for verification, in
// file order. Errors: Errc::io when the file cannot be read, Errc::parse when it
// or a certificate in it does not parse, or it holds none (a blank file is an
// empty list when `may_be_empty`).
[[nodiscard]] Result<std::vector<validator::PreparedCertificate>> read_certificates(
    const std::string& path, bool may_be_empty = false);

}  // namespace ck::daemon

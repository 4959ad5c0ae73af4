#pragma once
// Certificate signing requests for finalize (RFC 8555 §7.4): every identifier
// goes into subjectAltName (dNSName, iPAddress per RFC 8738); the subject CN
// is the first DNS name when it fits in 64 characters, as CAs expect.

#include <string>
#include <vector>

#include "acme/problem.h"
#include "core/openssl.h"

namespace ck::acme {

// DER of a CSR for `identifiers`, signed by `key`.
[[nodiscard]] Result<std::string> build_csr(EVP_PKEY& key,
                                            const std::vector<Identifier>& identifiers);

// The identifiers (SAN DNS and IP entries) a user-supplied CSR asks for; a
// CSR whose self-signature does not verify is refused.
[[nodiscard]] Result<std::vector<Identifier>> csr_identifiers(std::string_view der);

// Reads a CSR from PEM or DER.
[[nodiscard]] Result<std::string> csr_der_from_file_data(std::string_view data);

}  // namespace ck::acme

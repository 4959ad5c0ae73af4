#pragma once
// Private and public key helpers: generation of the key types certkeeper issues
// with, a stable description of any key ("ecdsa-p256", "rsa2048", "ed25519"),
// SubjectPublicKeyInfo fingerprints and PKCS#8 PEM encoding.

#include <string>
#include <string_view>

#include "core/openssl.h"

namespace ck {

enum class KeyType { ecdsa_p256, ecdsa_p384, rsa2048, rsa3072, rsa4096, ed25519 };

[[nodiscard]] Result<KeyType> parse_key_type(std::string_view name);
[[nodiscard]] std::string_view to_string(KeyType type);
// The names parse_key_type() accepts, comma-separated, for error messages and --help.
[[nodiscard]] std::string_view key_type_names();

[[nodiscard]] Result<ossl::PKey> generate_key(KeyType type);

// Describes any key: the KeyType spelling where one fits, else e.g. "rsa1024",
// "ecdsa-secp256k1", "dsa2048", "ed448".
[[nodiscard]] std::string describe_key(const EVP_PKEY& key);

[[nodiscard]] Result<std::string> private_key_to_pem(const EVP_PKEY& key);  // PKCS#8
[[nodiscard]] Result<std::string> public_key_der(const EVP_PKEY& key);      // SPKI DER
// Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
[[nodiscard]] Result<std::string> public_key_fingerprint(const EVP_PKEY& key);
// The same fingerprint for a certificate's key, read from its encoded
// SubjectPublicKeyInfo (far cheaper than re-encoding the EVP_PKEY on OpenSSL 3.0).
[[nodiscard]] Result<std::string> public_key_fingerprint(const X509& cert);

[[nodiscard]] bool same_public_key(const EVP_PKEY& a, const EVP_PKEY& b);

}  // namespace ck

#pragma once
// The account key's signer: the only code that touches the ACME account's
// private key. The network code hands it what to sign and gets a flattened
// JWS (RFC 7515 §7.2.2) back, as RFC 8555 §6.2 requires.
//
// Algorithms (RFC 7518 §3): ES256 for P-256, ES384 for P-384, RS256 for RSA.

#include <string>
#include <string_view>

#include "core/openssl.h"

namespace ck::acme {

class AccountSigner {
 public:
  // Takes ownership of the account key. Fails for key types ACME accounts
  // cannot use here (Ed25519, P-521, DSA).
  [[nodiscard]] static Result<AccountSigner> create(ossl::PKey key);

  [[nodiscard]] const std::string& algorithm() const { return alg_; }
  // The public key as a JWK (RFC 7517), members in RFC 7638 order.
  [[nodiscard]] const std::string& jwk_json() const { return jwk_; }
  // base64url(SHA-256(canonical JWK)), RFC 7638 §3.
  [[nodiscard]] const std::string& thumbprint() const { return thumbprint_; }
  // "token.thumbprint", RFC 8555 §8.1.
  [[nodiscard]] std::string key_authorization(std::string_view token) const;

  // A flattened JWS over `payload` ("" for POST-as-GET, RFC 8555 §6.3) for
  // `url`. With an empty `kid` the protected header carries the jwk (newAccount,
  // revocation by certificate key), else the account URL as kid. An empty
  // `nonce` is left out (the inner JWS of a key change, §7.3.5).
  [[nodiscard]] Result<std::string> sign(std::string_view url, std::string_view nonce,
                                         std::string_view kid, std::string_view payload) const;

  // The raw JWS signature over `signing_input` ("protected.payload").
  [[nodiscard]] Result<std::string> sign_raw(std::string_view signing_input) const;

 private:
  AccountSigner(ossl::PKey key, std::string alg, std::string jwk, std::string thumbprint,
                int coordinate_size);
  ossl::PKey key_;
  std::string alg_;
  std::string jwk_;
  std::string thumbprint_;
  int coordinate_size_ = 0;  // ECDSA: bytes per r and s; 0 for RSA
};

// A JWS signed with an HMAC key (External Account Binding, RFC 8555 §7.3.4):
// protected {alg: HS256, kid, url}, payload = the account JWK.
[[nodiscard]] Result<std::string> external_account_binding(std::string_view kid,
                                                           std::string_view hmac_key,
                                                           std::string_view url,
                                                           std::string_view account_jwk);

}  // namespace ck::acme

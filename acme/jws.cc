#include "acme/jws.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace ck::acme {
namespace {

std::string bignum_bytes(const EVP_PKEY& key, const char* param, int pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(&key, param, &raw) != 1) {
    ERR_clear_error();
    return {};
  }
  ossl::BigNum bn(raw);
  const int size = pad_to > 0 ? pad_to : BN_num_bytes(bn.get());
  std::string out(static_cast<std::size_t>(size), '\0');
  BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), size);
  return out;
}

// RFC 7638 §3.2: required members only, sorted, no whitespace. nlohmann::json
// objects are sorted maps, so dump() is already canonical.
std::string jwk_for(const EVP_PKEY& key, int coordinate_size) {
  nlohmann::json jwk;
  if (coordinate_size > 0) {
    jwk = {{"kty", "EC"},
           {"crv", coordinate_size == 32 ? "P-256" : "P-384"},
           {"x", base64url_encode(bignum_bytes(key, OSSL_PKEY_PARAM_EC_PUB_X, coordinate_size))},
           {"y", base64url_encode(bignum_bytes(key, OSSL_PKEY_PARAM_EC_PUB_Y, coordinate_size))}};
  } else {
    jwk = {{"kty", "RSA"},
           {"n", base64url_encode(bignum_bytes(key, OSSL_PKEY_PARAM_RSA_N, 0))},
           {"e", base64url_encode(bignum_bytes(key, OSSL_PKEY_PARAM_RSA_E, 0))}};
  }
  return jwk.dump();
}

// ECDSA signatures are DER SEQUENCE{r, s}; JWS wants r || s, each padded
// to the coordinate size (RFC 7518 §3.4).
Result<std::string> der_to_raw_ecdsa(std::string_view der, int coordinate_size) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot decode ECDSA signature"));
  }
  std::string out(static_cast<std::size_t>(2 * coordinate_size), '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), bytes, coordinate_size) != coordinate_size ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), bytes + coordinate_size, coordinate_size) !=
          coordinate_size) {
    return std::unexpected(ossl::error(Errc::crypto, "ECDSA signature does not fit"));
  }
  return out;
}

std::string flattened(const std::string& protected_b64, const std::string& payload_b64,
                      const std::string& signature) {
  return nlohmann::json{{"protected", protected_b64},
                        {"payload", payload_b64},
                        {"signature", base64url_encode(signature)}}
      .dump();
}

}  // namespace

AccountSigner::AccountSigner(ossl::PKey key, std::string alg, std::string jwk,
                             std::string thumbprint, int coordinate_size)
    : key_(std::move(key)),
      alg_(std::move(alg)),
      jwk_(std::move(jwk)),
      thumbprint_(std::move(thumbprint)),
      coordinate_size_(coordinate_size) {}

Result<AccountSigner> AccountSigner::create(ossl::PKey key) {
  std::string alg;
  int coordinate_size = 0;
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA: alg = "RS256"; break;
    case EVP_PKEY_EC: {
      const int bits = EVP_PKEY_get_bits(key.get());
      if (bits == 256) {
        alg = "ES256";
        coordinate_size = 32;
      } else if (bits == 384) {
        alg = "ES384";
        coordinate_size = 48;
      }
      break;
    }
    default: break;
  }
  if (alg.empty()) {
    return fail(Errc::unsupported,
                "ACME account keys must be ECDSA P-256, P-384 or RSA (ES256, ES384, RS256)");
  }
  std::string jwk = jwk_for(*key, coordinate_size);
  std::string thumbprint = base64url_encode(ossl::sha256(jwk));
  return AccountSigner(std::move(key), std::move(alg), std::move(jwk), std::move(thumbprint),
                       coordinate_size);
}

std::string AccountSigner::key_authorization(std::string_view token) const {
  return std::string(token) + "." + thumbprint_;
}

Result<std::string> AccountSigner::sign_raw(std::string_view signing_input) const {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  const EVP_MD* md = coordinate_size_ == 48 ? EVP_sha384() : EVP_sha256();
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, data, signing_input.size()) != 1) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot sign the JWS"));
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, data,
                     signing_input.size()) != 1) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot sign the JWS"));
  }
  signature.resize(len);
  if (coordinate_size_ > 0) {
    return der_to_raw_ecdsa(signature, coordinate_size_);
  }
  return signature;
}

Result<std::string> AccountSigner::sign(std::string_view url, std::string_view nonce,
                                        std::string_view kid, std::string_view payload) const {
  nlohmann::json header{{"alg", alg_}, {"url", url}};
  if (!nonce.empty()) {
    header["nonce"] = nonce;
  }
  if (kid.empty()) {
    header["jwk"] = nlohmann::json::parse(jwk_);
  } else {
    header["kid"] = kid;
  }
  const std::string protected_b64 = base64url_encode(header.dump());
  const std::string payload_b64 = base64url_encode(payload);
  CK_TRY(signature, sign_raw(protected_b64 + "." + payload_b64));
  return flattened(protected_b64, payload_b64, signature);
}

Result<std::string> external_account_binding(std::string_view kid, std::string_view hmac_key,
                                             std::string_view url, std::string_view account_jwk) {
  CK_TRY(key, base64url_decode(hmac_key));
  const std::string protected_b64 =
      base64url_encode(nlohmann::json{{"alg", "HS256"}, {"kid", kid}, {"url", url}}.dump());
  const std::string payload_b64 = base64url_encode(account_jwk);
  const std::string input = protected_b64 + "." + payload_b64;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len)) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot compute the EAB MAC"));
  }
  return flattened(protected_b64, payload_b64,
                   std::string(reinterpret_cast<const char*>(mac), mac_len));
}

}  // namespace ck::acme

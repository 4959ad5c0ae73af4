#include "core/keys.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <array>
#include <utility>

namespace ck {
namespace {

constexpr std::array<std::pair<KeyType, std::string_view>, 6> kKeyTypes{{
    {KeyType::ecdsa_p256, "ecdsa-p256"},
    {KeyType::ecdsa_p384, "ecdsa-p384"},
    {KeyType::rsa2048, "rsa2048"},
    {KeyType::rsa3072, "rsa3072"},
    {KeyType::rsa4096, "rsa4096"},
    {KeyType::ed25519, "ed25519"},
}};

Result<ossl::PKey> generate_rsa(unsigned bits) {
  ossl::PKey key(EVP_RSA_gen(bits));
  if (!key) {
    return std::unexpected(ossl::error(Errc::crypto, "RSA key generation failed"));
  }
  return key;
}

Result<ossl::PKey> generate_ec(const char* curve) {
  ossl::PKey key(EVP_EC_gen(curve));
  if (!key) {
    return std::unexpected(ossl::error(Errc::crypto, "EC key generation failed"));
  }
  return key;
}

Result<ossl::PKey> generate_ed25519() {
  ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) {
    return std::unexpected(ossl::error(Errc::crypto, "Ed25519 key generation failed"));
  }
  return key;
}

std::string ec_curve_name(const EVP_PKEY& key) {
  char name[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(&key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) !=
      1) {
    ERR_clear_error();
    return "unknown";
  }
  return std::string(name, len);
}

}  // namespace

Result<KeyType> parse_key_type(std::string_view name) {
  for (const auto& [type, spelling] : kKeyTypes) {
    if (spelling == name) {
      return type;
    }
  }
  return fail(Errc::invalid_argument, "unknown key type \"" + std::string(name) +
                                          "\"; expected one of " + std::string(key_type_names()));
}

std::string_view to_string(KeyType type) {
  for (const auto& [t, spelling] : kKeyTypes) {
    if (t == type) {
      return spelling;
    }
  }
  return "unknown";
}

std::string_view key_type_names() {
  return "ecdsa-p256, ecdsa-p384, rsa2048, rsa3072, rsa4096, ed25519";
}

Result<ossl::PKey> generate_key(KeyType type) {
  switch (type) {
    case KeyType::ecdsa_p256: return generate_ec("P-256");
    case KeyType::ecdsa_p384: return generate_ec("P-384");
    case KeyType::rsa2048: return generate_rsa(2048);
    case KeyType::rsa3072: return generate_rsa(3072);
    case KeyType::rsa4096: return generate_rsa(4096);
    case KeyType::ed25519: return generate_ed25519();
    default: return fail(Errc::unsupported, "unsupported key type");
  }
}

std::string describe_key(const EVP_PKEY& key) {
  switch (EVP_PKEY_get_base_id(&key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS: return "rsa" + std::to_string(EVP_PKEY_get_bits(&key));
    case EVP_PKEY_DSA: return "dsa" + std::to_string(EVP_PKEY_get_bits(&key));
    case EVP_PKEY_ED25519: return "ed25519";
    case EVP_PKEY_ED448: return "ed448";
    case EVP_PKEY_EC: {
      std::string curve = ec_curve_name(key);
      if (curve == "prime256v1" || curve == "P-256") {
        return "ecdsa-p256";
      }
      if (curve == "secp384r1" || curve == "P-384") {
        return "ecdsa-p384";
      }
      if (curve == "secp521r1" || curve == "P-521") {
        return "ecdsa-p521";
      }
      return "ecdsa-" + curve;
    }
    default: return "unknown";
  }
}

Result<std::string> private_key_to_pem(const EVP_PKEY& key) {
  ossl::Bio out = ossl::output_bio();
  if (!out ||
      PEM_write_bio_PrivateKey(out.get(), &key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot encode private key"));
  }
  return ossl::bio_contents(out.get());
}

Result<std::string> public_key_der(const EVP_PKEY& key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(&key, &der);
  if (len <= 0) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot encode public key"));
  }
  ossl::OpensslString owner(reinterpret_cast<char*>(der));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

Result<std::string> public_key_fingerprint(const EVP_PKEY& key) {
  CK_TRY(der, public_key_der(key));
  return ossl::hex(ossl::sha256(der));
}

Result<std::string> public_key_fingerprint(const X509& cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(&cert), &der);
  if (len <= 0) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot encode the certificate's public key"));
  }
  ossl::OpensslString owner(reinterpret_cast<char*>(der));
  return ossl::hex(ossl::sha256(std::string_view(owner.get(), static_cast<std::size_t>(len))));
}

bool same_public_key(const EVP_PKEY& a, const EVP_PKEY& b) {
  bool same = EVP_PKEY_eq(&a, &b) == 1;
  ERR_clear_error();
  return same;
}

}  // namespace ck

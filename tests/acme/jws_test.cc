#include <doctest/doctest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include "acme/jws.h"
#include "core/base64.h"
#include "core/keys.h"

using namespace ck;
using nlohmann::json;

namespace {

// An RSA public key from base64url n and e.
ossl::PKey rsa_public(const std::string& n, const std::string& e) {
  auto n_bytes = base64url_decode(n).value();
  auto e_bytes = base64url_decode(e).value();
  ossl::BigNum bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n_bytes.data()),
                              static_cast<int>(n_bytes.size()), nullptr));
  ossl::BigNum bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e_bytes.data()),
                              static_cast<int>(e_bytes.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ossl::Deleter<OSSL_PARAM_BLD_free>> build(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  std::unique_ptr<OSSL_PARAM, ossl::Deleter<OSSL_PARAM_free>> params(
      OSSL_PARAM_BLD_to_param(build.get()));
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) == 1);
  return ossl::PKey(raw);
}

// Checks a flattened JWS with the signer's public key, as a CA would.
bool verifies(const std::string& jws_json, const EVP_PKEY& key, int coordinate_size) {
  auto jws = json::parse(jws_json);
  const std::string input =
      jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  std::string signature = base64url_decode(jws["signature"].get<std::string>()).value();
  const EVP_MD* md = coordinate_size == 48 ? EVP_sha384() : EVP_sha256();
  if (coordinate_size > 0) {  // r || s back to DER
    REQUIRE(signature.size() == static_cast<std::size_t>(2 * coordinate_size));
    std::unique_ptr<ECDSA_SIG, ossl::Deleter<ECDSA_SIG_free>> sig(ECDSA_SIG_new());
    const auto* bytes = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG_set0(sig.get(), BN_bin2bn(bytes, coordinate_size, nullptr),
                   BN_bin2bn(bytes + coordinate_size, coordinate_size, nullptr));
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(sig.get(), &der);
    ossl::OpensslString owner(reinterpret_cast<char*>(der));
    signature.assign(owner.get(), static_cast<std::size_t>(len));
  }
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  return EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, const_cast<EVP_PKEY*>(&key)) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

}  // namespace

TEST_CASE("the JWK thumbprint matches RFC 7638 §3.1") {
  auto key = rsa_public(
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
      "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
      "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
      "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
      "AQAB");
  auto signer = acme::AccountSigner::create(std::move(key));
  REQUIRE(signer);
  CHECK(signer->algorithm() == "RS256");
  CHECK(signer->thumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  CHECK(signer->key_authorization("tok") == "tok.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_CASE("good: JWS signatures verify with the account key, per algorithm") {
  struct Case {
    KeyType type;
    std::string alg;
    int coordinate_size;
  };
  for (const Case& c :
       {Case{KeyType::ecdsa_p256, "ES256", 32}, Case{KeyType::ecdsa_p384, "ES384", 48},
        Case{KeyType::rsa2048, "RS256", 0}}) {
    CAPTURE(c.alg);
    auto key = generate_key(c.type).value();
    ossl::PKey copy(key.get());
    EVP_PKEY_up_ref(copy.get());
    auto signer = acme::AccountSigner::create(std::move(key)).value();
    CHECK(signer.algorithm() == c.alg);

    auto with_jwk = signer.sign("https://ca/new-account", "nonce-1", "", R"({"a":1})").value();
    CHECK(verifies(with_jwk, *copy, c.coordinate_size));
    auto header = json::parse(
        base64url_decode(json::parse(with_jwk)["protected"].get<std::string>()).value());
    CHECK(header["alg"] == c.alg);
    CHECK(header["nonce"] == "nonce-1");
    CHECK(header["url"] == "https://ca/new-account");
    CHECK(header["jwk"] == json::parse(signer.jwk_json()));
    CHECK_FALSE(header.contains("kid"));

    auto with_kid = signer.sign("https://ca/order/1", "nonce-2", "https://ca/acct/7", "").value();
    CHECK(verifies(with_kid, *copy, c.coordinate_size));
    auto parsed = json::parse(with_kid);
    CHECK(parsed["payload"] == "");  // POST-as-GET
    header = json::parse(base64url_decode(parsed["protected"].get<std::string>()).value());
    CHECK(header["kid"] == "https://ca/acct/7");
    CHECK_FALSE(header.contains("jwk"));
  }
}

TEST_CASE("bad: account keys ACME cannot use here are refused") {
  for (KeyType type : {KeyType::ed25519}) {
    auto signer = acme::AccountSigner::create(generate_key(type).value());
    REQUIRE_FALSE(signer);
    CHECK(signer.error().code == Errc::unsupported);
  }
}

TEST_CASE("External Account Binding is an HS256 JWS over the account key") {
  const std::string hmac_key = base64url_encode("0123456789abcdef0123456789abcdef");
  auto eab = acme::external_account_binding("kid-1", hmac_key, "https://ca/new-acct", R"({"k":1})");
  REQUIRE(eab);
  auto jws = json::parse(*eab);
  auto header = json::parse(base64url_decode(jws["protected"].get<std::string>()).value());
  CHECK(header == json{{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://ca/new-acct"}});
  CHECK(base64url_decode(jws["payload"].get<std::string>()).value() == R"({"k":1})");
  const std::string input =
      jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), "0123456789abcdef0123456789abcdef", 32,
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  CHECK(jws["signature"] == base64url_encode(std::string(reinterpret_cast<char*>(mac), len)));
  CHECK_FALSE(acme::external_account_binding("kid-1", "not base64url!", "u", "{}"));
}

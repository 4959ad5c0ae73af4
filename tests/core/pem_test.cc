#include <doctest/doctest.h>
#include <openssl/pem.h>

#include <algorithm>

#include "core/pem.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::test;

namespace {

std::string traditional_key_pem(const EVP_PKEY& key) {
  ossl::Bio out = ossl::output_bio();
  REQUIRE(PEM_write_bio_PrivateKey_traditional(out.get(), &key, nullptr, nullptr, 0, nullptr,
                                               nullptr) == 1);
  return ossl::bio_contents(out.get());
}

std::string encrypted_key_pem(const EVP_PKEY& key) {
  ossl::Bio out = ossl::output_bio();
  char password[] = "secret";
  REQUIRE(PEM_write_bio_PKCS8PrivateKey(out.get(), &key, EVP_aes_128_cbc(), password, 6, nullptr,
                                        nullptr) == 1);
  return ossl::bio_contents(out.get());
}

struct Fixture {
  Issued root = TestPki::root("PEM Root");
  Issued leaf = TestPki::leaf(root, {"pem.example"});
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "good PEM bundles parse with certificates in order and keys") {
  auto bundle = parse_pem_bundle("subject=CN=pem.example\n" + leaf.cert_pem() + root.cert_pem() +
                                 leaf.key_pem());
  REQUIRE(bundle);
  REQUIRE(bundle->certificates.size() == 2);
  CHECK(X509_cmp(bundle->certificates[0].get(), leaf.cert.get()) == 0);
  CHECK(X509_cmp(bundle->certificates[1].get(), root.cert.get()) == 0);
  REQUIRE(bundle->keys.size() == 1);
  CHECK(same_public_key(*bundle->keys[0], *leaf.key));
}

TEST_CASE("good private keys parse in PKCS#8, PKCS#1 and SEC1 form") {
  for (KeyType type : {KeyType::ecdsa_p256, KeyType::rsa2048, KeyType::ed25519}) {
    CAPTURE(to_string(type));
    auto key = generate_key(type).value();
    std::vector<std::string> forms{private_key_to_pem(*key).value()};
    if (type != KeyType::ed25519) {  // Ed25519 exists only in PKCS#8
      forms.push_back(traditional_key_pem(*key));
    }
    for (const std::string& pem : forms) {
      auto bundle = parse_pem_bundle(pem);
      REQUIRE(bundle);
      REQUIRE(bundle->keys.size() == 1);
      CHECK(same_public_key(*bundle->keys[0], *key));
    }
  }
}

TEST_CASE_FIXTURE(Fixture, "good DER certificate files parse") {
  auto der = ossl::x509_to_der(*leaf.cert).value();
  auto bundle = parse_pem_bundle(der);
  REQUIRE(bundle);
  CHECK(bundle->certificates.size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "bad PEM input is rejected with a precise reason") {
  const std::string cert = leaf.cert_pem();
  std::string corrupt_base64 = cert;
  corrupt_base64[40] = '!';
  std::string wrong_end = cert;
  wrong_end.replace(wrong_end.find("END CERTIFICATE"), 15, "END PRIVATE KEY");
  // A valid base64 body that is not a certificate: the key's DER under a CERTIFICATE label.
  std::string key_as_cert = leaf.key_pem();
  key_as_cert.replace(key_as_cert.find("BEGIN PRIVATE KEY"), 17, "BEGIN CERTIFICATE");
  key_as_cert.replace(key_as_cert.find("END PRIVATE KEY"), 15, "END CERTIFICATE");

  struct Case {
    std::string name;
    std::string input;
    const char* reason;
  };
  const Case cases[] = {
      {"bad_empty", "", "empty file"},
      {"bad_whitespace_only", " \n\t\n", "empty file"},
      {"bad_truncated", cert.substr(0, cert.size() / 2), "has no END line"},
      {"bad_truncated_then_next_block", cert.substr(0, cert.size() / 2) + "\n" + cert,
       "BEGIN inside"},
      {"bad_truncated_mid_line_then_next_block", cert.substr(0, cert.size() / 2) + cert,
       "invalid base64 character"},
      {"bad_base64", corrupt_base64, "invalid base64 character"},
      {"bad_mismatched_end", wrong_end, "does not match BEGIN CERTIFICATE"},
      {"bad_der_in_block", key_as_cert, "block 1 (CERTIFICATE, line 1): not a valid DER"},
      {"bad_garbage", "hello world\n", "neither PEM"},
      {"bad_only_csr",
       "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
       "no certificate or private key"},
      {"bad_encrypted_key", encrypted_key_pem(*leaf.key), "encrypted private key"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto bundle = parse_pem_bundle(c.input);
    REQUIRE_FALSE(bundle);
    CAPTURE(bundle.error().message);
    CHECK(bundle.error().message.find(c.reason) != std::string::npos);
  }
}

TEST_CASE_FIXTURE(Fixture, "bad: the second block's error names block 2 and its line") {
  std::string second = leaf.cert_pem();
  second[second.size() / 2] = '*';
  const std::string first = root.cert_pem();
  const std::string text = first + second;
  auto bundle = parse_pem_bundle(text);
  REQUIRE_FALSE(bundle);
  const int second_line = static_cast<int>(std::count(first.begin(), first.end(), '\n')) + 1;
  CHECK(bundle.error().message.find("block 2 (CERTIFICATE, line " + std::to_string(second_line) +
                                    ")") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "bad: bytes after a DER certificate are refused") {
  auto der = ossl::x509_to_der(*leaf.cert).value() + "xx";
  auto parsed = ossl::x509_from_der(der);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().message.find("2 unexpected bytes") != std::string::npos);
}

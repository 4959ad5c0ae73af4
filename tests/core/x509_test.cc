#include <doctest/doctest.h>

#include "core/x509_info.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::test;

TEST_CASE("a leaf's summary carries its names, dates, keys and identifiers") {
  Issued root = TestPki::root("Summary Root");
  Issued ca = TestPki::intermediate(root, "Summary Intermediate");
  CertificateSpec spec;
  spec.common_name = "www.example.test";
  spec.dns_names = {"www.example.test", "example.test"};
  spec.ip_addresses = {"127.0.0.1", "::1"};
  spec.not_before = kT0;
  spec.not_after = kT0 + 90 * kDay - 1;
  spec.serial_hex = "0A1B2C3D";
  Issued leaf = TestPki::make(spec, &ca);

  auto info = describe_certificate(*leaf.cert);
  REQUIRE(info);
  CHECK(info->dns_names == std::vector<std::string>{"www.example.test", "example.test"});
  CHECK(info->ip_addresses == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(info->subject_alt_names() == std::vector<std::string>{"DNS:www.example.test",
                                                              "DNS:example.test", "IP:127.0.0.1",
                                                              "IP:::1"});
  CHECK(info->display_name() == "www.example.test");
  CHECK(info->subject == "CN=www.example.test");
  CHECK(info->issuer_cn == "Summary Intermediate");
  CHECK(info->not_before == kT0);
  CHECK(info->not_after == kT0 + 90 * kDay - 1);
  CHECK(info->serial == "0a1b2c3d");  // whole bytes, as openssl x509 -serial prints
  CHECK(info->key_type == "ecdsa-p256");
  CHECK(info->public_key_sha256 == public_key_fingerprint(*leaf.key).value());
  CHECK(info->sha256 == ossl::hex(ossl::sha256(ossl::x509_to_der(*leaf.cert).value())));
  CHECK_FALSE(info->is_ca);

  auto ca_info = describe_certificate(*ca.cert).value();
  CHECK(ca_info.is_ca);
  CHECK(info->authority_key_id == ca_info.subject_key_id);
  CHECK(describe_certificate(*root.cert).value().self_issued);
}

TEST_CASE("key types generate and describe themselves") {
  for (KeyType type : {KeyType::ecdsa_p256, KeyType::ecdsa_p384, KeyType::rsa2048, KeyType::rsa3072,
                       KeyType::ed25519}) {
    CAPTURE(to_string(type));
    auto key = generate_key(type);
    REQUIRE(key);
    CHECK(describe_key(**key) == to_string(type));
    CHECK(parse_key_type(to_string(type)).value() == type);
  }
  auto bad = parse_key_type("rsa1024");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("ecdsa-p256") != std::string::npos);
}

TEST_CASE("a certificate names the holder of the only matching key") {
  Issued root = TestPki::root("Match Root");
  Issued a = TestPki::leaf(root, {"a.example"});
  Issued b = TestPki::leaf(root, {"b.example"});
  CHECK(same_public_key(*X509_get0_pubkey(a.cert.get()), *a.key));
  CHECK_FALSE(same_public_key(*X509_get0_pubkey(a.cert.get()), *b.key));
}

TEST_CASE("display names fall back from DNS to IP to CN to fingerprint") {
  CertificateInfo info;
  info.sha256 = std::string(64, 'a');
  CHECK(info.display_name() == std::string(16, 'a'));
  info.subject_cn = "Some CA";
  CHECK(info.display_name() == "Some CA");
  info.ip_addresses = {"192.0.2.7"};
  CHECK(info.display_name() == "192.0.2.7");
  info.dns_names = {"x.example"};
  CHECK(info.display_name() == "x.example");
}

// An OCSP responder's answer about a certificate of a CA made once here.
#include <string>

#include "core/keys.h"
#include "core/x509_build.h"
#include "fuzz/fuzz_support.h"
#include "validator/ocsp.h"

namespace {

struct Pair {
  ck::ossl::X509Ptr issuer;
  ck::ossl::X509Ptr leaf;
};

Pair make_pair() {
  constexpr std::int64_t kNow = 1'800'000'000;
  auto key = ck::generate_key(ck::KeyType::ecdsa_p256).value();
  ck::CertificateSpec ca{.common_name = "Fuzz CA",
                         .not_before = kNow - 86400,
                         .not_after = kNow + 86400,
                         .is_ca = true};
  auto issuer = ck::build_certificate(ca, *key, nullptr, *key).value();
  ck::CertificateSpec leaf{.common_name = "fuzz.example",
                           .dns_names = {"fuzz.example"},
                           .not_before = kNow - 86400,
                           .not_after = kNow + 86400};
  auto cert = ck::build_certificate(leaf, *key, issuer.get(), *key).value();
  return {std::move(issuer), std::move(cert)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Pair pair = make_pair();
  static_cast<void>(ck::validator::verify_ocsp_response(std::string(ck::fuzz::text(data, size)),
                                                        *pair.leaf, *pair.issuer, 1'800'000'000));
  return 0;
}

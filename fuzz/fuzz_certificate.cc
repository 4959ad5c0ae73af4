// A DER certificate, as a CA or an endpoint sends it: the facts the rules read.
#include "core/openssl.h"
#include "fuzz/fuzz_support.h"
#include "validator/certificate_facts.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto cert = ck::ossl::x509_from_der(ck::fuzz::text(data, size));
  if (cert) {
    static_cast<void>(ck::validator::read_facts(**cert));
  }
  return 0;
}

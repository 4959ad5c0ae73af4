// A CRL as a distribution point serves it: parsed and indexed, then asked.
#include "fuzz/fuzz_support.h"
#include "validator/crl.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto crl = ck::validator::Crl::parse(std::string(ck::fuzz::text(data, size)));
  if (crl) {
    static_cast<void>((*crl)->find(ck::validator::serial_octets("01")));
  }
  return 0;
}

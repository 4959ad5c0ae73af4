// The PEM reader (and its DER fallback): a file an operator imports.
#include "core/pem.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static_cast<void>(ck::parse_pem_blocks(ck::fuzz::text(data, size)));
  static_cast<void>(ck::parse_pem_bundle(ck::fuzz::text(data, size)));
  return 0;
}

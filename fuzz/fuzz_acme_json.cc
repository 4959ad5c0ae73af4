// What an ACME server answers: its directory, problem documents, ARI windows.
#include "acme/ari.h"
#include "acme/client.h"
#include "acme/problem.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto json = ck::fuzz::text(data, size);
  static_cast<void>(ck::acme::parse_directory(json));
  static_cast<void>(ck::acme::parse_problem(json));
  static_cast<void>(ck::acme::parse_renewal_info(json));
  return 0;
}

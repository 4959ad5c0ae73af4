// The TOML configuration, with every check the service and `config check` make.
#include "daemon/lifecycle/config.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static_cast<void>(ck::daemon::parse_config(ck::fuzz::text(data, size), "fuzz.toml"));
  return 0;
}

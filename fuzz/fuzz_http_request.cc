// What a client of the metrics listener sends as its request head.
#include "daemon/service/http_listener.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static_cast<void>(ck::daemon::parse_http_request(ck::fuzz::text(data, size)));
  return 0;
}

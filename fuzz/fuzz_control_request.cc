// What a peer of the control socket sends: framed into lines, each parsed.
#include <string>

#include "daemon/service/control_protocol.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string buffer(ck::fuzz::text(data, size));
  auto lines = ck::daemon::take_lines(buffer);
  if (lines) {
    for (const auto& line : *lines) {
      static_cast<void>(ck::daemon::parse_request(line));
    }
  }
  return 0;
}

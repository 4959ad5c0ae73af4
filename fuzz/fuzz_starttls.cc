// A mail server's replies before STARTTLS: the first byte picks the protocol
// and the step, the rest is what the server said.
#include "fuzz/fuzz_support.h"
#include "validator/probe/starttls.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  using ck::validator::StarttlsProtocol;
  static constexpr StarttlsProtocol kProtocols[] = {StarttlsProtocol::smtp, StarttlsProtocol::imap,
                                                    StarttlsProtocol::pop3};
  const StarttlsProtocol protocol = kProtocols[data[0] % 3];
  const int step = (data[0] >> 2) % 4;
  static_cast<void>(
      ck::validator::starttls_step(protocol, step, ck::fuzz::text(data + 1, size - 1)));
  return 0;
}

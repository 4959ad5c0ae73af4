// What a probed endpoint answers to a ClientHello: records, ServerHello, alerts,
// TLS 1.2's flight on to the ServerKeyExchange;
// and to SSL 2.0's hello, its SERVER-HELLO.
#include <span>

#include "fuzz/fuzz_support.h"
#include "validator/probe/client_hello.h"
#include "validator/probe/server_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static_cast<void>(ck::validator::read_server_hello(std::span(data, size)));
  static_cast<void>(ck::validator::read_server_key_exchange(std::span(data, size)));
  static_cast<void>(ck::validator::read_sslv2_server_hello(std::span(data, size)));
  return 0;
}

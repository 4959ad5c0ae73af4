// IP literals to bytes and back: the one conversion certificates, ACME and
// probes share.

#include <doctest/doctest.h>

#include "core/ip_address.h"

using namespace ck;

TEST_CASE("good: IPv4 and IPv6 literals are 4 and 16 bytes, and back to the same text") {
  for (const std::string text : {"192.0.2.1", "::1", "2001:db8::8"}) {
    CAPTURE(text);
    const auto bytes = ip_address_bytes(text);
    REQUIRE(bytes);
    CHECK(bytes->size() == (text.find(':') == std::string::npos ? 4u : 16u));
    CHECK(ip_address_text(*bytes) == text);
  }
  CHECK(*ip_address_bytes("10.0.0.255") == std::string("\x0a\x00\x00\xff", 4));
}

TEST_CASE("bad: names, ports, ranges and odd lengths are not addresses") {
  for (const std::string text : {"", "example.com", "1.2.3", "1.2.3.4:443", "[::1]", "256.0.0.1"}) {
    CAPTURE(text);
    CHECK_FALSE(ip_address_bytes(text));
  }
  CHECK_FALSE(ip_address_text(""));
  CHECK_FALSE(ip_address_text(std::string(5, '\x01')));
  CHECK_FALSE(ip_address_text(std::string(15, '\x01')));
}

TEST_CASE("loopback: 127.0.0.0/8, ::1 and mapped 127.x are loopback; nothing else is") {
  for (const std::string text : {"127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"}) {
    CAPTURE(text);
    CHECK(is_loopback(*ip_address_bytes(text)));
  }
  for (const std::string text :
       {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1"}) {
    CAPTURE(text);
    CHECK_FALSE(is_loopback(*ip_address_bytes(text)));
  }
  CHECK_FALSE(is_loopback(""));
}

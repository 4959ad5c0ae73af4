// The one HOST[:PORT] parser: each accepted form beside its refused twin.

#include <doctest/doctest.h>

#include "core/host_port.h"

using namespace ck;

TEST_CASE("host:port: the forms operators write, and what is refused") {
  struct Case {
    std::string name;
    std::string text;
    int default_port;
    bool ok;
    HostPort expected;
  };
  const Case cases[] = {
      {"good_name_default_port", "example.com", 443, true, {"example.com", 443}},
      {"bad_name_port_required", "example.com", 0, false, {}},
      {"good_name_port", "example.com:8443", 0, true, {"example.com", 8443}},
      {"good_ipv4_port", "192.0.2.1:53", 0, true, {"192.0.2.1", 53}},
      {"good_ipv4_default", "192.0.2.1", 53, true, {"192.0.2.1", 53}},
      {"good_bracketed_v6_port", "[2001:db8::1]:443", 0, true, {"2001:db8::1", 443}},
      {"good_bracketed_v6_default", "[::1]", 443, true, {"::1", 443}},
      {"good_bare_v6_default", "2001:db8::1", 443, true, {"2001:db8::1", 443}},
      {"bad_bare_v6_needs_port", "2001:db8::1", 0, false, {}},
      {"bad_unbalanced_bracket", "[::1:443", 443, false, {}},
      {"bad_junk_after_bracket", "[::1]x443", 443, false, {}},
      {"bad_empty_host", ":443", 443, false, {}},
      {"bad_empty", "", 443, false, {}},
      {"bad_port_zero", "example.com:0", 443, false, {}},
      {"bad_port_too_big", "example.com:65536", 443, false, {}},
      {"good_port_max", "example.com:65535", 443, true, {"example.com", 65535}},
      {"bad_port_letters", "example.com:https", 443, false, {}},
      {"bad_port_empty", "example.com:", 443, false, {}},
      {"bad_port_sign", "example.com:+443", 443, false, {}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto parsed = parse_host_port(c.text, c.default_port);
    REQUIRE(parsed.has_value() == c.ok);
    if (c.ok) {
      CHECK(*parsed == c.expected);
    } else {
      CHECK(parsed.error().code == Errc::invalid_argument);
      CHECK(parsed.error().message.find("\"" + c.text + "\"") != std::string::npos);
    }
  }
  CHECK(format_host_port({"::1", 443}) == "[::1]:443");
  CHECK(format_host_port({"example.com", 80}) == "example.com:80");
}

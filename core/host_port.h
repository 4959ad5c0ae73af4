#pragma once
// HOST[:PORT] as operators write it, for every place that takes one: probe
// targets, listeners, DNS resolvers, the configuration. One parser, so that a
// form the command line accepts is accepted in the configuration too.

#include <string>
#include <string_view>

#include "core/error.h"

namespace ck {

struct HostPort {
  std::string host;  // a name or an IP literal, without brackets
  int port = 0;
  bool operator==(const HostPort&) const = default;
};

// "host", "host:port", "1.2.3.4:port", "[v6]:port", "[v6]" or a bare IPv6
// address. Without a port, `default_port`; 0 means a port is required.
// Errors (invalid_argument) name the text: an empty host, an unbalanced
// bracket, a port that is not 1-65535.
[[nodiscard]] Result<HostPort> parse_host_port(std::string_view text, int default_port);

// "host:port", with brackets around an IPv6 literal.
[[nodiscard]] std::string format_host_port(const HostPort& endpoint);

}  // namespace ck

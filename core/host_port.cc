#include "core/host_port.h"

#include <algorithm>

namespace ck {
namespace {

// The port of `digits`, or 0 when it is not a number from 1 to 65535.
int port_number(std::string_view digits) {
  if (digits.empty() || digits.size() > 5 ||
      !std::ranges::all_of(digits, [](char c) { return c >= '0' && c <= '9'; })) {
    return 0;
  }
  const int port = std::stoi(std::string(digits));
  return port <= 65535 ? port : 0;
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text, int default_port) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  std::string_view host = text;
  std::string_view port;
  bool has_port = false;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return fail(Errc::invalid_argument, "unbalanced [ in " + quoted);
    }
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      return fail(Errc::invalid_argument, "expected HOST[:PORT], found " + quoted);
    }
    has_port = !rest.empty();
    port = has_port ? rest.substr(1) : rest;
  } else if (std::ranges::count(text, ':') == 1) {  // more than one: a bare IPv6 address
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) {
    return fail(Errc::invalid_argument, "no host in " + quoted);
  }
  const int number = has_port ? port_number(port) : default_port;
  if (number == 0) {
    return fail(Errc::invalid_argument, has_port ? "the port in " + quoted + " is not 1-65535"
                                                 : "no port in " + quoted + ": expected HOST:PORT");
  }
  return HostPort{std::string(host), number};
}

std::string format_host_port(const HostPort& endpoint) {
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

}  // namespace ck

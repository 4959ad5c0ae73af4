#pragma once
// Name resolution for probes, all names at once and bounded in time: glibc's
// getaddrinfo_a runs the lookups concurrently; whatever has not answered by the
// deadline is a timeout. Address literals never reach the resolver.

#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace ck::validator {

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
};
// Every address of a name, in the order to try them (glibc's RFC 6724 order).
using Endpoints = std::vector<Endpoint>;

struct HostPort {
  std::string host;
  int port = 0;
};

// One result per entry, in order: the addresses of each, or why not.
[[nodiscard]] std::vector<Result<Endpoints>> resolve_all(std::span<const HostPort> names,
                                                         std::chrono::milliseconds timeout);

}  // namespace ck::validator

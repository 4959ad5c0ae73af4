#pragma once
// Name resolution for probes, all names at once and bounded in time. c-ares
// runs every lookup on one channel driven by a poll loop in the caller's
// thread: when resolve_all() returns, every lookup has ended or been cancelled
// and nothing of it runs on (glibc's getaddrinfo_a, used before, notified its
// waiters from a thread of its own after they had gone). Address literals never
// reach the resolver.
//
// c-ares reads /etc/hosts and /etc/resolv.conf itself; it does not go through
// NSS, so names known only to an NSS module (mDNS, systemd-resolved's
// "myhostname") are not found.

#include <sys/socket.h>

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/host_port.h"

namespace ck::validator {

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
};
// Every address of a name, in the order to try them (RFC 6724, as c-ares sorts).
using Endpoints = std::vector<Endpoint>;

struct ResolverOptions {
  // DNS servers as c-ares's CSV ("127.0.0.1:5300,[::1]:53"); "" = /etc/resolv.conf's.
  std::string servers;
};

// One result per entry, in order: the addresses of each, or why not. Lookups
// still unanswered when `timeout` (measured on `clock`'s monotonic time) has
// passed are cancelled and are timeouts.
[[nodiscard]] std::vector<Result<Endpoints>> resolve_all(std::span<const HostPort> names,
                                                         std::chrono::milliseconds timeout,
                                                         const Clock& clock,
                                                         const ResolverOptions& options = {});

}  // namespace ck::validator

#include "validator/probe/resolver.h"

#include <ares.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

namespace ck::validator {
namespace {

using std::chrono::milliseconds;

struct ChannelDeleter {
  void operator()(ares_channel channel) const { ares_destroy(channel); }
};
// Destroying the channel ends every lookup on it (callbacks see ARES_EDESTRUCTION).
using Channel = std::unique_ptr<std::remove_pointer_t<ares_channel>, ChannelDeleter>;

struct AddrinfoDeleter {
  void operator()(ares_addrinfo* info) const { ares_freeaddrinfo(info); }
};
using AddrinfoPtr = std::unique_ptr<ares_addrinfo, AddrinfoDeleter>;

void set_port(sockaddr_storage& address, int port) {
  const auto network_port = htons(static_cast<std::uint16_t>(port));
  if (address.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in&>(address).sin_port = network_port;
  } else if (address.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6&>(address).sin6_port = network_port;
  }
}

// Appends `address` unless it is there already.
void add_once(Endpoints& out, const sockaddr* address, socklen_t length, int port) {
  if (length > sizeof(sockaddr_storage)) {
    return;
  }
  Endpoint e;
  std::memcpy(&e.address, address, length);
  e.length = length;
  set_port(e.address, port);
  const bool seen = std::ranges::any_of(out, [&](const Endpoint& o) {
    return o.length == e.length && std::memcmp(&o.address, &e.address, e.length) == 0;
  });
  if (!seen) {
    out.push_back(e);
  }
}

// An IP literal resolves to itself, without the resolver.
std::optional<Endpoints> literal(const HostPort& name) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (::getaddrinfo(name.host.c_str(), std::to_string(name.port).c_str(), &hints, &found) != 0) {
    return std::nullopt;
  }
  Endpoints out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    add_once(out, a->ai_addr, a->ai_addrlen, name.port);
  }
  ::freeaddrinfo(found);
  return out;
}

// One lookup's state; c-ares calls on_answer exactly once for it, from inside
// ares_getaddrinfo, ares_process_fd, ares_cancel or ares_destroy: always on
// this thread, while resolve_all's frame is alive.
struct Lookup {
  const HostPort* name = nullptr;
  bool answered = false;
  int status = ARES_SUCCESS;
  Endpoints endpoints;
};

void on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  const AddrinfoPtr owned(result);
  auto& lookup = *static_cast<Lookup*>(arg);
  lookup.answered = true;
  lookup.status = status;
  if (status == ARES_SUCCESS && result) {
    for (const ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
      add_once(lookup.endpoints, n->ai_addr, n->ai_addrlen, lookup.name->port);
    }
  }
}

Result<Endpoints> outcome_of(const Lookup& lookup, milliseconds timeout) {
  const std::string& host = lookup.name->host;
  switch (lookup.status) {
    case ARES_SUCCESS:
      if (lookup.endpoints.empty()) {
        return fail(Errc::network, "cannot resolve: the name has no address", host);
      }
      return lookup.endpoints;
    case ARES_ECANCELLED:
      return fail(Errc::timeout,
                  "name resolution took longer than " + std::to_string(timeout.count()) + " ms",
                  host, true);
    case ARES_ENOTFOUND:
    case ARES_ENODATA: return fail(Errc::network, "cannot resolve: the name is not known", host);
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
    case ARES_ESERVFAIL:
      return fail(Errc::network, std::string("cannot resolve: ") + ares_strerror(lookup.status),
                  host, true);
    default:
      return fail(Errc::network, std::string("cannot resolve: ") + ares_strerror(lookup.status),
                  host);
  }
}

Result<Channel> open_channel(const ResolverOptions& options) {
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);  // once, thread-safe
  if (library != ARES_SUCCESS) {
    return fail(Errc::internal, std::string("c-ares: ") + ares_strerror(library));
  }
  ares_channel raw = nullptr;
  ares_options none{};
  if (const int rc = ares_init_options(&raw, &none, 0); rc != ARES_SUCCESS) {
    return fail(Errc::internal, std::string("c-ares: ") + ares_strerror(rc));
  }
  Channel channel(raw);
  if (!options.servers.empty()) {
    if (const int rc = ares_set_servers_ports_csv(raw, options.servers.c_str());
        rc != ARES_SUCCESS) {
      return fail(Errc::invalid_argument,
                  std::string("DNS servers \"") + options.servers + "\": " + ares_strerror(rc));
    }
  }
  return channel;
}

// Waits for the channel's sockets or its next timeout, at most `left`, and
// lets c-ares process whatever happened.
void drive(ares_channel channel, milliseconds left) {
  ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
  const int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
  std::vector<pollfd> fds;
  for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
    short events = 0;
    if (ARES_GETSOCK_READABLE(bits, i)) {
      events |= POLLIN;
    }
    if (ARES_GETSOCK_WRITABLE(bits, i)) {
      events |= POLLOUT;
    }
    if (events != 0) {
      fds.push_back({sockets[i], events, 0});
    }
  }
  timeval most{static_cast<time_t>(left.count() / 1000),
               static_cast<suseconds_t>(left.count() % 1000 * 1000)};
  timeval wait{};
  const timeval* next = ares_timeout(channel, &most, &wait);
  const auto wait_ms = static_cast<int>(next->tv_sec * 1000 + (next->tv_usec + 999) / 1000);
  ::poll(fds.data(), fds.size(), wait_ms);
  for (const pollfd& p : fds) {
    if (p.revents != 0) {
      ares_process_fd(channel, (p.revents & (POLLIN | POLLERR | POLLHUP)) ? p.fd : ARES_SOCKET_BAD,
                      (p.revents & POLLOUT) ? p.fd : ARES_SOCKET_BAD);
    }
  }
  ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retries and timeouts due
}

}  // namespace

std::vector<Result<Endpoints>> resolve_all(std::span<const HostPort> names, milliseconds timeout,
                                           const Clock& clock, const ResolverOptions& options) {
  std::vector<Result<Endpoints>> results(
      names.size(), Result<Endpoints>(std::unexpected(Error{Errc::internal, "not resolved"})));
  std::vector<Lookup> lookups(names.size());  // never resized while c-ares holds pointers
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < names.size(); ++i) {
    lookups[i].name = &names[i];
    if (names[i].host.empty()) {
      results[i] = fail(Errc::invalid_argument, "no host name to resolve");
    } else if (auto endpoints = literal(names[i])) {
      results[i] = std::move(*endpoints);
    } else {
      asked.push_back(i);
    }
  }
  if (asked.empty()) {
    return results;
  }
  auto channel = open_channel(options);
  if (!channel) {
    for (std::size_t i : asked) {
      results[i] = fail(channel.error().within(names[i].host));
    }
    return results;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_NUMERICSERV;
  for (std::size_t i : asked) {
    ares_getaddrinfo(channel->get(), names[i].host.c_str(), std::to_string(names[i].port).c_str(),
                     &hints, on_answer, &lookups[i]);
  }
  auto unanswered = [&] {
    return std::ranges::any_of(asked, [&](std::size_t i) { return !lookups[i].answered; });
  };
  const MonoTime deadline = clock.monotonic() + timeout;
  for (MonoTime now = clock.monotonic(); unanswered() && now < deadline; now = clock.monotonic()) {
    drive(channel->get(), std::chrono::ceil<milliseconds>(deadline - now));
  }
  ares_cancel(channel->get());  // what is left answers ARES_ECANCELLED, here and now
  for (std::size_t i : asked) {
    results[i] = outcome_of(lookups[i], timeout);
  }
  return results;
}

}  // namespace ck::validator

#include "validator/resolver.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>

namespace ck::validator {
namespace {

// Each address once (SOCK_STREAM hints already give one entry per address).
Endpoints endpoints_of(const addrinfo* found) {
  Endpoints out;
  for (; found != nullptr; found = found->ai_next) {
    Endpoint e;
    std::memcpy(&e.address, found->ai_addr, found->ai_addrlen);
    e.length = found->ai_addrlen;
    const bool seen = std::ranges::any_of(out, [&](const Endpoint& o) {
      return o.length == e.length && std::memcmp(&o.address, &e.address, e.length) == 0;
    });
    if (!seen) {
      out.push_back(e);
    }
  }
  return out;
}

// What getaddrinfo_a reads and writes until each lookup has ended.
struct Lookup {
  std::string host;
  std::string service;
  addrinfo hints{};
  gaicb request{};
};

}  // namespace

std::vector<Result<Endpoints>> resolve_all(std::span<const HostPort> names,
                                           std::chrono::milliseconds timeout) {
  std::vector<Result<Endpoints>> results(
      names.size(), Result<Endpoints>(std::unexpected(Error{Errc::internal, "not resolved"})));
  auto lookups = std::make_unique<std::vector<Lookup>>();
  lookups->reserve(names.size());
  std::vector<std::size_t> pending;  // index into names, per lookup
  for (std::size_t i = 0; i < names.size(); ++i) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(names[i].port);
    if (::getaddrinfo(names[i].host.c_str(), service.c_str(), &hints, &found) == 0) {
      results[i] = endpoints_of(found);  // an address literal
      ::freeaddrinfo(found);
      continue;
    }
    Lookup& l = lookups->emplace_back();
    l.host = names[i].host;
    l.service = service;
    l.hints.ai_socktype = SOCK_STREAM;
    l.hints.ai_flags = AI_NUMERICSERV;
    l.request = gaicb{l.host.c_str(), l.service.c_str(), &l.hints, nullptr};
    pending.push_back(i);
  }
  if (lookups->empty()) {
    return results;
  }
  std::vector<gaicb*> list;
  for (Lookup& l : *lookups) {
    list.push_back(&l.request);
  }
  if (const int rc =
          ::getaddrinfo_a(GAI_NOWAIT, list.data(), static_cast<int>(list.size()), nullptr);
      rc != 0) {
    for (std::size_t i : pending) {
      results[i] =
          fail(Errc::network, std::string("cannot resolve: ") + ::gai_strerror(rc), names[i].host);
    }
    return results;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto in_progress = [&] {
    return std::ranges::any_of(list, [](gaicb* r) { return ::gai_error(r) == EAI_INPROGRESS; });
  };
  while (in_progress() && std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        deadline - std::chrono::steady_clock::now());
    timespec wait{static_cast<time_t>(left.count() / 1'000'000'000),
                  static_cast<long>(left.count() % 1'000'000'000)};
    std::vector<const gaicb*> waiting(list.begin(), list.end());
    ::gai_suspend(waiting.data(), static_cast<int>(waiting.size()), &wait);
  }
  bool abandoned = false;
  for (std::size_t k = 0; k < list.size(); ++k) {
    const std::size_t i = pending[k];
    int rc = ::gai_error(list[k]);
    if (rc == EAI_INPROGRESS && ::gai_cancel(list[k]) != EAI_CANCELED) {
      abandoned = true;  // still running in glibc's thread: its memory must outlive it
    }
    if (rc == 0 && list[k]->ar_result) {
      results[i] = endpoints_of(list[k]->ar_result);
      ::freeaddrinfo(list[k]->ar_result);
    } else {
      results[i] = fail(rc == EAI_INPROGRESS ? Errc::timeout : Errc::network,
                        rc == EAI_INPROGRESS ? "name resolution took longer than " +
                                                   std::to_string(timeout.count()) + " ms"
                                             : std::string("cannot resolve: ") + ::gai_strerror(rc),
                        names[i].host, rc == EAI_INPROGRESS || rc == EAI_AGAIN);
    }
  }
  if (abandoned) {
    (void)lookups.release();  // deliberately kept: a lookup glibc could not cancel still uses it
  }
  return results;
}

}  // namespace ck::validator

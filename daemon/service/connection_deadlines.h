#pragma once
// The one way the service's socket servers (the control socket, the HTTP
// listener) end connections that have had their time: closed and forgotten,
// and the soonest deadline of the rest told, for the poll loop's timeout.

#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>

#include "core/clock.h"

namespace ck::daemon {

// Connections by descriptor; `deadline_of(connection)` says until when each
// may stay (a MonoTime, or an optional one: none for no deadline).
template <typename Connection, typename DeadlineOf>
std::optional<MonoTime> close_expired(std::map<int, Connection>& connections, MonoTime now,
                                      DeadlineOf deadline_of) {
  std::optional<MonoTime> soonest;
  for (auto it = connections.begin(); it != connections.end();) {
    const std::optional<MonoTime> until = deadline_of(it->second);
    if (!until) {
      ++it;
      continue;
    }
    const MonoTime deadline = *until;
    if (deadline <= now) {
      ::close(it->first);
      it = connections.erase(it);
      continue;
    }
    soonest = soonest ? std::min(*soonest, deadline) : deadline;
    ++it;
  }
  return soonest;
}

}  // namespace ck::daemon

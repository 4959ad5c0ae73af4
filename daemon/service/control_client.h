#pragma once
// The client side of the control socket, for the CLI: one request, one answer.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace ck::daemon {

// Sends {"id": 1, "cmd": cmd, "args": args} to the service at `socket_path`
// and returns its "result". Errors: not_found when no service listens there
// (the CLI then works alone on the inventory), timeout, and the service's own
// error answer (its code kept in the message, e.g. "forbidden: ...").
[[nodiscard]] Result<nlohmann::json> ask_service(const std::string& socket_path,
                                                 const std::string& cmd, const nlohmann::json& args,
                                                 std::chrono::milliseconds timeout);

}  // namespace ck::daemon

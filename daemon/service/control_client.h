#pragma once
// The client side of the control socket, for the CLI: one request, one answer.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace ck::daemon {

// The service's answer: its result, or its own error (DESIGN.md's codes:
// "not_found", "forbidden", "bad_request", "unsupported", ...).
struct ServiceAnswer {
  bool ok = false;
  nlohmann::json result;
  std::string code;
  std::string message;
};

// Sends {"id": 1, "cmd": cmd, "args": args} to the service at `socket_path`
// and returns its answer. Errors are the exchange's: not_found when no service
// listens there (the CLI then works alone on the inventory), timeout, io,
// protocol (an answer that is not a response).
[[nodiscard]] Result<ServiceAnswer> ask_service(const std::string& socket_path,
                                                const std::string& cmd, const nlohmann::json& args,
                                                std::chrono::milliseconds timeout);

}  // namespace ck::daemon

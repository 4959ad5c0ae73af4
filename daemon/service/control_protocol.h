#pragma once
// The control socket's protocol (DESIGN.md): newline-delimited JSON. A request
// {"id": 1, "cmd": "status", "args": {}} gets one response
// {"id": 1, "ok": true, "result": {...}} or
// {"id": 1, "ok": false, "error": {"code": "...", "message": "..."}}.
// Pure: framing, parsing and who may do what; the server does the I/O.

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace ck::daemon {

// A request line longer than this is refused, and the connection closed.
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;

enum class Access {
  read,    // members of the service's group
  change,  // root or the service's user only
};

struct ControlRequest {
  nlohmann::json id;  // echoed as given (a number or a string); null when absent
  std::string cmd;
  nlohmann::json args = nlohmann::json::object();
};

// What a command needs; nullopt for a command the service does not know.
[[nodiscard]] std::optional<Access> access_of(std::string_view cmd);

// One request line (without its newline), its arguments checked against what
// its command takes (names and JSON types). Errors (Errc::parse or
// Errc::invalid_argument) say what is wrong, for the error answer.
[[nodiscard]] Result<ControlRequest> parse_request(std::string_view line);

// The id of a request line that failed to parse, when it can be read at all.
[[nodiscard]] nlohmann::json id_of(std::string_view line);

[[nodiscard]] std::string ok_response(const nlohmann::json& id, nlohmann::json result);
[[nodiscard]] std::string error_response(const nlohmann::json& id, std::string_view code,
                                         std::string_view message);

// Who is on the other end (SO_PEERCRED, and the peer user's groups).
struct Peer {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
};
struct ServiceIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
};
[[nodiscard]] bool may(const Peer& peer, const ServiceIdentity& service, Access access);

// Splits what a connection has sent into complete lines. Bytes of an
// unfinished line stay in `buffer`; a line (or an unfinished one) over
// kMaxRequestBytes is an error (Errc::too_large).
[[nodiscard]] Result<std::vector<std::string>> take_lines(std::string& buffer);

}  // namespace ck::daemon

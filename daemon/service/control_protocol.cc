#include "daemon/service/control_protocol.h"

#include <algorithm>
#include <array>
#include <utility>

namespace ck::daemon {
namespace {

constexpr std::array<std::pair<std::string_view, Access>, 10> kCommands{{
    {"status", Access::read},
    {"metrics", Access::read},
    {"list", Access::read},
    {"show", Access::read},
    {"events", Access::read},
    {"alerts", Access::read},
    {"renew", Access::change},
    {"revoke", Access::change},
    {"probe", Access::change},
    {"reload", Access::change},
}};

// Each command's arguments and their JSON types: a request is checked
// against them before the service reads it, so that a handler never meets a
// number where it reads a string, and an argument the service does not know is
// refused rather than ignored.
enum class ArgType { string, boolean, count };
struct Arg {
  std::string_view name;
  ArgType type;
};
constexpr std::pair<std::string_view, std::array<Arg, 6>> kArgs[] = {
    {"status", {{{"limit", ArgType::count}, {"name", ArgType::string}}}},
    {"show", {{{"certificate", ArgType::string}}}},
    {"events", {{{"name", ArgType::string}, {"limit", ArgType::count}}}},
    {"alerts",
     {{{"open", ArgType::boolean}, {"name", ArgType::string}, {"limit", ArgType::count}}}},
    {"renew", {{{"name", ArgType::string}, {"force", ArgType::boolean}}}},
    {"revoke",
     {{{"certificate", ArgType::string},
       {"reason", ArgType::string},
       {"server", ArgType::string},
       {"ca_file", ArgType::string},
       {"with_certificate_key", ArgType::boolean},
       {"timeout_seconds", ArgType::count}}}},
    {"probe", {{{"name", ArgType::string}}}},
};

Status check_args(const std::string& cmd, const nlohmann::json& args) {
  const std::array<Arg, 6>* known = nullptr;
  for (const auto& [name, list] : kArgs) {
    if (name == cmd) {
      known = &list;
    }
  }
  for (const auto& [key, value] : args.items()) {
    const Arg* arg = nullptr;
    if (known) {
      for (const Arg& a : *known) {
        if (!a.name.empty() && a.name == key) {
          arg = &a;
        }
      }
    }
    if (!arg) {
      return fail(Errc::invalid_argument, cmd + " takes no argument \"" + key + "\"");
    }
    const bool fits = arg->type == ArgType::string    ? value.is_string()
                      : arg->type == ArgType::boolean ? value.is_boolean()
                                                      : value.is_number_unsigned();
    if (!fits) {
      return fail(Errc::invalid_argument,
                  "\"" + key + "\" must be " +
                      (arg->type == ArgType::string    ? "a string"
                       : arg->type == ArgType::boolean ? "true or false"
                                                       : "a number of 0 or more"));
    }
  }
  return {};
}

}  // namespace

std::optional<Access> access_of(std::string_view cmd) {
  for (const auto& [name, access] : kCommands) {
    if (name == cmd) {
      return access;
    }
  }
  return std::nullopt;
}

Result<ControlRequest> parse_request(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Errc::parse, "a request is one JSON object on one line");
  }
  ControlRequest r;
  if (j.contains("id")) {
    r.id = j["id"];
    if (!r.id.is_number_integer() && !r.id.is_string() && !r.id.is_null()) {
      return fail(Errc::invalid_argument, "\"id\" must be a number or a string");
    }
  }
  if (!j.contains("cmd") || !j["cmd"].is_string()) {
    return fail(Errc::invalid_argument, "\"cmd\" must be a string");
  }
  r.cmd = j["cmd"].get<std::string>();
  if (j.contains("args")) {
    if (!j["args"].is_object()) {
      return fail(Errc::invalid_argument, "\"args\" must be an object");
    }
    r.args = j["args"];
  }
  if (access_of(r.cmd)) {  // an unknown command is the server's to answer
    CK_TRY_STATUS(check_args(r.cmd, r.args));
  }
  return r;
}

nlohmann::json id_of(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_object() && j.contains("id") && (j["id"].is_number_integer() || j["id"].is_string())) {
    return j["id"];
  }
  return nullptr;
}

std::string ok_response(const nlohmann::json& id, nlohmann::json result) {
  return nlohmann::json{{"id", id}, {"ok", true}, {"result", std::move(result)}}.dump(
             -1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

std::string error_response(const nlohmann::json& id, std::string_view code,
                           std::string_view message) {
  return nlohmann::json{{"id", id},
                        {"ok", false},
                        {"error", {{"code", std::string(code)}, {"message", std::string(message)}}}}
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

bool may(const Peer& peer, const ServiceIdentity& service, Access access) {
  if (peer.uid == 0 || peer.uid == service.uid) {
    return true;
  }
  if (access == Access::change) {
    return false;
  }
  return peer.gid == service.gid ||
         std::ranges::find(peer.groups, service.gid) != peer.groups.end();
}

Result<std::vector<std::string>> take_lines(std::string& buffer) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = buffer.find('\n', start)) != std::string::npos; start = end + 1) {
    if (end - start > kMaxRequestBytes) {
      return fail(Errc::too_large,
                  "a request is longer than " + std::to_string(kMaxRequestBytes) + " bytes");
    }
    lines.emplace_back(buffer, start, end - start);
  }
  buffer.erase(0, start);
  if (buffer.size() > kMaxRequestBytes) {
    return fail(Errc::too_large,
                "a request is longer than " + std::to_string(kMaxRequestBytes) + " bytes");
  }
  return lines;
}

}  // namespace ck::daemon

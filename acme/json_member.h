#pragma once
// Reading what an ACME server sends: a member that is a string, or "" for one
// that is missing or of another type. nlohmann's value() throws for the
// latter, and a CA's JSON is outside input.

#include <nlohmann/json.hpp>
#include <string>

namespace ck::acme {

[[nodiscard]] inline std::string text(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace ck::acme

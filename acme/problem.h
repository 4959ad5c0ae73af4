#pragma once
// ACME problem documents (RFC 8555 §6.7, RFC 7807): what the CA said, kept
// intact for the operator, with the error types certkeeper acts upon.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace ck::acme {

// RFC 8555 §6.7 error types (the "urn:ietf:params:acme:error:" namespace).
namespace problem_type {
inline constexpr std::string_view kPrefix = "urn:ietf:params:acme:error:";
inline constexpr std::string_view kBadNonce = "urn:ietf:params:acme:error:badNonce";
inline constexpr std::string_view kRateLimited = "urn:ietf:params:acme:error:rateLimited";
inline constexpr std::string_view kAccountDoesNotExist =
    "urn:ietf:params:acme:error:accountDoesNotExist";
inline constexpr std::string_view kUserActionRequired =
    "urn:ietf:params:acme:error:userActionRequired";
inline constexpr std::string_view kServerInternal = "urn:ietf:params:acme:error:serverInternal";
inline constexpr std::string_view kMalformed = "urn:ietf:params:acme:error:malformed";
inline constexpr std::string_view kExternalAccountRequired =
    "urn:ietf:params:acme:error:externalAccountRequired";
}  // namespace problem_type

struct Identifier {
  std::string type;  // "dns" or "ip" (RFC 8738)
  std::string value;
  bool operator==(const Identifier&) const = default;
};

struct Problem {
  std::string type;
  std::string detail;
  int status = 0;
  std::optional<Identifier> identifier;  // set on subproblems
  std::vector<Problem> subproblems;

  // "rateLimited: too many certificates (status 429); dns:a.example: caa: ..."
  [[nodiscard]] std::string describe() const;
  // The type without the ACME namespace prefix, e.g. "badNonce".
  [[nodiscard]] std::string short_type() const;
  [[nodiscard]] bool is(std::string_view full_type) const { return type == full_type; }
  // badCSR, malformed, rejectedIdentifier...: the request itself was wrong,
  // so trying another CA will not help.
  [[nodiscard]] bool is_about_request() const;
};

// Parses a problem document. Returns nullopt for anything that is not one.
[[nodiscard]] std::optional<Problem> parse_problem(std::string_view json_text);

// The Error for a problem the CA returned for `context` (a URL): code rejected
// when the problem is about the request, else protocol. retryable follows
// RFC 8555: badNonce, rateLimited and server errors may succeed later.
[[nodiscard]] Error problem_error(const Problem& problem, std::string context);

}  // namespace ck::acme

#include "acme/problem.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "acme/json_member.h"

namespace ck::acme {
namespace {

Problem from_json(const nlohmann::json& j) {
  Problem p;
  p.type = text(j, "type");
  p.detail = text(j, "detail");
  if (auto status = j.find("status"); status != j.end() && status->is_number_integer()) {
    p.status = status->get<int>();
  }
  if (auto id = j.find("identifier"); id != j.end() && id->is_object()) {
    p.identifier = Identifier{text(*id, "type"), text(*id, "value")};
  }
  if (auto subs = j.find("subproblems"); subs != j.end() && subs->is_array()) {
    for (const auto& sub : *subs) {
      if (sub.is_object()) {
        p.subproblems.push_back(from_json(sub));
      }
    }
  }
  return p;
}

}  // namespace

std::string Problem::short_type() const {
  std::string_view t = type;
  if (t.starts_with(problem_type::kPrefix)) {
    t.remove_prefix(problem_type::kPrefix.size());
  }
  return std::string(t.empty() ? "unknown" : t);
}

std::string Problem::describe() const {
  std::string out = short_type();
  if (!detail.empty()) {
    out += ": " + detail;
  }
  if (status != 0) {
    out += " (status " + std::to_string(status) + ")";
  }
  for (const auto& sub : subproblems) {
    out += "; ";
    if (sub.identifier) {
      out += sub.identifier->type + ":" + sub.identifier->value + ": ";
    }
    out += sub.describe();
  }
  return out;
}

std::optional<Problem> parse_problem(std::string_view json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return std::nullopt;
  }
  return from_json(j);
}

bool Problem::is_about_request() const {
  // RFC 8555 §6.7: the request itself was at fault (its CSR, key, identifiers,
  // contacts or encoding); another CA would refuse it as well.
  static constexpr std::string_view kRequestFaults[] = {
      "badCSR",
      "badPublicKey",
      "badRevocationReason",
      "malformed",
      "rejectedIdentifier",
      "invalidContact",
      "unsupportedContact",
  };
  const std::string short_name = short_type();
  return type.starts_with(problem_type::kPrefix) &&
         std::ranges::find(kRequestFaults, short_name) != std::end(kRequestFaults);
}

Error problem_error(const Problem& problem, std::string context) {
  const bool retryable = problem.is(problem_type::kBadNonce) ||
                         problem.is(problem_type::kRateLimited) ||
                         problem.is(problem_type::kServerInternal) || problem.status >= 500;
  return Error{problem.is_about_request() ? Errc::rejected : Errc::protocol,
               "the CA said " + problem.describe(), std::move(context), retryable,
               problem.type.starts_with(problem_type::kPrefix) ? problem.short_type() : ""};
}

}  // namespace ck::acme

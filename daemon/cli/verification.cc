#include "daemon/cli/verification.h"

#include <fmt/core.h>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/pem.h"

namespace ck::daemon {
namespace {

std::string time_or_empty(std::int64_t t) {
  return t == 0 ? "" : format_rfc3339(t);
}

}  // namespace

std::expected<std::vector<validator::PreparedCertificate>, CommandFailure> load_certificates(
    const std::string& path, const std::string& what, bool may_be_empty, int unparseable_exit) {
  auto certificates = read_certificates(path, may_be_empty);
  if (!certificates) {
    const int exit_code =
        certificates.error().code == Errc::parse ? unparseable_exit : int{kExitUsage};
    return std::unexpected(
        CommandFailure{exit_code, what + ": " + certificates.error().describe()});
  }
  return std::move(*certificates);
}

std::vector<validator::RevocationCheck> check_chain_revocation(const CliContext& context,
                                                               validator::ChainResult& result,
                                                               validator::RevocationMethod method,
                                                               bool soft_fail, std::int64_t at,
                                                               std::chrono::seconds fetch_timeout) {
  if (method == validator::RevocationMethod::none) {
    return {};
  }
  HttpOptions options;
  options.max_response_bytes = 256u << 20;  // CRLs of millions of entries
  options.follow_redirects = true;
  options.timeout = fetch_timeout;
  auto http = HttpClient::create(options);
  if (!http) {
    result.add_findings({{validator::VerifyCode::revocation_unavailable, 0,
                          "no HTTP client: " + http.error().describe()}});
    return {};
  }
  // Only CRLs are kept: an OCSP-only check needs no state directory.
  std::optional<Session> session;
  std::optional<StoreCrlCache> cache;
  if (method != validator::RevocationMethod::ocsp) {
    if (auto opened = context.open_session()) {
      session = std::move(*opened);
      cache.emplace(*session->inventory, session->layout, context.clock());
    } else {
      fmt::print(stderr, "certkeeper: note: CRLs are not cached: {}\n", opened.error().message);
    }
  }
  validator::RevocationChecker checker(*http, cache ? &*cache : nullptr, at);
  auto checks = checker.check(result, method);
  for (const auto& warning : cache ? cache->warnings() : std::vector<std::string>{}) {
    fmt::print(stderr, "certkeeper: warning: {}\n", warning);
  }
  result.add_findings(validator::revocation_findings(checks, soft_fail));
  return checks;
}

nlohmann::json verification_json(const validator::ChainResult& result,
                                 const std::vector<validator::RevocationCheck>& checks) {
  nlohmann::json chain = nlohmann::json::array();
  for (std::size_t i = 0; i < result.path.size(); ++i) {
    const auto& info = result.path[i]->facts.info;
    chain.push_back({{"subject", info.subject},
                     {"issuer", info.issuer},
                     {"serial", info.serial},
                     {"not_before", format_rfc3339(info.not_before)},
                     {"not_after", format_rfc3339(info.not_after)},
                     {"sha256", info.sha256},
                     {"trust_anchor", result.reaches_trust_anchor && i + 1 == result.path.size()}});
  }
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : result.findings) {
    findings.push_back({{"code", validator::to_string(f.code)},
                        {"certificate", f.certificate},
                        {"message", f.message}});
  }
  nlohmann::json revocation = nlohmann::json::array();
  for (const auto& c : checks) {
    nlohmann::json entry{{"certificate", c.certificate},
                         {"method", c.method},
                         {"status", c.status},
                         {"source", c.source},
                         {"from_cache", c.from_cache},
                         {"this_update", time_or_empty(c.this_update)},
                         {"next_update", time_or_empty(c.next_update)}};
    if (c.status == "revoked") {
      entry["reason"] = c.reason;
      entry["revocation_time"] = format_rfc3339(c.revocation_time);
    }
    if (!c.error.empty()) {
      entry["error"] = c.error;
    }
    revocation.push_back(std::move(entry));
  }
  return {{"valid", result.valid()},
          {"error", validator::to_string(result.code)},
          {"message", result.message},
          {"chain", std::move(chain)},
          {"findings", std::move(findings)},
          {"revocation", std::move(revocation)},
          {"paths_considered", result.paths_considered}};
}

std::string verification_text(const validator::ChainResult& result,
                              const std::vector<validator::RevocationCheck>& checks) {
  std::string out = result.valid() ? "valid\n"
                                   : fmt::format("invalid ({}): {}\n",
                                                 validator::to_string(result.code), result.message);
  for (std::size_t i = 0; i < result.path.size(); ++i) {
    const auto& info = result.path[i]->facts.info;
    const bool anchor = result.reaches_trust_anchor && i + 1 == result.path.size();
    out += fmt::format("  {} {}{}\n      until {}  sha256 {}\n", i, info.subject,
                       anchor ? "  [trust anchor]" : "", format_rfc3339(info.not_after),
                       info.sha256.substr(0, 16));
  }
  for (const auto& f : result.findings) {
    out += fmt::format("  finding: {} at certificate {}: {}\n", validator::to_string(f.code),
                       f.certificate, f.message);
  }
  for (const auto& c : checks) {
    out += fmt::format("  revocation of {} by {}: {}{}{}\n", c.certificate, c.method, c.status,
                       c.source.empty() ? "" : " (" + c.source + ")",
                       c.error.empty() ? "" : ": " + c.error);
  }
  return out;
}

}  // namespace ck::daemon

#include "daemon/lifecycle/deployment_check.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/host_port.h"
#include "core/ip_address.h"

namespace ck::daemon {

Result<DriftCheck> check_drift(store::Inventory& inventory, const std::string& name,
                               const std::string& served_sha256) {
  CK_TRY(versions, inventory.certificates().versions(name));
  auto current = std::ranges::find_if(
      versions, [](const auto& v) { return v.status == store::CertificateStatus::active; });
  if (current == versions.end()) {
    return fail(Errc::not_found, "no current certificate named " + name);
  }
  DriftCheck drift;
  drift.current = *current;
  auto served =
      std::ranges::find_if(versions, [&](const auto& v) { return v.sha256 == served_sha256; });
  if (served != versions.end()) {
    drift.served_version = *served;
  }
  drift.matches = current->sha256 == served_sha256;
  const std::string short_served = served_sha256.substr(0, 16);
  if (drift.matches) {
    drift.message = "matches " + name + " (version " + short_served + ", until " +
                    format_rfc3339(current->not_after) + ")";
  } else if (drift.served_version) {
    drift.message = "serves an older version of " + name + " (" + short_served + ", until " +
                    format_rfc3339(served->not_after) +
                    "): renewed but not reloaded?; the inventory's current one is " +
                    current->sha256.substr(0, 16);
  } else {
    drift.message = "serves a certificate that is not " + name + "'s (" + short_served +
                    "); the inventory's current one is " + current->sha256.substr(0, 16);
  }
  return drift;
}

std::optional<validator::ProbeFinding> drift_finding(const DriftCheck& drift) {
  if (drift.matches) {
    return std::nullopt;
  }
  return validator::ProbeFinding{validator::Severity::error, "drift", drift.message};
}

Status record_probe(store::Inventory& inventory, const std::string& target,
                    const Result<validator::ProbeReport>& report, const std::string& result_json,
                    std::int64_t now) {
  store::ProbeRecord record;
  record.target = target;
  record.probed_at = now;
  record.result_json = result_json;
  if (report) {
    record.sni = report->sni;
    record.ok = !report->has_error();
    record.protocol = report->handshake.protocol;
    record.cipher = report->handshake.cipher;
    record.leaf_sha256 = report->served.empty() ? "" : report->served.front().facts.info.sha256;
  } else {
    record.error = report.error().describe();
  }
  CK_TRY_STATUS(inventory.probes().insert(record));
  return {};
}

Result<std::vector<EndpointProbe>> probe_deployment(const CertificateConfig& cert,
                                                    store::Inventory& inventory,
                                                    const validator::Prober& prober,
                                                    std::int64_t now) {
  std::vector<EndpointProbe> out;
  for (const auto& endpoint : cert.probe) {
    CK_TRY(where, parse_host_port(endpoint, 443));
    validator::ProbeRequest request;
    request.host = where.host;
    request.port = where.port;
    const bool ip = ip_address_bytes(where.host).has_value();
    request.sni = ip && !cert.domains.empty() ? cert.domains.front() : "";
    request.now = now;
    auto report = prober.probe(request);
    EndpointProbe probe{endpoint, "", false, "", ""};
    nlohmann::json kept = nlohmann::json::object();
    if (!report) {
      probe.error = report.error().describe();
      probe.message = probe.error;
    } else if (report->served.empty()) {
      probe.error = "no certificate served";
      probe.message = probe.error;
    } else {
      probe.served_sha256 = report->served.front().facts.info.sha256;
      CK_TRY(drift, check_drift(inventory, cert.name, probe.served_sha256));
      probe.matches = drift.matches;
      probe.message = drift.message;
      if (auto finding = drift_finding(drift)) {
        report->findings.push_back(*finding);
      }
      nlohmann::json findings = nlohmann::json::array();
      for (const auto& f : report->findings) {
        findings.push_back({{"severity", validator::to_string(f.severity)},
                            {"code", f.code},
                            {"message", f.message}});
      }
      kept = {{"target", report->target}, {"address", report->address},
              {"sni", report->sni},       {"served_sha256", probe.served_sha256},
              {"matches", probe.matches}, {"findings", std::move(findings)}};
    }
    CK_TRY_STATUS(record_probe(inventory, endpoint, report, kept.dump(), now));
    out.push_back(std::move(probe));
  }
  return out;
}

}  // namespace ck::daemon

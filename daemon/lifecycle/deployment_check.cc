#include "daemon/lifecycle/deployment_check.h"

#include <algorithm>

#include "core/clock.h"

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

}  // namespace ck::daemon

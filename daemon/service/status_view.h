#pragma once
// What `certkeeper status` shows, built the same way by the running service
// (with what it knows live: running jobs, failures) and by the CLI when no
// service runs (from the inventory and configuration alone).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "daemon/lifecycle/config.h"
#include "daemon/lifecycle/renewal_policy.h"
#include "daemon/service/scheduler.h"
#include "store/inventory.h"

namespace ck::daemon {

// What the service knows of a certificate beyond the inventory.
struct LiveCertificate {
  CertificateState state;
  FailureStreak failures;
  std::optional<JobKind> running;
  std::int64_t last_attempt_at = 0;
  std::string last_result;  // "issued", "not_due", "failed", "" before any attempt
};

// One row per configured certificate: names, not_after and days left, the ARI
// window, the next action and when, why, the last attempt and its error, the
// served fingerprint against the stored one (from the latest probe) and the
// staple's age. `live` is null when no service runs.
[[nodiscard]] Result<nlohmann::json> certificates_status(
    const Config& config, store::Inventory& inventory, std::int64_t now,
    const std::map<std::string, LiveCertificate>* live);

// The rows as a table for people.
[[nodiscard]] std::string status_table(const nlohmann::json& rows, std::int64_t now);

}  // namespace ck::daemon

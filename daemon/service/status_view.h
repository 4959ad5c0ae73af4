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
#include "daemon/lifecycle/deployment_check.h"
#include "daemon/lifecycle/renewal_policy.h"
#include "daemon/lifecycle/status_check.h"
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
  // The current version, as last read (for alerts); unknown when the read failed.
  bool known = false;
  std::optional<std::int64_t> not_before;
  std::optional<std::int64_t> not_after;
  std::string sha256;   // "" when none is current
  std::string subject;  // RFC 2253, as the certificate says (attacker-controlled)
  std::string issuer_cn;
  // The CA's ARI window for the current version, when it gave one.
  std::optional<std::pair<std::int64_t, std::int64_t>> ari_window;
  std::int64_t last_renewal_at = 0;  // when the latest renewal attempt ended
  bool revoked = false;
  std::string deploy_error;  // the latest deploy's error; "" when it worked
  // The latest status check (staples, revocation) since the service started.
  std::optional<StatusCheck> status;
  std::int64_t status_checked_at = 0;
  std::string status_error;  // a check that could not run at all
  // The latest probe of each `probe` endpoint, how many probes in a row found
  // it wrong (unreachable or drifted), and when to probe next (0: at once).
  std::vector<EndpointProbe> probes;
  std::map<std::string, int> probe_problems;
  std::int64_t next_probe = 0;
  // When its alerts are next to change by time alone (an expiry threshold).
  std::optional<std::int64_t> next_alert_change;
};

// ok, renewing, failing, revoked, drifted (an endpoint serves another
// version, or none), expired, pending (never issued): the worst that holds.
// Also each status row's "state" (without a service: from the inventory).
[[nodiscard]] std::string_view certificate_state(const LiveCertificate& live, std::int64_t now);

// The latest problem to show for a certificate, in its source's words
// (the CA's problem text for a failed renewal); "" when there is none.
[[nodiscard]] std::string last_error(const LiveCertificate& live);

// What `status` answers: {"summary": {"certificates", "shown", "states":
// {state: count}}, "certificates": [rows]}. A row per certificate: names,
// not_after and days left, the ARI window, the next action and when, why, the
// last attempt and its error, the served fingerprint against the stored one
// (from the latest probe) and the staple's age. Rows are kept for the `limit`
// most urgent certificates (0: every one; the worst state first, then the
// soonest renewal) and listed in configuration order, so that a status of
// 100,000 certificates stays small and fast; the summary counts them all.
// `only` names the one certificate to give a row for ("": by urgency).
// `live` is null when no service runs; else it holds every configured
// certificate (the service keeps a record of each).
[[nodiscard]] Result<nlohmann::json> certificates_status(
    const Config& config, store::Inventory& inventory, std::int64_t now,
    const std::map<std::string, LiveCertificate>* live, std::size_t limit,
    std::string_view only = {});
inline constexpr std::size_t kDefaultStatusRows = 100;

// A state that makes `status` exit 1: a certificate missing, expired, revoked
// or failing.
[[nodiscard]] bool is_problem_state(std::string_view state);

// What `certkeeper alerts` shows, from the inventory (the service and the
// CLI alone alike): newest first, each with its notices and their delivery.
struct AlertQuery {
  bool open_only = false;
  std::optional<std::string> name;  // one certificate's
  std::size_t limit = 50;           // of the history (open ones: all)
};
[[nodiscard]] Result<nlohmann::json> alerts_view(store::Inventory& inventory,
                                                 const AlertQuery& query);
[[nodiscard]] std::string alerts_table(const nlohmann::json& alerts);

// The summary's line under the table: how many certificates in each state,
// and, when rows were left out, how many and how to see them.
[[nodiscard]] std::string status_summary(const nlohmann::json& summary);

// The rows as a table for people; each state in colour when `colour`.
[[nodiscard]] std::string status_table(const nlohmann::json& rows, std::int64_t now,
                                       bool colour = false);

}  // namespace ck::daemon

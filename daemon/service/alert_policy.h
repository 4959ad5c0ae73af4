#pragma once
// Which alerts are firing: a pure function of what the service knows about a
// certificate, the [alerts] configuration and `now` (DESIGN: "which alerts
// fire" is decided apart from I/O, tested with a fake clock). The service
// compares the answer with the open alerts in the inventory: a condition not
// open yet opens one (and its notices), an open one no longer firing closes
// with a recovery notice, or silently when a tighter threshold of the same
// kind took its place (superseded).
//
// Each condition has a stable key, "KIND:NAME[:DETAIL]", so that it is sent
// once per condition and threshold however often it is evaluated.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/lifecycle/config.h"
#include "daemon/lifecycle/renewal_policy.h"
#include "store/records.h"

namespace ck::daemon {

// What the service knows about one configured certificate.
struct AlertFacts {
  std::string name;
  std::optional<std::int64_t> not_before;  // the current version's; none before the first issue
  std::optional<std::int64_t> not_after;
  bool revoked = false;
  FailureStreak failures;       // renewal attempts failed in a row
  std::string deploy_error;     // the latest deploy's error; "" when it worked or none ran
  std::string staple_error;     // the latest staple refresh's error; "" when it worked
  bool staple_expired = false;  // the staple on disk is past its nextUpdate
  // Revocation status that could not be learned: by "crl" or "ocsp", and why.
  std::string revocation_unavailable_by;
  std::string revocation_error;
  // Endpoints found wrong in two probes in a row: unreachable (error) or
  // serving something else than the current version (drift).
  struct EndpointProblem {
    std::string endpoint;
    std::string error;  // could not connect or complete a handshake
    std::string drift;  // what it serves instead, when it was reached
  };
  std::vector<EndpointProblem> endpoints;
};

struct AlertCondition {
  std::string key;       // "expiry:www:14d", "renewal_failed:www", ...
  std::string name;      // the certificate
  std::string kind;      // "expiry", "renewal_failed", "revoked", "deploy_failed",
                         // "staple", "crl_unreachable", "ocsp_unreachable",
                         // "probe_failed", "drift"
  std::string severity;  // "warning", "critical"
  std::string message;   // for people; stable while the condition lasts, but for new errors
};

struct AlertEvaluation {
  std::vector<AlertCondition> firing;
  std::optional<std::int64_t> next_change;  // when an expiry threshold is next crossed
};

// Expiry: of the thresholds that apply, the tightest one crossed (one alert
// per certificate and kind: a tighter threshold supersedes a looser one). A
// time threshold applies only to a certificate whose lifetime is over three
// times it: before that point the renewal policy (2/3 of the lifetime) has
// renewed it, so a 30-day rule says nothing of a 6-day certificate; a
// fraction applies to every lifetime. Past notAfter: "expired".
// Renewal failures: one warning from the first failure, a critical alert from
// `failure_streak` failures in a row, with the CA's problem text.
[[nodiscard]] AlertEvaluation evaluate_alerts(const AlertFacts& facts, const AlertsConfig& config,
                                              std::int64_t now);

struct AlertChanges {
  std::vector<AlertCondition> open;     // firing, not open yet: a new alert and its notices
  std::vector<AlertCondition> refresh;  // open, with a new message (no new notice)
  struct Close {
    std::string key;
    std::string resolution;  // "recovered" (a notice), "superseded" or "unconfigured" (none)
  };
  std::vector<Close> close;
};

// What to change in the inventory: `firing` for the certificates in `names`
// (every configured one) against the `open` alerts. An open alert of a
// certificate no longer configured closes as "unconfigured".
[[nodiscard]] AlertChanges compare_alerts(const std::vector<AlertCondition>& firing,
                                          const std::vector<store::AlertRecord>& open,
                                          const std::vector<std::string>& names);

}  // namespace ck::daemon

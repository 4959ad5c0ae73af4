#pragma once
// The service's scheduler: which job runs for which certificate, and when to
// wake up next. Pure: a function of the certificates' states and `now`, so it
// is tested with a fake clock and planned for 100,000 certificates in one pass.
// When to renew is the renewal policy's (lifecycle/renewal_policy.h); the
// scheduler adds when to ask ARI, keeps one job per certificate at a time, and
// spreads work that piled up while the service was down.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/lifecycle/renewal_policy.h"

namespace ck::daemon {

enum class JobKind {
  renew,
  check_ari,
  deploy,        // only at start, when a crash left a deploy unfinished
  check_status,  // staples refreshed, revocation checked (lifecycle/status_check.h)
  probe,         // the configured endpoints probed: do they serve the current version?
  revoke,        // only when an operator asks (over the control socket), never planned
};
[[nodiscard]] std::string_view to_string(JobKind kind);

struct CertificateState {
  std::string name;
  RenewalDecision renewal;
  // When the CA's renewal information (RFC 9773) is next to be asked; none
  // when its CA offers none (or there is no certificate yet to ask about).
  std::optional<std::int64_t> ari_check_at;
  // When its staples and revocation are next checked; none without a certificate.
  std::optional<std::int64_t> status_check_at;
  // When its `probe` endpoints are next probed; none when it has none.
  std::optional<std::int64_t> probe_at;
  std::int64_t held_until = 0;  // nothing starts for it before (the start-up spread)
  bool busy = false;            // a job for it is running
};

struct ScheduledJob {
  std::size_t index = 0;  // into the states planned
  JobKind kind = JobKind::renew;
  std::int64_t at = 0;
};

struct Plan {
  std::vector<ScheduledJob> due;          // to start now: renewals first, then the longest overdue
  std::optional<std::int64_t> next_wake;  // the soonest later job; none: nothing is planned
};

// One pass over every certificate: a renewal that is due wins over the checks
// (the new certificate gets its own answers); a busy certificate waits.
[[nodiscard]] Plan plan(std::span<const CertificateState> states, std::int64_t now);
// The same over states kept elsewhere (the service's, one per certificate),
// without copying 100,000 of them for every pass.
[[nodiscard]] Plan plan(std::span<const CertificateState* const> states, std::int64_t now);

// When to ask ARI next: the stored answer's next check, at least twice a day
// after it was fetched (Let's Encrypt's guidance); now when never asked.
[[nodiscard]] std::int64_t ari_check_time(std::optional<std::int64_t> next_check,
                                          std::optional<std::int64_t> fetched_at, std::int64_t now);

// After downtime, work that is overdue at start runs spread with jitter over a
// window that grows with how much there is (5 s, and a second more for every
// 200 jobs, at most 15 minutes), not all at once: where in it this one
// starts, from `random`.
[[nodiscard]] std::int64_t start_spread(std::int64_t now, std::size_t overdue,
                                        std::uint64_t random);

}  // namespace ck::daemon

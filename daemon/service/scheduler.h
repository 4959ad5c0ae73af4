#pragma once
// The service's scheduler: which job runs for which certificate, and when to
// wake up next. Pure: a function of the certificates' states and `now`, so it
// is tested with a fake clock and planned for 100,000 certificates in one pass.
// When to renew is the renewal policy's (lifecycle/renewal_policy.h); the
// scheduler adds when to ask ARI, keeps one job per certificate at a time, and
// spreads work that piled up while the service was down.

#include <algorithm>
#include <chrono>
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
  // By when its certificate must be replaced: notAfter, or the end of the
  // CA's ARI window when sooner (a CA about to revoke moves it to now); none
  // when it has no valid certificate (never issued, or revoked): most urgent.
  std::optional<std::int64_t> renew_by;
};

struct ScheduledJob {
  std::size_t index = 0;  // into the states planned
  JobKind kind = JobKind::renew;
  std::int64_t at = 0;
  std::optional<std::int64_t> renew_by;  // a renewal's, from its state
};

// The order jobs start in when not all can (the per-CA limit): renewals
// first, the certificate to be replaced soonest first (earliest deadline
// first: after an outage, a 6-day certificate due an hour ago goes before a
// 90-day one due three days ago); then the checks, the longest overdue first.
[[nodiscard]] bool runs_before(const ScheduledJob& a, const ScheduledJob& b);

struct Plan {
  std::vector<ScheduledJob> due;          // to start now, in runs_before() order
  std::optional<std::int64_t> next_wake;  // the soonest later job; none: nothing is planned
};

// One pass over every certificate: a renewal that is due wins over the checks
// (the new certificate gets its own answers); a busy certificate waits.
[[nodiscard]] Plan plan(std::span<const CertificateState> states, std::int64_t now);
// The same over states kept elsewhere (the service's, one per certificate),
// without copying 100,000 of them for every pass.
[[nodiscard]] Plan plan(std::span<const CertificateState* const> states, std::int64_t now);

// When to ask ARI next: the stored answer's next check, at least twice a day
// after it was fetched (Let's Encrypt's guidance); now when never asked; and
// an hour after a check that failed (`failed_at`), not at once again.
[[nodiscard]] std::int64_t ari_check_time(std::optional<std::int64_t> next_check,
                                          std::optional<std::int64_t> fetched_at, std::int64_t now,
                                          std::optional<std::int64_t> failed_at = std::nullopt);

// How the service paces orders to a CA that pushed back. After a
// rateLimited answer: no order (for any certificate) until its Retry-After,
// the CA's word. After orders that could not reach it (a connection or a
// timeout): our own pause of 30 s, doubling with each one in a row, 10 minutes
// at most, which an operator's `renew` does not wait for. Either way, one
// order at a time afterwards until one succeeds: the limit is still near, or
// the CA may still be down, and several at once would mostly fail again.
// Certificates near expiry lose little: the longest pause is a tenth of what
// the retry table already waits after a few failures.
struct CaThrottle {
  std::int64_t held_until = 0;    // the CA's Retry-After
  std::int64_t paused_until = 0;  // ours, while it could not be reached
  bool one_at_a_time = false;
  int unreachable_in_a_row = 0;

  void rate_limited(std::int64_t now, std::chrono::seconds retry_after);  // a longer hold stands
  void unreachable(std::int64_t now);
  void order_succeeded() {
    one_at_a_time = false;
    unreachable_in_a_row = 0;
  }
  // Until when no order goes, for one the operator asked for or not.
  [[nodiscard]] std::int64_t until(bool operator_asked = false) const {
    return operator_asked ? held_until : std::max(held_until, paused_until);
  }
};

// Whether a renewal may send an order to its CA now: fewer than
// `orders_per_ca` of its renewals in flight there (one, after a push-back),
// and no hold or pause (an operator's request waits only for the CA's hold).
[[nodiscard]] bool may_send_order(std::size_t in_flight_at_ca, std::size_t orders_per_ca,
                                  const CaThrottle& ca, std::int64_t now,
                                  bool operator_asked = false);

// Work that piled up while the service was down, spread at start
// (start_spread): a renewal or ARI check already due. A certificate never
// issued is new work, not overdue, and starts at once.
[[nodiscard]] bool overdue_at_start(const CertificateState& state, std::int64_t now);

// After downtime, work that is overdue at start runs spread with jitter over a
// window that grows with how much there is (5 s, and a second more for every
// 200 jobs, at most 15 minutes), not all at once: where in it this one
// starts, from `random`.
[[nodiscard]] std::int64_t start_spread(std::int64_t now, std::size_t overdue,
                                        std::uint64_t random);

}  // namespace ck::daemon

#include "daemon/service/scheduler.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace ck::daemon {
namespace {

constexpr std::int64_t kAriAtLeastEvery = 12 * 3600;
constexpr std::int64_t kAriRetryAfterFailure = 3600;
// The start-up window: a few seconds of jitter (hosts restarted together do
// not all ask at once), one more second for every 200 jobs, 15 minutes at
// most. The job pool and the per-CA limit bound what runs at once; the window
// only staggers when work becomes eligible, so 1,000 overdue renewals may start
// within 10 s and run as fast as the CA allows.
constexpr std::int64_t kSpreadAtLeast = 5;
constexpr std::int64_t kSpreadJobsPerSecond = 200;
constexpr std::int64_t kSpreadAtMost = 15 * 60;

}  // namespace

std::string_view to_string(JobKind kind) {
  switch (kind) {
    case JobKind::renew: return "renew";
    case JobKind::check_ari: return "check_ari";
    case JobKind::deploy: return "deploy";
    case JobKind::check_status: return "check_status";
    case JobKind::probe: return "probe";
    case JobKind::revoke: return "revoke";
    default: return "renew";
  }
}

Plan plan(std::span<const CertificateState> states, std::int64_t now) {
  std::vector<const CertificateState*> each;
  each.reserve(states.size());
  for (const auto& s : states) {
    each.push_back(&s);
  }
  return plan(each, now);
}

Plan plan(std::span<const CertificateState* const> states, std::int64_t now) {
  Plan out;
  auto later = [&](std::int64_t at) {
    out.next_wake = out.next_wake ? std::min(*out.next_wake, at) : at;
  };
  for (std::size_t i = 0; i < states.size(); ++i) {
    const CertificateState& s = *states[i];
    if (s.busy) {
      continue;  // it is planned again when its job ends
    }
    const std::int64_t renew_at = std::max(s.renewal.at, s.held_until);
    if (renew_at <= now) {
      out.due.push_back({i, JobKind::renew, renew_at, s.renew_by});
      continue;
    }
    later(renew_at);
    // The soonest due check; each certificate runs one job at a time.
    std::optional<ScheduledJob> check;
    for (const auto& [at, kind] : {std::pair{s.ari_check_at, JobKind::check_ari},
                                   std::pair{s.status_check_at, JobKind::check_status},
                                   std::pair{s.probe_at, JobKind::probe}}) {
      if (!at) {
        continue;
      }
      const std::int64_t when = std::max(*at, s.held_until);
      if (when > now) {
        later(when);
      } else if (!check || when < check->at) {
        check = ScheduledJob{i, kind, when, std::nullopt};
      }
    }
    if (check) {
      out.due.push_back(*check);
    }
  }
  if (out.due.size() > 1) {  // stable_sort takes a buffer even for one
    std::ranges::stable_sort(out.due, runs_before);
  }
  return out;
}

bool runs_before(const ScheduledJob& a, const ScheduledJob& b) {
  const auto key = [](const ScheduledJob& j) {
    const bool renewal = j.kind == JobKind::renew;
    // No certificate to lose: the most urgent of all.
    const std::int64_t by =
        renewal ? j.renew_by.value_or(std::numeric_limits<std::int64_t>::min()) : 0;
    return std::tuple(!renewal, by, j.at);
  };
  return key(a) < key(b);
}

std::int64_t ari_check_time(std::optional<std::int64_t> next_check,
                            std::optional<std::int64_t> fetched_at, std::int64_t now,
                            std::optional<std::int64_t> failed_at) {
  const std::int64_t at =
      next_check && fetched_at ? std::min(*next_check, *fetched_at + kAriAtLeastEvery) : now;
  return failed_at ? std::max(at, *failed_at + kAriRetryAfterFailure) : at;
}

void CaThrottle::rate_limited(std::int64_t now, std::chrono::seconds retry_after) {
  held_until = std::max(held_until, now + retry_after.count());
  one_at_a_time = true;
}

void CaThrottle::unreachable(std::int64_t now) {
  constexpr std::int64_t kFirst = 30;
  constexpr std::int64_t kAtMost = 600;
  const int doublings = std::min(unreachable_in_a_row++, 5);
  paused_until = std::max(paused_until, now + std::min(kAtMost, kFirst << doublings));
  one_at_a_time = true;
}

bool may_send_order(std::size_t in_flight_at_ca, std::size_t orders_per_ca, const CaThrottle& ca,
                    std::int64_t now, bool operator_asked) {
  return ca.until(operator_asked) <= now &&
         in_flight_at_ca < (ca.one_at_a_time ? 1 : orders_per_ca);
}

bool overdue_at_start(const CertificateState& s, std::int64_t now) {
  return s.renewal.rule != RenewalRule::first_issue &&
         (s.renewal.at <= now || (s.ari_check_at && *s.ari_check_at <= now));
}

std::int64_t start_spread(std::int64_t now, std::size_t overdue, std::uint64_t random) {
  if (overdue == 0) {
    return now;
  }
  const std::int64_t window = std::min(
      kSpreadAtMost, kSpreadAtLeast + static_cast<std::int64_t>(overdue) / kSpreadJobsPerSecond);
  return now + static_cast<std::int64_t>(random % static_cast<std::uint64_t>(window + 1));
}

}  // namespace ck::daemon

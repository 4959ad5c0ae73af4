#pragma once
// The scheduler simulator: the service's own scheduling and retry code
// (daemon/service/scheduler.h, lifecycle/renewal_policy.h, acme/ari.h), driven
// by a simulated clock against a model CA, for a fleet of certificates over
// days or a year. Nothing sleeps: time jumps from one event to the next.
//
// What is the daemon's and what is modelled:
//   - the daemon's: when to renew (decide_renewal), when to ask ARI and what
//     time to keep in its window, the one-job-per-certificate plan (plan()),
//     the retry backoff, the orders-per-CA limit and the rateLimited hold, the
//     start-up spread of overdue work;
//   - modelled: the CA (order latency and failures, outages, ARI windows as
//     Let's Encrypt's Boulder computes them, mass revocations, a rate limit),
//     and the job runner (an order takes the CA's latency; an ARI check is
//     instant). Staple, revocation and probe checks are not simulated: they
//     never start an order.
// The service plans every certificate in one pass; the simulator plans each
// certificate when its own time comes (the same plan(), over one state), so
// that a year of 100,000 certificates takes seconds, not days.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::sim {

struct LifetimeShare {
  std::int64_t lifetime = 0;  // seconds
  double share = 0;           // of the certificates
};

struct Outage {
  std::int64_t from = 0;  // seconds after the start
  std::int64_t to = 0;
};

// The CA moves the ARI windows of `share` of the certificates to "now" (§4.2:
// a window in the past) and revokes any of them still unreplaced at the
// deadline.
struct MassRevocation {
  std::int64_t at = 0;  // seconds after the start
  double share = 0;
  std::int64_t deadline = 0;  // seconds after `at`
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<LifetimeShare> lifetimes;
  // The model CA.
  std::int64_t order_latency = 20;  // seconds, each order 0.5x to 1.5x of it
  double failure_rate = 0.01;       // of orders, failed for no reason (a validation, a 500)
  std::vector<Outage> outages;      // orders and ARI checks fail
  std::vector<MassRevocation> revocations;
  bool ari = true;                          // the CA offers renewalInfo (RFC 9773)
  std::int64_t ari_retry_after = 6 * 3600;  // its Retry-After on renewalInfo
  // New orders per account: a token bucket refilled at this multiple of the
  // fleet's steady-state order rate, holding 10 minutes of it; 0: no limit.
  double rate_limit = 0;
  bool ari_renewals_exempt = true;  // as Let's Encrypt: an order in its ARI window is not counted
  // The daemon.
  double restart_every_days = 0;  // mean time between restarts (exponential); 0: never
  // The simulator: count the ARI checks that can only repeat the last answer
  // instead of running each (simulation.cc, skip_identical_checks).
  bool skip_identical_ari_checks = true;
};

// `days` places the incidents: they fall inside the run, after a warm-up.
[[nodiscard]] std::vector<std::string> scenario_names();
[[nodiscard]] std::optional<Scenario> scenario(std::string_view name, std::int64_t days);

struct Results {
  std::string scenario;
  std::size_t certificates = 0;
  std::int64_t days = 0;
  std::int64_t expired_seconds = 0;      // certificate-seconds without a valid certificate
  std::size_t expired_certificates = 0;  // that ever expired
  std::size_t revocations = 0;           // certificates a mass revocation named
  std::size_t late_revocations = 0;      // still in use after their revocation deadline
  std::size_t orders = 0;
  std::size_t failed_orders = 0;
  std::size_t unreachable = 0;   // of them, sent while the CA was down
  std::size_t rate_limited = 0;  // rateLimited answers
  std::size_t ari_checks = 0;
  std::size_t restarts = 0;
  // Orders per minute: the mean over the run, the busiest clock hour's mean
  // (a herd shows as an hour far above the mean; one minute's count at a
  // mean of a few is mostly Poisson noise), and the busiest single minute.
  double mean_orders_per_minute = 0;
  double peak_orders_per_minute = 0;
  std::size_t busiest_minute_orders = 0;
  double wall_seconds = 0;

  [[nodiscard]] bool ok() const { return expired_certificates == 0 && late_revocations == 0; }
};

[[nodiscard]] Results simulate(const Scenario& scenario, std::size_t certificates,
                               std::int64_t days, std::uint64_t seed);

}  // namespace ck::sim

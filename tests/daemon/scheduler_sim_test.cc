// The scheduler simulator (bench/scheduler_sim) at small sizes: the
// service's scheduling and retry code, against a model CA, keeps every
// certificate valid and replaces every revoked one in time, in every
// scenario. A regression in the scheduler fails here, not only in bench/.

#include <doctest/doctest.h>

#include "bench/scheduler_sim/simulation.h"

using namespace ck::sim;

namespace {

constexpr std::size_t kCertificates = 2000;
constexpr std::int64_t kDays = 60;
constexpr std::int64_t kDay = 86400;

Scenario preset(const std::string& name) {
  auto s = scenario(name, kDays);
  REQUIRE(s);
  return *s;
}

}  // namespace

TEST_CASE("scheduler sim: no expiry and no late revocation in any scenario") {
  const Results steady = simulate(preset("steady"), kCertificates, kDays, 1);
  for (const auto& name : scenario_names()) {
    CAPTURE(name);
    const Results r = simulate(preset(name), kCertificates, kDays, 1);
    CHECK(r.expired_certificates == 0);
    CHECK(r.expired_seconds == 0);
    CHECK(r.late_revocations == 0);
    CHECK(r.ok());
    CHECK(r.orders > 0);
    CHECK(r.mean_orders_per_minute > 0);
    CHECK(r.peak_orders_per_minute >= r.mean_orders_per_minute);
    // Each scenario's incident happened, and was survived rather than missed.
    if (name == "outage" || name == "combined") {
      CHECK(r.unreachable > 0);
      // Paced while the CA is down (CaThrottle): a few orders an hour, not a storm.
      CHECK(r.unreachable < r.orders / 10);
    } else {
      CHECK(r.unreachable == 0);
    }
    if (name == "mass-revocation" || name == "combined") {
      CHECK(r.revocations == kCertificates * 4 / 10);  // 10%, then 30%
      CHECK(r.orders > steady.orders);
    }
    if (name == "restarts" || name == "combined") {
      CHECK(r.restarts > 5);
    }
    if (name == "rate-limit") {
      CHECK(r.rate_limited > 0);
    }
  }
}

TEST_CASE("scheduler sim: steady state has no thundering herd") {
  // Large enough that an hour holds dozens of orders (small fleets' hours are noise).
  const Results r = simulate(preset("steady"), 20000, 30, 7);
  CHECK(r.ok());
  CHECK(r.peak_orders_per_minute <= 3 * r.mean_orders_per_minute);
}

TEST_CASE("scheduler sim: skipping ARI checks that repeat the last answer changes nothing") {
  Scenario every = preset("combined");
  every.skip_identical_ari_checks = false;
  const Results skipped = simulate(preset("combined"), 500, kDays, 3);
  const Results all = simulate(every, 500, kDays, 3);
  CHECK(skipped.ari_checks == all.ari_checks);
  CHECK(skipped.orders == all.orders);
  CHECK(skipped.failed_orders == all.failed_orders);
  CHECK(skipped.rate_limited == all.rate_limited);
  CHECK(skipped.expired_seconds == all.expired_seconds);
  CHECK(skipped.busiest_minute_orders == all.busiest_minute_orders);
}

TEST_CASE("scheduler sim: the same seed, the same run; another seed, another run") {
  const Results a = simulate(preset("restarts"), 500, kDays, 11);
  const Results b = simulate(preset("restarts"), 500, kDays, 11);
  const Results c = simulate(preset("restarts"), 500, kDays, 12);
  CHECK(a.orders == b.orders);
  CHECK(a.ari_checks == b.ari_checks);
  CHECK(a.restarts == b.restarts);
  CHECK((a.ari_checks != c.ari_checks || a.restarts != c.restarts));
}

TEST_CASE("scheduler sim: what no scheduler survives is reported, not hidden") {
  // A CA down for 7 days: longer than a 6-day certificate lives.
  Scenario s = preset("steady");
  s.outages = {{20 * kDay, 27 * kDay}};
  const Results r = simulate(s, kCertificates, kDays, 1);
  CHECK(r.expired_certificates > 0);
  CHECK(r.expired_seconds > 0);
  CHECK_FALSE(r.ok());
  // A revocation deadline shorter than the CA takes to answer.
  Scenario fast = preset("steady");
  fast.revocations = {{20 * kDay, 0.5, 60}};
  const Results late = simulate(fast, kCertificates, kDays, 1);
  CHECK(late.late_revocations > 0);
  CHECK_FALSE(late.ok());
}

TEST_CASE("scheduler sim: unknown scenarios are refused") {
  CHECK_FALSE(scenario("tuesday", kDays));
  CHECK(scenario_names().size() == 6);
}

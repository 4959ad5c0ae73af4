// The layered renewal policy (daemon/lifecycle/renewal_policy.h), rule by
// rule, with a fixed clock: each case names what must decide.

#include <doctest/doctest.h>

#include "daemon/lifecycle/renewal_policy.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::daemon;
using ck::test::kDay;
using ck::test::kT0;

namespace {

constexpr std::int64_t kHour = 3600;

RenewalInputs ninety_days() {
  RenewalInputs in;
  in.not_before = kT0;
  in.not_after = kT0 + 90 * kDay;
  in.issued_at = kT0;
  return in;
}

AriAnswer window(std::int64_t start, std::int64_t end, std::int64_t chosen,
                 std::int64_t fetched = kT0 + kHour) {
  return AriAnswer{start, end, chosen, fetched};
}

}  // namespace

TEST_CASE("renewal policy: each rule decides in its turn") {
  struct Case {
    std::string name;
    RenewalInputs in;
    std::int64_t now;
    bool due;
    std::int64_t at;
    RenewalRule rule;
  };
  auto with = [](auto change) {
    RenewalInputs in = ninety_days();
    change(in);
    return in;
  };
  const Case cases[] = {
      {"lifetime_two_thirds_not_yet", ninety_days(), kT0 + 59 * kDay, false, kT0 + 60 * kDay,
       RenewalRule::lifetime},
      {"lifetime_two_thirds_due", ninety_days(), kT0 + 60 * kDay, true, kT0 + 60 * kDay,
       RenewalRule::lifetime},
      {"short_lived_half_not_yet",
       with([](RenewalInputs& in) { in.not_after = kT0 + 6 * kDay + 16 * kHour; }), kT0 + 3 * kDay,
       false, kT0 + 3 * kDay + 8 * kHour, RenewalRule::lifetime},
      {"short_lived_half_due",
       with([](RenewalInputs& in) { in.not_after = kT0 + 6 * kDay + 16 * kHour; }),
       kT0 + 3 * kDay + 8 * kHour, true, kT0 + 3 * kDay + 8 * kHour, RenewalRule::lifetime},
      {"renew_before_not_yet",
       with([](RenewalInputs& in) { in.renew_before = std::chrono::days(20); }), kT0 + 69 * kDay,
       false, kT0 + 70 * kDay, RenewalRule::renew_before},
      {"renew_before_due", with([](RenewalInputs& in) { in.renew_before = std::chrono::days(20); }),
       kT0 + 70 * kDay, true, kT0 + 70 * kDay, RenewalRule::renew_before},
      {"ari_early_overrides_renew_before", with([](RenewalInputs& in) {
         in.renew_before = std::chrono::days(10);
         in.ari = window(kT0 + 20 * kDay, kT0 + 22 * kDay, kT0 + 21 * kDay);
       }),
       kT0 + 21 * kDay, true, kT0 + 21 * kDay, RenewalRule::ari},
      {"ari_late_not_yet", with([](RenewalInputs& in) {
         in.ari = window(kT0 + 70 * kDay, kT0 + 72 * kDay, kT0 + 71 * kDay);
       }),
       kT0 + 65 * kDay, false, kT0 + 71 * kDay, RenewalRule::ari},
      {"ari_window_passed_renews_now", with([](RenewalInputs& in) {
         in.ari = window(kT0 + 2 * kDay, kT0 + 3 * kDay, kT0 + 3 * kDay, kT0 + 3 * kDay);
       }),
       kT0 + 4 * kDay, true, kT0 + 3 * kDay, RenewalRule::ari},
      {"ari_window_before_not_before_renews_now",
       with([](RenewalInputs& in) { in.ari = window(kT0 - kDay, kT0 + kDay, kT0 + kDay / 2); }),
       kT0 + 2 * kHour, true, kT0 + 2 * kHour, RenewalRule::ari},
      {"ari_answer_older_than_certificate_ignored", with([](RenewalInputs& in) {
         in.issued_at = kT0 + 10 * kHour;  // renewed since that answer
         in.ari = window(kT0 - 2 * kDay, kT0 - kDay, kT0 - kDay, kT0);
       }),
       kT0 + 11 * kHour, false, kT0 + 60 * kDay, RenewalRule::lifetime},
      {"emergency_floor_under_late_ari", with([](RenewalInputs& in) {
         in.ari = window(kT0 + 80 * kDay, kT0 + 89 * kDay, kT0 + 88 * kDay);
       }),
       kT0 + 75 * kDay, true, kT0 + 75 * kDay, RenewalRule::emergency},
      {"emergency_floor_under_renew_before",
       with([](RenewalInputs& in) { in.renew_before = std::chrono::days(2); }), kT0 + 74 * kDay,
       false, kT0 + 75 * kDay, RenewalRule::emergency},
      {"revoked_now", with([](RenewalInputs& in) { in.revoked = true; }), kT0 + kDay, true,
       kT0 + kDay, RenewalRule::revoked},
      {"config_changed_now", with([](RenewalInputs& in) { in.config_change = "names"; }),
       kT0 + kDay, true, kT0 + kDay, RenewalRule::config_changed},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const RenewalDecision d = decide_renewal(c.in, c.now, 0);
    CHECK(d.due == c.due);
    CHECK(d.at == c.at);
    CHECK(d.rule == c.rule);
    CHECK(d.held_until == 0);
    CHECK_FALSE(d.reason.empty());
  }
}

TEST_CASE("renewal policy: failures hold a due renewal back, less as expiry nears") {
  RenewalInputs in = ninety_days();
  in.failures = {3, kT0 + 61 * kDay, "urn:ietf:params:acme:error:serverInternal"};
  const RenewalDecision held = decide_renewal(in, kT0 + 61 * kDay, 0);
  CHECK_FALSE(held.due);
  CHECK(held.held_until == held.at);
  CHECK(held.at > kT0 + 61 * kDay);
  CHECK(held.reason.find("3 failures in a row") != std::string::npos);

  SUBCASE("good_operator_asked_skips_backoff") {
    in.operator_asked = true;
    CHECK(decide_renewal(in, kT0 + 61 * kDay, 0).due);
  }
  SUBCASE("good_retry_time_reached") {
    CHECK(decide_renewal(in, held.at, 0).due);
  }
  SUBCASE("good_failures_never_hold_past_the_retry_cap_near_expiry") {
    // A long streak an hour before expiry: retried within a tenth of what is left.
    in.failures = {40, kT0 + 90 * kDay - kHour, "down"};
    const RenewalDecision late = decide_renewal(in, kT0 + 90 * kDay - kHour, ~0ull);
    CHECK(late.at <= kT0 + 90 * kDay - kHour + kHour / 10);
  }
}

TEST_CASE("retry delays: the table grows, jitter stays within half to all, the cap shrinks") {
  const std::int64_t far = kT0 + 365 * kDay;
  std::int64_t previous_low = 0;
  for (int failures = 1; failures <= 12; ++failures) {
    CAPTURE(failures);
    const auto low = retry_delay(failures, kT0, far, 0).count();  // jitter's half
    CHECK(low > 0);
    CHECK(low >= previous_low);  // never shorter for a longer streak
    for (std::uint64_t r : {1ull, 12345ull, 987654321ull, ~0ull}) {
      const auto d = retry_delay(failures, kT0, far, r).count();
      CHECK(d >= low);
      CHECK(d <= 2 * low + 1);
    }
    previous_low = low;
  }
  CHECK(retry_delay(12, kT0, far, 0).count() == kDay / 2);  // the table ends at a day
  // Six hours before notAfter a long streak waits at most 36 minutes; never under half a minute.
  for (std::uint64_t r : {0ull, 7ull, ~0ull}) {
    CHECK(retry_delay(12, kT0, kT0 + 6 * kHour, r).count() <= 36 * 60);
    CHECK(retry_delay(12, kT0, kT0 + 30, r).count() <= 60);
    CHECK(retry_delay(12, kT0, kT0 + 30, r).count() >= 30);
  }
}

TEST_CASE("identity change: names compared without case, IPs as bytes, and the key type") {
  const std::vector<std::string> sans{"DNS:example.com", "DNS:www.example.com", "IP:192.0.2.1"};
  CHECK(identity_change({"Example.COM", "www.example.com"}, {"192.0.2.1"}, "ecdsa-p256", sans,
                        "ecdsa-p256")
            .empty());
  CHECK(identity_change({"www.example.com", "example.com"}, {"::ffff:192.0.2.1"}, "ecdsa-p256",
                        sans, "ecdsa-p256") == "names");
  CHECK(identity_change({"example.com"}, {"192.0.2.1"}, "ecdsa-p256", sans, "ecdsa-p256") ==
        "names");
  CHECK(identity_change({"example.com", "www.example.com"}, {"192.0.2.1"}, "rsa2048", sans,
                        "ecdsa-p256") == "key ecdsa-p256 to rsa2048");
}

TEST_CASE("failures: a first issue that fails waits out the retry table too") {
  const std::int64_t now = 1'800'000'000;
  RenewalDecision d{true, now, RenewalRule::first_issue, 0, "not in the inventory yet"};
  hold_after_failures(d, {1, now, "connection refused"}, false, std::nullopt, now, 7);
  CHECK_FALSE(d.due);
  CHECK(d.at >= now + 30);  // half of the first minute at least
  CHECK(d.at <= now + 60);
  CHECK(d.held_until == d.at);
  RenewalDecision later{true, now, RenewalRule::first_issue, 0, ""};
  hold_after_failures(later, {5, now, "down"}, false, std::nullopt, now, 7);
  CHECK(later.at >= now + 90 * 60);  // the fifth entry, 3 hours, at least halved
  RenewalDecision asked{true, now, RenewalRule::first_issue, 0, ""};
  hold_after_failures(asked, {5, now, "down"}, true, std::nullopt, now, 7);
  CHECK(asked.due);  // `certkeeper renew NAME`: no backoff
}

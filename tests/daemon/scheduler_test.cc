// The service's scheduler, pure: a fake clock, no network.

#include <doctest/doctest.h>

#include <chrono>

#include "daemon/service/scheduler.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::daemon;
using ck::test::kDay;
using ck::test::kT0;

namespace {

CertificateState cert(const std::string& name, std::int64_t renew_at) {
  CertificateState s;
  s.name = name;
  s.renewal.at = renew_at;
  return s;
}

}  // namespace

TEST_CASE("scheduler: due renewals now, the soonest later one wakes it, busy ones wait") {
  std::vector<CertificateState> states{cert("due", kT0 - 10), cert("later", kT0 + 3600),
                                       cert("busy", kT0 - 100), cert("soon", kT0 + 60)};
  states[2].busy = true;
  const Plan p = plan(states, kT0);
  REQUIRE(p.due.size() == 1);
  CHECK(states[p.due[0].index].name == "due");
  CHECK(p.due[0].kind == JobKind::renew);
  REQUIRE(p.next_wake);
  CHECK(*p.next_wake == kT0 + 60);
}

TEST_CASE("scheduler: nothing planned, nothing wakes it") {
  CHECK_FALSE(plan(std::span<const CertificateState>(), kT0).next_wake);
  std::vector<CertificateState> busy{cert("a", kT0 - 1)};
  busy[0].busy = true;
  const Plan p = plan(busy, kT0);
  CHECK(p.due.empty());
  CHECK_FALSE(p.next_wake);
}

TEST_CASE("scheduler: an ARI check when no renewal is due; a due renewal comes first") {
  std::vector<CertificateState> states{cert("ask", kT0 + 30 * kDay), cert("renew", kT0 - 1)};
  states[0].ari_check_at = kT0 - 5;
  states[1].ari_check_at = kT0 - 5;
  const Plan p = plan(states, kT0);
  REQUIRE(p.due.size() == 2);
  CHECK(states[p.due[0].index].name == "renew");  // renewals first, though asked later
  CHECK(p.due[0].kind == JobKind::renew);
  CHECK(p.due[1].kind == JobKind::check_ari);
  CHECK(states[p.due[1].index].name == "ask");
  // Later ARI checks set the wake-up when they are the soonest.
  states[0].ari_check_at = kT0 + 120;
  states[1].renewal.at = kT0 + 10 * kDay;
  const Plan later = plan(states, kT0);
  CHECK(later.due.size() == 1);  // "renew"'s ARI check, still overdue
  CHECK(*later.next_wake == kT0 + 120);
}

TEST_CASE("scheduler: the start-up spread holds overdue work back, not for ever") {
  std::vector<CertificateState> states{cert("a", kT0 - kDay)};
  states[0].held_until = kT0 + 30;
  const Plan held = plan(states, kT0);
  CHECK(held.due.empty());
  CHECK(*held.next_wake == kT0 + 30);
  CHECK(plan(states, kT0 + 30).due.size() == 1);
}

TEST_CASE("start spread: grows with the work, at most 15 minutes, jitter within it") {
  CHECK(start_spread(kT0, 0, 12345) == kT0);
  for (std::uint64_t r : {0ull, 1ull, 999ull, ~0ull}) {
    CHECK(start_spread(kT0, 1, r) <= kT0 + 5);
    CHECK(start_spread(kT0, 1000, r) <= kT0 + 10);
    CHECK(start_spread(kT0, 1000000, r) <= kT0 + 15 * 60);
    CHECK(start_spread(kT0, 1000000, r) >= kT0);
  }
  CHECK(start_spread(kT0, 1000, 7) == kT0 + 7);
  CHECK(start_spread(kT0, 1000, 11) == kT0);  // the window is 0..10 s
  CHECK(start_spread(kT0, 1000000, 899) == kT0 + 899);
}

TEST_CASE("ARI is asked when never asked, as the CA says, and at least twice a day") {
  CHECK(ari_check_time(std::nullopt, std::nullopt, kT0) == kT0);
  CHECK(ari_check_time(kT0 + 3600, kT0, kT0) == kT0 + 3600);
  CHECK(ari_check_time(kT0 + 3 * kDay, kT0, kT0) == kT0 + kDay / 2);
  // After a check that failed: an hour later, not at once again.
  CHECK(ari_check_time(std::nullopt, std::nullopt, kT0, kT0) == kT0 + 3600);
  CHECK(ari_check_time(kT0 - kDay, kT0 - 2 * kDay, kT0, kT0 - 60) == kT0 + 3540);
  CHECK(ari_check_time(kT0 + 6 * 3600, kT0, kT0, kT0 - 7200) == kT0 + 6 * 3600);
}

TEST_CASE("scheduler: renewals that wait for the CA go earliest deadline first") {
  std::vector<CertificateState> states{cert("90-day, due for days", kT0 - 3 * kDay),
                                       cert("6-day, due an hour ago", kT0 - 3600),
                                       cert("never issued", kT0), cert("an ARI check", kT0 + kDay)};
  states[0].renew_by = kT0 + 25 * kDay;
  states[1].renew_by = kT0 + 5 * 3600;
  states[3].ari_check_at = kT0 - 10 * kDay;
  const Plan p = plan(states, kT0);
  REQUIRE(p.due.size() == 4);
  CHECK(states[p.due[0].index].name == "never issued");  // nothing to lose: no certificate
  CHECK(states[p.due[1].index].name == "6-day, due an hour ago");
  CHECK(states[p.due[2].index].name == "90-day, due for days");
  CHECK(p.due[3].kind == JobKind::check_ari);
  // The same deadline: the longest overdue first.
  states[1].renew_by = states[0].renew_by;
  const Plan same = plan(states, kT0);
  CHECK(states[same.due[1].index].name == "90-day, due for days");
}

TEST_CASE("scheduler: an order waits for a slot at its CA, and for a rate limit's hold") {
  CaThrottle ca;
  CHECK(may_send_order(0, 4, ca, kT0));
  CHECK(may_send_order(3, 4, ca, kT0));
  CHECK_FALSE(may_send_order(4, 4, ca, kT0));
  using std::chrono::seconds;
  ca.rate_limited(kT0, seconds(600));
  CHECK(ca.held_until == kT0 + 600);
  CHECK_FALSE(may_send_order(0, 4, ca, kT0 + 599));
  // After the hold, one at a time until an order succeeds.
  CHECK(may_send_order(0, 4, ca, kT0 + 600));
  CHECK_FALSE(may_send_order(1, 4, ca, kT0 + 600));
  ca.rate_limited(kT0 + 600, seconds(60));
  CHECK(ca.held_until == kT0 + 660);
  ca.rate_limited(kT0, seconds(10));
  CHECK(ca.held_until == kT0 + 660);  // a longer hold stands
  ca.order_succeeded();
  CHECK(may_send_order(3, 4, ca, kT0 + 660));
  // A CA that cannot be reached: held 30 s, doubling, 10 minutes at most; then one at a time.
  CaThrottle down;
  down.unreachable(kT0);
  CHECK(down.until() == kT0 + 30);
  CHECK_FALSE(may_send_order(0, 4, down, kT0));
  CHECK(may_send_order(0, 4, down, kT0, true));  // an operator's renew does not wait for ours
  down.unreachable(kT0 + 30);
  CHECK(down.until() == kT0 + 90);
  for (int i = 0; i < 10; ++i) {
    down.unreachable(kT0 + 1000);
  }
  CHECK(down.until() == kT0 + 1600);
  CHECK(down.until(true) == 0);
  CHECK(may_send_order(0, 4, down, kT0 + 1600));
  CHECK_FALSE(may_send_order(1, 4, down, kT0 + 1600));
  down.order_succeeded();
  CHECK(down.unreachable_in_a_row == 0);
  CHECK(may_send_order(3, 4, down, kT0 + 1600));
}

TEST_CASE(
    "scheduler: work due while the service was down is overdue at start; a first issue is not") {
  CertificateState renewal = cert("renewal", kT0 - 1);
  CHECK(overdue_at_start(renewal, kT0));
  CertificateState later = cert("later", kT0 + kDay);
  CHECK_FALSE(overdue_at_start(later, kT0));
  later.ari_check_at = kT0;
  CHECK(overdue_at_start(later, kT0));
  CertificateState first = cert("first", kT0 - 1);
  first.renewal.rule = RenewalRule::first_issue;
  CHECK_FALSE(overdue_at_start(first, kT0));
}

TEST_CASE("scheduler: planning 100,000 certificates is one pass") {
  std::vector<CertificateState> states;
  for (int i = 0; i < 100000; ++i) {
    states.push_back(cert("c" + std::to_string(i), kT0 + (i % 1000) * 60 - 30000));
    states.back().ari_check_at = kT0 + (i % 720) * 60;
  }
  const Plan p = plan(states, kT0);
  CHECK(p.due.size() > 0);
  CHECK(p.due.size() < states.size() * 2);
  for (std::size_t k = 1; k < p.due.size(); ++k) {
    if (p.due[k - 1].kind == p.due[k].kind) {
      CHECK(p.due[k - 1].at <= p.due[k].at);
    } else {
      CHECK(p.due[k - 1].kind == JobKind::renew);
    }
  }
  REQUIRE(p.next_wake);
  CHECK(*p.next_wake > kT0);
}

TEST_CASE("scheduler: a due status check runs, one job per certificate, the sooner check first") {
  std::vector<CertificateState> states{cert("both", kT0 + 3600), cert("status", kT0 + 3600)};
  states[0].ari_check_at = kT0 - 10;
  states[0].status_check_at = kT0 - 60;  // overdue longer: first
  states[1].status_check_at = kT0 + 120;
  const Plan p = plan(states, kT0);
  REQUIRE(p.due.size() == 1);
  CHECK(p.due[0].kind == JobKind::check_status);
  CHECK(p.due[0].index == 0);
  REQUIRE(p.next_wake);
  CHECK(*p.next_wake == kT0 + 120);
}

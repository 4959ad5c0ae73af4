// Which alerts fire, pure: a fake clock, no network, no inventory.

#include "daemon/service/alert_policy.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::daemon;
using ck::test::kDay;
using ck::test::kT0;

namespace {

AlertFacts issued(const std::string& name, std::int64_t lifetime_days) {
  AlertFacts f;
  f.name = name;
  f.not_before = kT0;
  f.not_after = kT0 + lifetime_days * kDay;
  return f;
}

std::vector<std::string> keys(const AlertEvaluation& e) {
  std::vector<std::string> out;
  for (const auto& c : e.firing) {
    out.push_back(c.key);
  }
  return out;
}

store::AlertRecord open_alert(const AlertCondition& c) {
  return {0, c.key, c.name, c.kind, c.severity, c.message, kT0, kT0, std::nullopt, ""};
}

}  // namespace

TEST_CASE("alerts: nothing fires for a certificate with time left, and the next crossing wakes") {
  const AlertsConfig config;  // 30d, 14d, 7d, 1d, 25%
  const auto e = evaluate_alerts(issued("www", 90), config, kT0 + 10 * kDay);
  CHECK(e.firing.empty());
  REQUIRE(e.next_change);
  // 25% of 90 days is 22.5 days before notAfter: the first crossing (30d does
  // not apply to a 90-day lifetime).
  CHECK(*e.next_change == kT0 + 90 * kDay - 90 * kDay / 4);
}

TEST_CASE("alerts: the tightest threshold crossed fires, one per certificate") {
  const AlertsConfig config;
  const auto www = issued("www", 90);
  auto e = evaluate_alerts(www, config, kT0 + 70 * kDay);  // 20 days left: 25% crossed
  CHECK(keys(e) == std::vector<std::string>{"expiry:www:25%"});
  CHECK(e.firing[0].severity == "warning");
  CHECK(e.firing[0].message.find("within 25% of its lifetime") != std::string::npos);
  REQUIRE(e.next_change);
  CHECK(*e.next_change == kT0 + 76 * kDay);  // 14d next
  // 10 days left: 14d is tighter than 25%; under 1/6 of the lifetime, where
  // the renewal policy's last attempts run, it is critical.
  e = evaluate_alerts(www, config, kT0 + 80 * kDay);
  CHECK(keys(e) == std::vector<std::string>{"expiry:www:14d"});
  CHECK(e.firing[0].severity == "critical");
  CHECK(e.firing[0].message.find("within 14d") != std::string::npos);
  e = evaluate_alerts(www, config, kT0 + 89 * kDay + 1);
  CHECK(keys(e) == std::vector<std::string>{"expiry:www:1d"});
  CHECK(e.firing[0].severity == "critical");
  e = evaluate_alerts(www, config, kT0 + 90 * kDay + 1);
  CHECK(keys(e) == std::vector<std::string>{"expiry:www:expired"});
  CHECK(e.firing[0].severity == "critical");
  CHECK_FALSE(e.next_change);
}

TEST_CASE("alerts: a 6-day certificate is not alerted on a 30-day rule, a fraction fits it") {
  AlertsConfig config;
  config.before_expiry = {{std::chrono::days(30), 0, "30d"}, {std::nullopt, 33, "33%"}};
  const auto short_lived = issued("short", 6);
  // Renewed at half its lifetime normally: at 3.5 days in, nothing is wrong yet.
  CHECK(evaluate_alerts(short_lived, config, kT0 + 3 * kDay + kDay / 2).firing.empty());
  // 1.5 days left is under 33% of 6 days: the fraction fires, the 30-day rule never.
  auto e = evaluate_alerts(short_lived, config, kT0 + 4 * kDay + kDay / 2);
  CHECK(keys(e) == std::vector<std::string>{"expiry:short:33%"});
  CHECK(e.firing[0].message.find("of its lifetime") != std::string::npos);
}

TEST_CASE("alerts: renewal failures warn, a streak is critical, with the CA's problem text") {
  AlertsConfig config;
  config.failure_streak = 3;
  auto www = issued("www", 90);
  www.failures = {1, kT0, "urn:ietf:params:acme:error:rateLimited: too many certificates"};
  auto e = evaluate_alerts(www, config, kT0 + kDay);
  CHECK(keys(e) == std::vector<std::string>{"renewal_failed:www"});
  CHECK(e.firing[0].message.find("rateLimited: too many") != std::string::npos);
  www.failures.count = 3;
  e = evaluate_alerts(www, config, kT0 + kDay);
  CHECK(keys(e) == std::vector<std::string>{"renewal_failed:www:streak"});
  CHECK(e.firing[0].severity == "critical");
  // A first issue that fails has no certificate to expire, but fails all the same.
  AlertFacts first;
  first.name = "new";
  first.failures = {1, kT0, "connection refused"};
  CHECK(keys(evaluate_alerts(first, config, kT0)) ==
        std::vector<std::string>{"renewal_failed:new"});
}

TEST_CASE("alerts: revoked and a failed deploy fire; a revoked one has no expiry alert") {
  const AlertsConfig config;
  auto www = issued("www", 90);
  www.revoked = true;
  www.deploy_error = "the reload command failed (exit 1)";
  auto e = evaluate_alerts(www, config, kT0 + 85 * kDay);
  CHECK(keys(e) == std::vector<std::string>{"revoked:www", "deploy_failed:www"});
}

TEST_CASE(
    "alerts compared: new ones open, gone ones recover, superseded and unconfigured close "
    "silently") {
  const AlertsConfig config;
  auto www = issued("www", 90);
  auto api = issued("api", 90);
  const auto at14 = evaluate_alerts(www, config, kT0 + 80 * kDay).firing;
  const auto at7 = evaluate_alerts(www, config, kT0 + 84 * kDay).firing;

  auto changes = compare_alerts(at14, {}, {"www", "api"});
  REQUIRE(changes.open.size() == 1);
  CHECK(changes.close.empty());

  // Open already, same message: nothing to do.
  changes = compare_alerts(at14, {open_alert(at14[0])}, {"www", "api"});
  CHECK(changes.open.empty());
  CHECK(changes.refresh.empty());
  CHECK(changes.close.empty());

  // 7d supersedes 14d: one new alert, the old one closed without a notice.
  changes = compare_alerts(at7, {open_alert(at14[0])}, {"www", "api"});
  REQUIRE(changes.open.size() == 1);
  CHECK(changes.open[0].key == "expiry:www:7d");
  REQUIRE(changes.close.size() == 1);
  CHECK(changes.close[0].resolution == "superseded");

  // Renewed: nothing fires; the open alert recovers.
  changes = compare_alerts({}, {open_alert(at7[0])}, {"www", "api"});
  REQUIRE(changes.close.size() == 1);
  CHECK(changes.close[0].key == "expiry:www:7d");
  CHECK(changes.close[0].resolution == "recovered");

  // No longer configured: closed, no recovery notice.
  changes = compare_alerts({}, {open_alert(at7[0])}, {"api"});
  REQUIRE(changes.close.size() == 1);
  CHECK(changes.close[0].resolution == "unconfigured");

  // A new error text refreshes the open alert.
  api.failures = {1, kT0, "first error"};
  auto failing = evaluate_alerts(api, config, kT0).firing;
  api.failures = {2, kT0 + 60, "second error"};
  changes = compare_alerts(evaluate_alerts(api, config, kT0 + 60).firing, {open_alert(failing[0])},
                           {"www", "api"});
  CHECK(changes.open.empty());
  REQUIRE(changes.refresh.size() == 1);
  CHECK(changes.refresh[0].message.find("second error") != std::string::npos);
}

TEST_CASE(
    "alerts: a staple failing or past its nextUpdate, and revocation that cannot be learned") {
  const AlertsConfig config;
  auto www = issued("www", 90);
  www.staple_error = "http://ocsp.example.test: Couldn't connect to server";
  auto e = evaluate_alerts(www, config, kT0 + kDay);
  CHECK(keys(e) == std::vector<std::string>{"staple:www:failing"});
  CHECK(e.firing[0].severity == "warning");
  www.staple_expired = true;
  e = evaluate_alerts(www, config, kT0 + kDay);
  CHECK(keys(e) == std::vector<std::string>{"staple:www:expired"});
  CHECK(e.firing[0].severity == "critical");
  CHECK(e.firing[0].message.find("Couldn't connect") != std::string::npos);

  auto api = issued("api", 90);
  api.revocation_unavailable_by = "crl";
  api.revocation_error = "http://crl.example.test/ca.crl: HTTP 404";
  e = evaluate_alerts(api, config, kT0 + kDay);
  CHECK(keys(e) == std::vector<std::string>{"crl_unreachable:api"});
  CHECK(e.firing[0].message.find("HTTP 404") != std::string::npos);
  api.revocation_unavailable_by = "ocsp";
  CHECK(keys(evaluate_alerts(api, config, kT0 + kDay)) ==
        std::vector<std::string>{"ocsp_unreachable:api"});
}

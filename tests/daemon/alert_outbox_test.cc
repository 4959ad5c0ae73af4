// Alert notices: their texts (pure), how alert changes are written with their
// notices, and the outbox delivering, retrying and giving up, with a manual
// clock and a scripted HTTP peer.

#include "daemon/service/alert_outbox.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "daemon/service/alert_sinks.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::daemon;
using ck::test::kDay;
using ck::test::kT0;

namespace {

store::AlertRecord sample_alert() {
  return {7,
          "expiry:www:14d",
          "www",
          "expiry",
          "warning",
          "certificate www expires within 14d\nSubject: injected",
          kT0,
          kT0,
          std::nullopt,
          ""};
}

template <class Predicate>
bool eventually(Predicate done) {
  for (int i = 0; i < 200 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return done();
}

}  // namespace

TEST_CASE("notices: the webhook body, the command's environment and the e-mail say the same") {
  store::AlertRecord alert = sample_alert();
  const NoticeContent content{alert, "firing", "host1"};
  const auto body = notice_json(content);
  CHECK(body["version"] == 1);
  CHECK(body["notice"] == "firing");
  CHECK(body["alert"]["key"] == "expiry:www:14d");
  CHECK(body["alert"]["resolved_at"].is_null());
  const auto env = notice_environment(content);
  CHECK(std::ranges::find(env, "CERTKEEPER_ALERT_KEY=expiry:www:14d") != env.end());
  CHECK(std::ranges::find(env, "CERTKEEPER_ALERT_NOTICE=firing") != env.end());
  const std::string mail = notice_email(content, {"ops@example.test", "cto@example.test"});
  CHECK(mail.starts_with("To: ops@example.test, cto@example.test\n"));
  CHECK(mail.find("Subject: [certkeeper] warning: www: expiry\n") != std::string::npos);
  // The message's newline stays in the body: it adds no header.
  const std::string headers = mail.substr(0, mail.find("\n\n"));
  CHECK(headers.find("injected") == std::string::npos);
  alert.resolved_at = kT0 + kDay;
  const std::string resolved = notice_email({alert, "resolved", "host1"}, {"ops@example.test"});
  CHECK(resolved.find("Subject: [certkeeper] resolved: www: expiry") != std::string::npos);
  CHECK(resolved.find("resolved at: ") != std::string::npos);
}

TEST_CASE("alert changes are written with a notice per sink; only a recovery sends one more") {
  ManualClock clock(kT0);
  auto inventory = store::open_memory_inventory(clock).value();
  AlertsConfig config;
  config.webhook = "https://hooks.example.test/x";
  config.email = {"ops@example.test"};
  const AlertCondition expiry{"expiry:www:14d", "www", "expiry", "warning", "expires"};
  const AlertCondition tighter{"expiry:www:7d", "www", "expiry", "critical", "expires sooner"};
  AlertChanges opened;
  opened.open = {expiry};
  auto applied = apply_alert_changes(*inventory, opened, config, kT0).value();
  REQUIRE(applied.opened.size() == 1);
  CHECK(inventory->alerts().notices_of(applied.opened[0].id).value().size() == 2);

  AlertChanges superseded;
  superseded.open = {tighter};
  superseded.close = {{"expiry:www:14d", "superseded"}};
  applied = apply_alert_changes(*inventory, superseded, config, kT0 + 60).value();
  CHECK(applied.recovered.empty());
  const auto history = inventory->alerts().history(10).value();
  REQUIRE(history.size() == 2);
  CHECK(history[1].resolution == "superseded");
  CHECK(inventory->alerts().notices_of(history[1].id).value().size() == 2);  // no recovery

  AlertChanges recovered;
  recovered.close = {{"expiry:www:7d", "recovered"}};
  applied = apply_alert_changes(*inventory, recovered, config, kT0 + 120).value();
  REQUIRE(applied.recovered.size() == 1);
  const auto notices = inventory->alerts().notices_of(applied.recovered[0].id).value();
  REQUIRE(notices.size() == 4);
  CHECK(notices[2].notice == "resolved");
}

TEST_CASE("notice retry delays double from 30 seconds up to an hour") {
  CHECK(notice_retry_delay(1) == 30);
  CHECK(notice_retry_delay(2) == 60);
  CHECK(notice_retry_delay(5) == 480);
  CHECK(notice_retry_delay(50) == 3600);
}

TEST_CASE("the outbox retries a failing webhook with backoff and marks it when delivered") {
  test::TempDir dir;
  ManualClock clock(kT0);
  const std::string database = (dir / "inventory.db").string();
  auto inventory = store::open_inventory(database, clock).value();
  std::atomic<int> requests{0};
  test::ScriptedHttpServer hook([&](const std::string&) {
    return ++requests == 1 ? test::http_response("503 Service Unavailable", "", "busy")
                           : test::http_response("204 No Content", "", "");
  });
  AlertsConfig config;
  config.webhook = hook.url("/hook");
  AlertChanges changes;
  changes.open = {{"revoked:www", "www", "revoked", "critical", "revoked"}};
  auto applied = apply_alert_changes(*inventory, changes, config, kT0).value();
  const std::int64_t id = applied.opened.at(0).id;
  auto notice = [&] { return inventory->alerts().notices_of(id).value().at(0); };

  auto outbox = AlertOutbox::start(database, clock, config).value();
  outbox->wake();
  REQUIRE(eventually([&] { return notice().attempts == 1; }));
  CHECK(notice().last_error.find("HTTP 503") != std::string::npos);
  CHECK(notice().next_attempt_at == kT0 + 30);
  CHECK_FALSE(notice().delivered_at);
  outbox->wake();  // not due yet: nothing is sent
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(requests == 1);
  clock.advance(std::chrono::seconds(30));
  outbox->wake();
  REQUIRE(eventually([&] { return notice().delivered_at.has_value(); }));
  CHECK(notice().attempts == 2);
  CHECK(requests == 2);
  CHECK(hook.last_request().find("POST /hook") == 0);
}

TEST_CASE("the outbox gives up a notice after a day, and one for a sink no longer configured") {
  test::TempDir dir;
  ManualClock clock(kT0);
  const std::string database = (dir / "inventory.db").string();
  auto inventory = store::open_inventory(database, clock).value();
  AlertsConfig config;
  config.command = {"false"};
  config.email = {"ops@example.test"};
  AlertChanges changes;
  changes.open = {{"revoked:www", "www", "revoked", "critical", "revoked"}};
  const std::int64_t id =
      apply_alert_changes(*inventory, changes, config, kT0).value().opened.at(0).id;
  clock.advance(std::chrono::seconds(kNoticeGiveUpAfter));
  config.email.clear();  // a reload removed it
  auto outbox = AlertOutbox::start(database, clock, config).value();
  REQUIRE(eventually([&] {
    const auto notices = inventory->alerts().notices_of(id).value();
    return notices.size() == 2 && notices[0].given_up_at && notices[1].given_up_at;
  }));
  const auto notices = inventory->alerts().notices_of(id).value();
  CHECK(notices[0].last_error.find("exit 1") != std::string::npos);
  CHECK(notices[1].last_error.find("no longer configured") != std::string::npos);
  CHECK_FALSE(inventory->alerts().next_notice_at().value());
}

#include "daemon/service/alert_outbox.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "daemon/service/alert_sinks.h"

namespace ck::daemon {
namespace {

constexpr std::size_t kBatch = 32;

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string("localhost");
}

Status queue_notices(store::Inventory& inventory, std::int64_t alert_id, const char* notice,
                     const AlertsConfig& config, std::int64_t now) {
  for (const auto& sink : configured_sinks(config)) {
    CK_TRY_STATUS(inventory.alerts().queue_notice({0, alert_id, notice, sink, now, 0, now}));
  }
  return {};
}

}  // namespace

std::vector<std::string> configured_sinks(const AlertsConfig& config) {
  std::vector<std::string> out;
  if (!config.webhook.empty()) {
    out.emplace_back("webhook");
  }
  if (!config.command.empty()) {
    out.emplace_back("command");
  }
  if (!config.email.empty()) {
    out.emplace_back("email");
  }
  return out;
}

Result<AppliedAlerts> apply_alert_changes(store::Inventory& inventory, const AlertChanges& changes,
                                          const AlertsConfig& config, std::int64_t now) {
  AppliedAlerts applied;
  auto written = inventory.transaction([&]() -> Status {
    applied = {};  // a retried body starts again
    for (const auto& c : changes.open) {
      store::AlertRecord record{0, c.key, c.name, c.kind, c.severity, c.message, now, now, {}, ""};
      CK_TRY(id, inventory.alerts().fire(record));
      if (id) {
        CK_TRY_STATUS(queue_notices(inventory, *id, "firing", config, now));
        record.id = *id;
        applied.opened.push_back(record);
      }
    }
    for (const auto& c : changes.refresh) {
      CK_TRY_STATUS(inventory.alerts().fire(
          {0, c.key, c.name, c.kind, c.severity, c.message, now, now, {}, ""}));
    }
    for (const auto& close : changes.close) {
      CK_TRY(id, inventory.alerts().resolve(close.key, now, close.resolution));
      if (id && close.resolution == "recovered") {
        CK_TRY_STATUS(queue_notices(inventory, *id, "resolved", config, now));
        CK_TRY(record, inventory.alerts().find(*id));
        if (record) {
          applied.recovered.push_back(*record);
        }
      }
    }
    return {};
  });
  if (!written) {
    return std::unexpected(written.error());
  }
  return applied;
}

std::int64_t notice_retry_delay(int attempts) {
  const int doublings = std::clamp(attempts - 1, 0, 7);
  return std::min<std::int64_t>(30LL << doublings, 3600);
}

Result<std::unique_ptr<AlertOutbox>> AlertOutbox::start(const std::string& database,
                                                        const Clock& clock, AlertsConfig config) {
  CK_TRY(inventory, store::open_inventory(database, clock));
  return std::unique_ptr<AlertOutbox>(
      new AlertOutbox(std::move(inventory), clock, std::move(config)));
}

AlertOutbox::AlertOutbox(std::unique_ptr<store::Inventory> inventory, const Clock& clock,
                         AlertsConfig config)
    : inventory_(std::move(inventory)),
      clock_(clock),
      host_(this_host()),
      config_(std::move(config)),
      thread_([this](std::stop_token stop) { run(stop); }) {}

AlertOutbox::~AlertOutbox() {
  thread_.request_stop();
  changed_.notify_all();
}

void AlertOutbox::configure(AlertsConfig config) {
  std::lock_guard lock(mutex_);
  config_ = std::move(config);
  woken_ = true;
  changed_.notify_all();
}

void AlertOutbox::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  changed_.notify_all();
}

// Sleeps until the soonest notice is due, or until woken: nothing wakes it
// while nothing waits.
void AlertOutbox::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    deliver_due(stop);
    auto next = inventory_->alerts().next_notice_at();
    std::unique_lock lock(mutex_);
    if (woken_) {
      woken_ = false;
      continue;
    }
    if (!next) {
      spdlog::error("alerts: cannot read the notices waiting: {}", next.error().describe());
      changed_.wait_for(lock, stop, std::chrono::seconds(60), [this] { return woken_; });
    } else if (*next) {
      const auto wait =
          std::chrono::seconds(std::max<std::int64_t>(1, **next - clock_.unix_seconds()));
      changed_.wait_for(lock, stop, wait, [this] { return woken_; });
    } else {
      changed_.wait(lock, stop, [this] { return woken_; });
    }
    woken_ = false;
  }
}

void AlertOutbox::deliver_due(std::stop_token stop) {
  AlertsConfig config;
  {
    std::lock_guard lock(mutex_);
    config = config_;
  }
  auto due = inventory_->alerts().due_notices(clock_.unix_seconds(), kBatch);
  if (!due) {
    spdlog::error("alerts: cannot read the notices waiting: {}", due.error().describe());
    return;
  }
  for (store::AlertNotice notice : *due) {
    if (stop.stop_requested()) {
      return;  // undelivered: still waiting at the next start
    }
    Status delivered = deliver(notice, config, stop);
    const std::int64_t now = clock_.unix_seconds();
    ++notice.attempts;
    if (delivered) {
      notice.delivered_at = now;
      notice.last_error.clear();
      spdlog::info("alert {}: {} notice delivered by {}", notice.alert_id, notice.notice,
                   notice.sink);
    } else if (delivered.error().code == Errc::cancelled) {
      return;
    } else {
      notice.last_error = delivered.error().describe();
      if (now - notice.created_at >= kNoticeGiveUpAfter ||
          delivered.error().code == Errc::unsupported) {
        notice.given_up_at = now;
        spdlog::error("alert {}: {} notice by {} given up after {} attempt(s): {}", notice.alert_id,
                      notice.notice, notice.sink, notice.attempts, notice.last_error);
      } else {
        notice.next_attempt_at = now + notice_retry_delay(notice.attempts);
        spdlog::warn("alert {}: {} notice by {} failed (attempt {}), again at {}: {}",
                     notice.alert_id, notice.notice, notice.sink, notice.attempts,
                     format_rfc3339(notice.next_attempt_at), notice.last_error);
      }
    }
    if (auto saved = inventory_->alerts().update_notice(notice); !saved) {
      spdlog::error("alert {}: cannot record the notice's delivery: {}", notice.alert_id,
                    saved.error().describe());
    }
  }
}

Status AlertOutbox::deliver(const store::AlertNotice& notice, const AlertsConfig& config,
                            std::stop_token stop) {
  CK_TRY(alert, inventory_->alerts().find(notice.alert_id));
  if (!alert) {
    return fail(Errc::unsupported, "the alert is no longer in the inventory");
  }
  const NoticeContent content{*alert, notice.notice, host_};
  if (notice.sink == "webhook" && !config.webhook.empty()) {
    if (!webhook_client_ || webhook_client_ca_ != config.webhook_ca_file) {
      HttpOptions options;
      options.ca_file = config.webhook_ca_file;
      options.timeout = std::chrono::seconds(15);
      CK_TRY(client, HttpClient::create(options));
      webhook_client_ = std::make_unique<HttpClient>(std::move(client));
      webhook_client_ca_ = config.webhook_ca_file;
    }
    return post_webhook(*webhook_client_, config.webhook, notice_json(content), std::move(stop));
  }
  if (notice.sink == "command" && !config.command.empty()) {
    return run_alert_command(config.command, notice_environment(content), std::move(stop));
  }
  if (notice.sink == "email" && !config.email.empty()) {
    return send_email(config.sendmail, notice_email(content, config.email), std::move(stop));
  }
  return fail(Errc::unsupported, "the " + notice.sink + " sink is no longer configured");
}

}  // namespace ck::daemon

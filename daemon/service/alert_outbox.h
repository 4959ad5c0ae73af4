#pragma once
// Alerts kept and delivered. The service writes each change of the alerts (a
// new alert, a refreshed message, a closed one) together with one notice per
// configured sink in one transaction (apply_alert_changes); a thread of its
// own (AlertOutbox) delivers the notices, each marked when delivered and
// retried with backoff when not. A restart neither loses a notice nor sends a
// delivered one again (a kill between delivery and its mark may repeat that
// one notice: delivery is at least once).

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/http.h"
#include "daemon/lifecycle/config.h"
#include "daemon/service/alert_policy.h"
#include "store/inventory.h"

namespace ck::daemon {

// The sinks [alerts] configures: "webhook", "command", "email" (the log
// always has every alert and needs no notice).
[[nodiscard]] std::vector<std::string> configured_sinks(const AlertsConfig& config);

struct AppliedAlerts {
  std::vector<store::AlertRecord> opened;
  std::vector<store::AlertRecord> recovered;  // closed as "recovered": a notice each
};
// Writes `changes` and their notices in one transaction: all or nothing.
[[nodiscard]] Result<AppliedAlerts> apply_alert_changes(store::Inventory& inventory,
                                                        const AlertChanges& changes,
                                                        const AlertsConfig& config,
                                                        std::int64_t now);

// The wait after `attempts` failed deliveries: 30 s, doubling, at most an hour.
[[nodiscard]] std::int64_t notice_retry_delay(int attempts);
// A notice undelivered this long after it was queued is given up (and logged).
inline constexpr std::int64_t kNoticeGiveUpAfter = 24 * 3600;

class AlertOutbox {
 public:
  // Opens its own connection to `database` and starts its thread.
  [[nodiscard]] static Result<std::unique_ptr<AlertOutbox>> start(const std::string& database,
                                                                  const Clock& clock,
                                                                  AlertsConfig config);
  ~AlertOutbox();  // asks a delivery in progress to stop, and joins
  AlertOutbox(const AlertOutbox&) = delete;
  AlertOutbox& operator=(const AlertOutbox&) = delete;

  void configure(AlertsConfig config);  // after a reload
  void wake();                          // notices were queued

 private:
  AlertOutbox(std::unique_ptr<store::Inventory> inventory, const Clock& clock, AlertsConfig config);
  void run(std::stop_token stop);
  void deliver_due(std::stop_token stop);
  [[nodiscard]] Status deliver(const store::AlertNotice& notice, const AlertsConfig& config,
                               std::stop_token stop);

  std::unique_ptr<store::Inventory> inventory_;  // the thread's own connection
  const Clock& clock_;
  std::string host_;
  std::mutex mutex_;
  std::condition_variable_any changed_;
  AlertsConfig config_;
  bool woken_ = false;
  std::unique_ptr<HttpClient> webhook_client_;  // the thread's; made again after a reload
  std::string webhook_client_ca_;
  std::jthread thread_;
};

}  // namespace ck::daemon

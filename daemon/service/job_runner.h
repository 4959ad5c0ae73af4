#pragma once
// A bounded pool of worker threads for the service's jobs (renewals, ARI
// checks), so that many run at once in one process while the event loop stays
// free. Each worker has its own inventory connection (the store's contract:
// one connection per thread). A finished job is queued and the loop woken
// through an eventfd; a stop request reaches every running job's stop token.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "daemon/lifecycle/deployment_check.h"
#include "daemon/lifecycle/status_check.h"
#include "daemon/service/scheduler.h"
#include "store/inventory.h"

namespace ck::daemon {

struct JobOutcome {
  std::string name;
  JobKind kind = JobKind::renew;
  Status status;             // the job's error, with the CA's problem text, when it failed
  std::string summary;       // what it did, for logs and status ("issued 1a2b...", "not due")
  std::string deploy_error;  // a renewal that succeeded, then failed to deploy
  std::string order_url;     // the order that issued it, for the log
  std::optional<StatusCheck> status_check;  // what a check_status job found
  std::vector<EndpointProbe> probes;        // what a probe job found
  nlohmann::json revoked;                   // what a revoke job revoked, for the operator who asked
  std::chrono::nanoseconds elapsed{};       // how long it ran (the runner measures)
};

class JobRunner {
 public:
  using Work = std::function<JobOutcome(store::Inventory&, std::stop_token)>;

  // `workers` threads, each opening `database` (with `clock`) for itself.
  [[nodiscard]] static Result<std::unique_ptr<JobRunner>> create(std::size_t workers,
                                                                 const std::string& database,
                                                                 const Clock& clock);
  ~JobRunner();  // stops and joins every worker (running jobs see their stop token)
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void submit(Work work);
  // Readable when a job has finished; take_finished() empties it.
  [[nodiscard]] int wake_fd() const { return wake_fd_; }
  [[nodiscard]] std::vector<JobOutcome> take_finished();
  // Jobs queued or running.
  [[nodiscard]] std::size_t pending() const;
  void request_stop();

 private:
  JobRunner(std::vector<std::unique_ptr<store::Inventory>> connections, int wake_fd);
  void work(std::stop_token stop, store::Inventory& inventory);

  std::vector<std::unique_ptr<store::Inventory>> connections_;
  int wake_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable_any ready_;
  std::deque<Work> queue_;
  std::vector<JobOutcome> finished_;
  std::size_t running_ = 0;
  std::vector<std::jthread> threads_;  // last: joined before the rest goes
};

}  // namespace ck::daemon

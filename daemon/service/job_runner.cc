#include "daemon/service/job_runner.h"

#include <malloc.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ck::daemon {

Result<std::unique_ptr<JobRunner>> JobRunner::create(std::size_t workers,
                                                     const std::string& database,
                                                     const Clock& clock) {
  std::vector<std::unique_ptr<store::Inventory>> connections;
  for (std::size_t i = 0; i < std::max<std::size_t>(workers, 1); ++i) {
    CK_TRY(inventory, store::open_inventory(database, clock));
    connections.push_back(std::move(inventory));
  }
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    return fail(Errc::io, std::string("eventfd: ") + std::strerror(errno));
  }
  return std::unique_ptr<JobRunner>(new JobRunner(std::move(connections), fd));
}

JobRunner::JobRunner(std::vector<std::unique_ptr<store::Inventory>> connections, int wake_fd)
    : connections_(std::move(connections)), wake_fd_(wake_fd) {
  for (auto& connection : connections_) {
    threads_.emplace_back(
        [this, inventory = connection.get()](std::stop_token stop) { work(stop, *inventory); });
  }
}

JobRunner::~JobRunner() {
  request_stop();
  threads_.clear();  // joins
  ::close(wake_fd_);
}

void JobRunner::request_stop() {
  for (auto& t : threads_) {
    t.request_stop();
  }
  ready_.notify_all();
}

void JobRunner::submit(Work work) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(work));
  }
  ready_.notify_one();
}

std::vector<JobOutcome> JobRunner::take_finished() {
  std::uint64_t count = 0;
  static_cast<void>(::read(wake_fd_, &count, sizeof count));
  std::lock_guard lock(mutex_);
  return std::exchange(finished_, {});
}

std::size_t JobRunner::pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + running_;
}

void JobRunner::work(std::stop_token stop, store::Inventory& inventory) {
  while (true) {
    Work job;
    {
      std::unique_lock lock(mutex_);
      if (!ready_.wait(lock, stop, [&] { return !queue_.empty(); })) {
        return;  // stop requested
      }
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    const auto began = std::chrono::steady_clock::now();  // a measurement, not a schedule
    JobOutcome outcome = job(inventory, stop);
    outcome.elapsed = std::chrono::steady_clock::now() - began;
    bool idle = false;
    bool all_idle = false;
    {
      std::lock_guard lock(mutex_);
      --running_;
      finished_.push_back(std::move(outcome));
      idle = queue_.empty();
      all_idle = idle && running_ == 0;
    }
    if (idle) {
      // A burst of work is over: the connection's caches, and the heap's free
      // pages, go back, so that the service's memory returns to its idle size.
      inventory.release_memory();
      if (all_idle) {
        ::malloc_trim(0);
      }
    }
    const std::uint64_t one = 1;
    static_cast<void>(::write(wake_fd_, &one, sizeof one));
  }
}

}  // namespace ck::daemon

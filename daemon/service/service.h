#pragma once
// `certkeeper daemon`: the long-running service. One event loop (poll) for
// signals (signalfd), the scheduler's next deadline (a timerfd on the wall
// clock, re-armed when the clock is set), the control socket and finished
// jobs; the jobs themselves run on a bounded pool of workers (job_runner.h).
// It sleeps until the next deadline: nothing wakes it while nothing is due.
//
// Under systemd (Type=notify) it says READY=1 once the inventory is loaded,
// STATUS= as work changes, RELOADING=1 (with MONOTONIC_USEC) on SIGHUP,
// STOPPING=1 on SIGTERM, and WATCHDOG=1 when the unit asks for it.
//
// SIGTERM/SIGINT: stop taking work, tell running jobs to stop (an order in
// flight is on record and resumed at the next start), exit 0. SIGHUP: reload
// the configuration; a bad one is refused with its errors and the old one kept.

#include <cstddef>
#include <string>

#include "core/clock.h"

namespace ck::daemon {

struct ServiceOptions {
  std::string config_path;        // --config; "" = the default file when present, else defaults
  std::string state_dir;          // overrides daemon.state_dir
  std::size_t workers = 8;        // jobs running at once
  std::size_t orders_per_ca = 4;  // renewals in flight at one CA
};

// Runs until SIGTERM or SIGINT. Returns the process exit code: 0 after a clean
// stop, 2 for a configuration that cannot be used, 3 when the service cannot
// start (state directory, inventory, socket).
[[nodiscard]] int run_service(const ServiceOptions& options, const Clock& clock);

}  // namespace ck::daemon

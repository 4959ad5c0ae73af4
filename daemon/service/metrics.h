#pragma once
// The service's state as Prometheus metrics (text exposition format 0.0.4),
// for the optional listener's /metrics and the control socket's `metrics`.
// Times are absolute Unix-epoch gauges (the convention of cert-manager and
// x509-certificate-exporter): what remains is computed in PromQL. The
// lifetime fraction that remains lets one alert rule fit 6-day and 90-day
// certificates alike. Pure: it renders what the service hands it.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/service/scheduler.h"
#include "daemon/service/status_view.h"

namespace ck::daemon {

// Counters and duration histograms of the jobs the service ran, by kind.
class JobMetrics {
 public:
  // Upper bounds of the duration buckets, in seconds (+Inf implied).
  static constexpr std::array<double, 12> kBuckets{0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                   2.5,  5,    10,  30,   60,  300};

  // `ok`: the job did what it was for (a renewal issued or was not due, a
  // check got its answers); a failure is one the service logs as such.
  void record(JobKind kind, bool ok, std::chrono::nanoseconds elapsed);

  struct Kind {
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    std::array<std::uint64_t, kBuckets.size()> in_bucket{};  // not cumulative
    double seconds = 0;
  };
  [[nodiscard]] const std::map<JobKind, Kind>& kinds() const { return kinds_; }

 private:
  std::map<JobKind, Kind> kinds_;
};

// What the service says of itself.
struct DaemonFacts {
  std::string version;
  std::int64_t started_at = 0;
  std::int64_t config_loaded_at = 0;  // the latest load or reload attempt
  bool config_load_ok = true;         // whether that attempt took
  std::size_t jobs_pending = 0;
};

// Every configured certificate's series (families contiguous, HELP and TYPE
// for each family even without samples), the jobs' and the daemon's own.
[[nodiscard]] std::string render_metrics(const std::map<std::string, LiveCertificate>& live,
                                         const JobMetrics& jobs, const DaemonFacts& daemon,
                                         std::int64_t now);

// The exposition format's media type.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace ck::daemon

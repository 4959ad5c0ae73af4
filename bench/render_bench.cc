// The service's renderings for N certificates, in process (no HTTP): the
// Prometheus exposition (daemon/service/metrics.h) and the status page
// (status_page.h), median of 21 each. Each certificate has what a busy one
// has: an ARI window, a staple, a probe. Prints Markdown table rows.
// Usage: render_bench [N]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "daemon/service/metrics.h"
#include "daemon/service/status_page.h"

namespace {

double median_ms(const std::function<std::size_t()>& render, std::size_t& bytes) {
  std::vector<double> ms;
  for (int run = 0; run < 21; ++run) {
    const auto begin = std::chrono::steady_clock::now();
    bytes = render();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
                     .count());
  }
  std::ranges::sort(ms);
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ck::daemon;
  const std::size_t count = argc > 1 ? std::stoul(argv[1]) : 10000;
  constexpr std::int64_t kNow = 1767225600;
  std::map<std::string, LiveCertificate> live;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string name = "c" + std::to_string(100000 + i) + ".example.test";
    LiveCertificate& c = live[name];
    c.known = true;
    c.not_before = kNow - static_cast<std::int64_t>(i % 60) * 86400;
    c.not_after = *c.not_before + 90 * 86400;
    c.sha256 = std::string(64, 'a');
    c.subject = "CN=" + name;
    c.issuer_cn = "Bench Intermediate";
    c.ari_window = {*c.not_after - 30 * 86400, *c.not_after - 28 * 86400};
    c.state.renewal.at = *c.not_before + 60 * 86400;
    c.last_renewal_at = *c.not_before;
    c.status = StatusCheck{c.sha256, "good", "ocsp", "", "", {}, false, 0};
    c.status->staples.push_back({"/etc/tls/" + name + ".ocsp", "written", "", kNow - 3600,
                                 kNow + 3 * 86400});
    c.probes.push_back({name + ":443", "", true, c.sha256, "serves the current version"});
  }
  JobMetrics jobs;
  const DaemonFacts facts{"bench", kNow - 3600, kNow - 3600, true, 0};
  std::size_t bytes = 0;
  const double scrape = median_ms([&] { return render_metrics(live, jobs, facts, kNow).size(); },
                                  bytes);
  std::printf("| render /metrics, %zu certificates, median of 21 | %.1f ms, %.2f MB |\n", count,
              scrape, static_cast<double>(bytes) / 1e6);
  const StatusPageInput page{kNow, "bench", kNow - 3600, &live, {}, {}};
  const double html = median_ms([&] { return render_status_page(page).size(); }, bytes);
  std::printf("| render the status page, %zu certificates, median of 21 | %.1f ms, %.2f MB |\n",
              count, html, static_cast<double>(bytes) / 1e6);
  return 0;
}

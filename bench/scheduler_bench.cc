// The scheduler's planning pass (daemon/service/scheduler.h) for 100,000
// certificates with mixed renewal times and ARI checks: median of 21 passes.
// Prints one Markdown table row for bench/daemon_bench.sh.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "daemon/service/scheduler.h"

int main() {
  using namespace ck::daemon;
  constexpr std::int64_t kNow = 1767225600;
  std::vector<CertificateState> states(100000);
  for (std::size_t i = 0; i < states.size(); ++i) {
    states[i].name = "c" + std::to_string(i);
    states[i].renewal.at = kNow + static_cast<std::int64_t>(i % 5000) * 600 - 3000;
    states[i].ari_check_at = kNow + static_cast<std::int64_t>(i % 720) * 60;
    states[i].busy = i % 97 == 0;
  }
  std::vector<double> ms;
  std::size_t due = 0;
  for (int run = 0; run < 21; ++run) {
    const auto begin = std::chrono::steady_clock::now();
    const Plan p = plan(states, kNow);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
                     .count());
    due = p.due.size();
  }
  std::ranges::sort(ms);
  std::printf(
      "| scheduler planning pass, 100,000 certificates (%zu due), median of 21 | %.1f ms |\n", due,
      ms[ms.size() / 2]);
  return 0;
}

// dns-01 by RFC 2136: what one authorization adds against a DNS server,
// apart from waiting for propagation (here the one server serves the record
// as soon as it is written). For each of N names: CNAMEs followed, the zone
// found by SOA, its NS set read, the TXT record added (signed, and its signed
// answer checked), seen at the server, then deleted. Prints "name value" lines
// for bench/rfc2136_bench.sh.
// Usage: rfc2136_bench SERVER KEY_FILE ZONE N

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "acme/rfc2136.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: rfc2136_bench SERVER KEY_FILE ZONE N\n");
    return 2;
  }
  auto key = ck::acme::load_tsig_key(argv[2]);
  if (!key) {
    std::fprintf(stderr, "rfc2136_bench: %s\n", key.error().describe().c_str());
    return 1;
  }
  const std::string zone = argv[3];
  const int n = std::stoi(argv[4]);
  ck::acme::Rfc2136Solver solver({argv[1], *key, {}, std::chrono::seconds(10), {}});
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const ck::acme::Identifier name{"dns", "b" + std::to_string(i) + "." + zone};
    const ck::acme::Challenge challenge{"dns-01", "https://ca.test/chall/" + std::to_string(i),
                                        "pending", "token", std::nullopt};
    const auto start = std::chrono::steady_clock::now();
    if (auto done = solver.present(name, challenge, "token.thumbprint" + std::to_string(i));
        !done) {
      std::fprintf(stderr, "rfc2136_bench: %s\n", done.error().describe().c_str());
      return 1;
    }
    solver.cleanup(name, challenge);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::ranges::sort(ms);
  double sum = 0;
  for (double m : ms) {
    sum += m;
  }
  std::printf("authorizations %d\nmedian_ms %.2f\np90_ms %.2f\nmax_ms %.2f\nmean_ms %.2f\n", n,
              ms[ms.size() / 2], ms[ms.size() * 9 / 10], ms.back(), sum / n);
  return 0;
}

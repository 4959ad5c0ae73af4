// Inventory benchmark: generates N certificates (fullchain PEM files: leaf +
// intermediate), imports them into a fresh inventory with the certkeeper
// binary, then times `list`, `list --expiring 30d --json` and `show`, with the
// peak RSS of each process (from wait4). Prints a Markdown table.
//
// Usage: inventory_bench [--count N] [--workdir DIR] [--binary PATH] [--runs R]

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/keys.h"
#include "core/pem.h"
#include "core/x509_build.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  int count = 100'000;
  fs::path workdir = "/tmp/certkeeper-bench";
  std::string binary = CERTKEEPER_BINARY;
  int runs = 11;
};

struct Measurement {
  double seconds = 0;
  long peak_rss_kib = 0;
  int exit_code = 0;
};

Measurement run(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  auto start = Clock::now();
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
    std::fprintf(stderr, "cannot run %s\n", args[0]);
    std::exit(3);
  }
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Measurement m;
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.peak_rss_kib = usage.ru_maxrss;
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return m;
}

// Median of `runs` runs; peak RSS is the largest seen.
Measurement median(const std::vector<std::string>& argv, int runs) {
  std::vector<Measurement> all;
  for (int i = 0; i < runs; ++i) {
    all.push_back(run(argv));
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.seconds < b.seconds; });
  Measurement m = all[all.size() / 2];
  for (const auto& x : all) {
    m.peak_rss_kib = std::max(m.peak_rss_kib, x.peak_rss_kib);
  }
  return m;
}

template <class T>
T must(ck::Result<T> result) {
  if (!result) {
    std::fprintf(stderr, "%s\n", result.error().describe().c_str());
    std::exit(3);
  }
  return std::move(*result);
}

// Leaves share a pool of keys: key generation is not what is measured.
void generate(const Options& o, const fs::path& dir) {
  const std::int64_t now = std::time(nullptr);
  auto root_key = must(ck::generate_key(ck::KeyType::ecdsa_p256));
  ck::CertificateSpec ca_spec;
  ca_spec.common_name = "Bench Issuing CA";
  ca_spec.is_ca = true;
  ca_spec.not_before = now - 86400;
  ca_spec.not_after = now + 5 * 365 * 86400;
  auto ca = must(ck::build_certificate(ca_spec, *root_key, nullptr, *root_key));
  const std::string ca_pem = must(ck::certificate_to_pem(*ca));
  std::vector<ck::ossl::PKey> keys;
  for (int i = 0; i < 64; ++i) {
    keys.push_back(must(ck::generate_key(ck::KeyType::ecdsa_p256)));
  }
  for (int i = 0; i < o.count; ++i) {
    ck::CertificateSpec spec;
    spec.common_name = "host" + std::to_string(i) + ".bench.test";
    spec.dns_names = {spec.common_name, "alt" + std::to_string(i) + ".bench.test"};
    spec.not_before = now - (i % 60) * 86400;
    spec.not_after = spec.not_before + (30 + i % 365) * 86400;  // ~13% expire within 30 days
    auto cert = must(ck::build_certificate(spec, *keys[i % 64], ca.get(), *root_key));
    fs::path sub = dir / std::to_string(i / 1000);
    if (i % 1000 == 0) {
      fs::create_directories(sub);
    }
    std::ofstream(sub / ("host" + std::to_string(i) + ".pem")) << must(ck::certificate_to_pem(*cert))
                                                                << ca_pem;
  }
}

std::string machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("model name")) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  uname(&u);
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGE_SIZE);
  return model + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores, " +
         std::to_string(pages * page_size / (1L << 30)) + " GiB, Linux " + u.release;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--count") {
      o.count = std::stoi(argv[i + 1]);
    } else if (flag == "--workdir") {
      o.workdir = argv[i + 1];
    } else if (flag == "--binary") {
      o.binary = argv[i + 1];
    } else if (flag == "--runs") {
      o.runs = std::stoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: inventory_bench [--count N] [--workdir DIR] [--binary PATH] [--runs R]\n");
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  fs::remove_all(o.workdir);
  const fs::path certs = o.workdir / "certs";
  const std::string state = (o.workdir / "state").string();

  auto gen_start = Clock::now();
  generate(o, certs);
  double gen_s = std::chrono::duration<double>(Clock::now() - gen_start).count();
  std::fprintf(stderr, "generated %d certificates in %.1f s\n", o.count, gen_s);

  const std::string& ck = o.binary;
  Measurement import = run({ck, "--state-dir", state, "import", certs.string()});
  if (import.exit_code != 0) {
    std::fprintf(stderr, "import failed with exit %d\n", import.exit_code);
    return 3;
  }
  Measurement list_all = median({ck, "--state-dir", state, "list"}, o.runs);
  Measurement list_json = median({ck, "--state-dir", state, "list", "--json"}, o.runs);
  Measurement expiring =
      median({ck, "--state-dir", state, "list", "--expiring", "30d", "--json"}, o.runs);
  Measurement show = median({ck, "--state-dir", state, "show", "host4242.bench.test"}, o.runs * 2);
  Measurement show_json =
      median({ck, "--state-dir", state, "show", "host4242.bench.test", "--json"}, o.runs * 2);

  std::printf("Machine: %s\n\n", machine().c_str());
  std::printf("| measure (%d certificates) | result | peak RSS |\n|---|---|---|\n", o.count);
  std::printf("| import (one process, fullchain files) | %.2f s = %.0f certificates/s | %.1f MiB |\n",
              import.seconds, o.count / import.seconds,
              static_cast<double>(import.peak_rss_kib) / 1024.0);
  auto row = [](const char* name, const Measurement& m) {
    std::printf("| %s | %.1f ms (median) | %.1f MiB |\n", name, m.seconds * 1000,
                static_cast<double>(m.peak_rss_kib) / 1024.0);
  };
  row("`list` (table)", list_all);
  row("`list --json`", list_json);
  row("`list --expiring 30d --json`", expiring);
  row("`show NAME`", show);
  row("`show NAME --json`", show_json);
  return 0;
}

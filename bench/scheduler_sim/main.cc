// scheduler_sim: the service's scheduling and retry code against a model CA,
// for a fleet over days or a year, under outages, mass revocations, a rate
// limit and restarts (bench/scheduler_sim/simulation.h). Exits 0 only when no
// certificate expired and none was in use after its revocation deadline; 1
// when one did; 2 on a usage error.
//
//   scheduler_sim --certificates N --days D --scenario NAME|all [--seed S] [--json]

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/scheduler_sim/simulation.h"

namespace {

using ck::sim::Results;

nlohmann::json to_json(const Results& r) {
  return {{"scenario", r.scenario},
          {"expired",
           {{"certificate_seconds", r.expired_seconds}, {"certificates", r.expired_certificates}}},
          {"revocations", r.revocations},
          {"late_revocations", r.late_revocations},
          {"orders", r.orders},
          {"failed_orders", r.failed_orders},
          {"unreachable", r.unreachable},
          {"peak_orders_per_minute", r.peak_orders_per_minute},
          {"mean_orders_per_minute", r.mean_orders_per_minute},
          {"busiest_minute_orders", r.busiest_minute_orders},
          {"rate_limited", r.rate_limited},
          {"ari_checks", r.ari_checks},
          {"restarts", r.restarts},
          {"wall_seconds", r.wall_seconds},
          {"ok", r.ok()}};
}

void print_table(const std::vector<Results>& all) {
  std::printf(
      "| scenario | expired (certificates, cert-seconds) | late revocations | orders | failed | "
      "rate limited | orders/min mean | busiest hour, per min | busiest minute | restarts | "
      "wall s |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Results& r : all) {
    std::printf(
        "| %s | %zu, %lld | %zu of %zu | %zu | %zu | %zu | %.2f | %.2f | %zu | %zu | %.1f |\n",
        r.scenario.c_str(), r.expired_certificates, static_cast<long long>(r.expired_seconds),
        r.late_revocations, r.revocations, r.orders, r.failed_orders, r.rate_limited,
        r.mean_orders_per_minute, r.peak_orders_per_minute, r.busiest_minute_orders, r.restarts,
        r.wall_seconds);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Drives certkeeper's scheduler with a simulated clock against a model CA; exits 0 only "
      "when no certificate expired and none outlived its revocation deadline"};
  std::size_t certificates = 100000;
  std::int64_t days = 365;
  std::string name = "all";
  std::uint64_t seed = 1;
  bool json = false;
  bool every_ari_check = false;
  app.add_option("--certificates", certificates, "certificates in the fleet")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
      ->capture_default_str();
  app.add_option("--days", days, "simulated days (incidents fall inside them)")
      ->check(CLI::Range(std::int64_t{14}, std::int64_t{3650}))
      ->capture_default_str();
  auto names = ck::sim::scenario_names();
  names.push_back("all");
  app.add_option("--scenario", name, "a preset, or all of them")
      ->check(CLI::IsMember(names))
      ->capture_default_str();
  app.add_option("--seed", seed, "the random seed: the same seed, the same run")
      ->capture_default_str();
  app.add_flag("--json", json, "JSON, one object per scenario");
  app.add_flag("--every-ari-check", every_ari_check,
               "run every ARI check, also those that can only repeat the last answer (slower; "
               "the same results)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help, or a usage error
  }

  std::vector<std::string> chosen{name};
  if (name == "all") {
    chosen = ck::sim::scenario_names();
  }
  const auto began = std::chrono::steady_clock::now();
  // Scenarios are independent: as many at once as there are cores.
  const std::size_t parallel = std::max(1U, std::thread::hardware_concurrency());
  std::vector<Results> results(chosen.size());
  for (std::size_t first = 0; first < chosen.size(); first += parallel) {
    std::vector<std::future<Results>> running;
    for (std::size_t i = first; i < std::min(chosen.size(), first + parallel); ++i) {
      running.push_back(std::async(std::launch::async, [&, i] {
        ck::sim::Scenario s = *ck::sim::scenario(chosen[i], days);
        s.skip_identical_ari_checks = !every_ari_check;
        return ck::sim::simulate(s, certificates, days, seed);
      }));
    }
    for (std::size_t i = 0; i < running.size(); ++i) {
      results[first + i] = running[i].get();
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  const bool ok = std::ranges::all_of(results, &Results::ok);
  if (json) {
    nlohmann::json out{
        {"certificates", certificates},         {"days", days},         {"seed", seed},
        {"scenarios", nlohmann::json::array()}, {"wall_seconds", wall}, {"ok", ok}};
    for (const Results& r : results) {
      out["scenarios"].push_back(to_json(r));
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%zu certificates, %lld days, seed %llu\n\n", certificates,
                static_cast<long long>(days), static_cast<unsigned long long>(seed));
    print_table(results);
    std::printf("\n%s in %.1f s\n", ok ? "no certificate expired, no revocation late" : "FAILED",
                wall);
  }
  return ok ? 0 : 1;
}

// certkeeper renewal-info NAME|FINGERPRINT [--server URL | --issuer NAME] [--ca-file FILE]
// [--force] [--timeout DURATION] [--json]

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <random>

#include "daemon/cli/cli.h"
#include "daemon/lifecycle/ari_check.h"

namespace ck::daemon {
namespace {

struct RenewalInfoOptions {
  std::string query;
  std::string server;
  std::string issuer_name;  // --issuer NAME of the configuration
  std::string ca_file;
  std::string timeout = "60s";
  bool force = false;
  bool json = false;
};

int run_renewal_info(const CliContext& context, const RenewalInfoOptions& o) {
  auto timeout = parse_timeout(o.timeout, "--timeout");
  if (!timeout) {
    return report_failure(timeout.error());
  }
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  auto found = find_certificates(*session->inventory, o.query);
  if (!found) {
    return report_failure(found.error());
  }
  // The CA that issued it, unless told otherwise.
  auto chosen = choose_issuer(*session, o.server, o.issuer_name, found->front().name);
  if (!chosen) {
    return report_failure(chosen.error());
  }
  const std::string ca_file = o.ca_file.empty() ? chosen->ca_file : o.ca_file;
  const std::int64_t now = context.clock().unix_seconds();
  const AriSource ca{chosen->directory, ca_file, *timeout, {}};
  auto result =
      check_ari(*session->inventory, found->front(), ca, now, o.force, std::random_device{}());
  if (!result) {
    return report_failure(ca_failure(result.error(), ca_file));
  }
  const store::RenewalInfoRecord& r = result->record;
  const bool fetched = result->fetched;
  const bool due = r.selected_time <= now;
  if (o.json) {
    fmt::print("{}\n", nlohmann::json{{"name", found->front().name},
                                      {"ari_id", r.ari_id},
                                      {"window_start", format_rfc3339(r.window_start)},
                                      {"window_end", format_rfc3339(r.window_end)},
                                      {"selected_time", format_rfc3339(r.selected_time)},
                                      {"explanation_url", r.explanation_url},
                                      {"next_check", format_rfc3339(r.next_check)},
                                      {"fetched", fetched},
                                      {"renew_now", due}}
                           .dump(2));
  } else {
    fmt::print("{} ({})\n  window:     {} .. {}\n  renew at:   {}{}\n  next check: {}{}\n",
               found->front().name, r.ari_id, format_rfc3339(r.window_start),
               format_rfc3339(r.window_end), format_rfc3339(r.selected_time),
               due ? "  (due now)" : "", format_rfc3339(r.next_check),
               fetched ? "" : "  (stored answer; --force asks now)");
    if (!r.explanation_url.empty()) {
      fmt::print("  why:        {}\n", r.explanation_url);
    }
  }
  return kExitOk;
}

}  // namespace

void add_renewal_info_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<RenewalInfoOptions>();
  CLI::App* cmd = add_command(
      app, "renewal-info", "Ask the CA when to renew a certificate (ARI, RFC 9773)",
      "Fetches the CA's suggested renewal window for the certificate, chooses a time uniformly "
      "at random inside it (kept while it still fits the window) and stores the window, the "
      "choice and when to ask again (the CA's Retry-After, between 1 minute and 12 hours; 6 hours "
      "without one). Until then the stored answer is shown without asking the CA.");
  cmd->add_option("certificate", o->query, "NAME or FINGERPRINT")->required();
  cmd->add_option("--server", o->server,
                  "ACME directory URL of the issuing CA (default: the one the inventory recorded, "
                  "else --issuer)");
  cmd->add_option("--issuer", o->issuer_name,
                  "a configured [issuer.NAME]: its directory and ca_file")
      ->excludes("--server");
  cmd->add_option("--ca-file", o->ca_file, "PEM file of CAs to trust for the ACME server's TLS");
  cmd->add_flag("--force", o->force, "ask the CA now even if the stored answer is fresh");
  cmd->add_option("--timeout", o->timeout, "bound on the CA's answer, retries included, e.g. 30s")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print the result as JSON");
  cmd->callback([&context, &exit_code, o] { exit_code = run_renewal_info(context, *o); });
}

}  // namespace ck::daemon

// certkeeper renewal-info NAME|FINGERPRINT --server URL [--ca-file FILE] [--force] [--json]

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <random>

#include "acme/ari.h"
#include "acme/client.h"
#include "daemon/cli/cli.h"

namespace ck::daemon {
namespace {

struct RenewalInfoOptions {
  std::string query;
  std::string server;
  std::string ca_file;
  bool force = false;
  bool json = false;
};

Result<acme::AcmeClient::RenewalInfoAnswer> fetch(const RenewalInfoOptions& o,
                                                  const std::string& ari_id) {
  HttpOptions http;
  http.ca_file = o.ca_file;
  // renewalInfo is a plain GET (RFC 9773 §4.2): no account needed.
  CK_TRY(client, acme::AcmeClient::create_reader(o.server, http));
  return client.renewal_info(ari_id);
}

// Asks the CA unless the stored answer is still fresh, and keeps the chosen time.
Result<std::pair<store::RenewalInfoRecord, bool>> refresh(store::Inventory& inventory,
                                                          const store::CertificateRecord& cert,
                                                          const RenewalInfoOptions& o,
                                                          std::int64_t now) {
  CK_TRY(x509, ossl::x509_from_der(cert.der));
  CK_TRY(ari_id, acme::certificate_identifier(*x509));
  CK_TRY(previous, inventory.renewal_info().find(cert.id));
  if (previous && previous->ari_id == ari_id && now < previous->next_check && !o.force) {
    return std::pair(*previous, false);
  }
  CK_TRY(answer, fetch(o, ari_id));
  std::optional<std::int64_t> kept;
  if (previous) {
    kept = previous->selected_time;
  }
  store::RenewalInfoRecord record{
      cert.id,
      ari_id,
      answer.window.start,
      answer.window.end,
      acme::keep_or_choose_renewal_time(answer.window, kept, now, std::random_device{}()),
      answer.window.explanation_url,
      acme::next_renewal_info_check(now, answer.retry_after),
      now};
  CK_TRY_STATUS(inventory.transaction([&]() -> Status {
    CK_TRY_STATUS(inventory.renewal_info().upsert(record));
    if (!previous || previous->window_start != record.window_start ||
        previous->window_end != record.window_end) {
      CK_TRY_STATUS(inventory.events().append({0, now, "renewal_window", cert.name,
                                               "CA suggests renewing between " +
                                                   format_rfc3339(record.window_start) + " and " +
                                                   format_rfc3339(record.window_end) + "; chosen " +
                                                   format_rfc3339(record.selected_time),
                                               ""}));
    }
    return {};
  }));
  return std::pair(record, true);
}

int run_renewal_info(const CliContext& context, const RenewalInfoOptions& o) {
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  auto found = find_certificates(*session->inventory, o.query);
  if (!found) {
    return report_failure(found.error());
  }
  const std::int64_t now = context.clock().unix_seconds();
  auto result = refresh(*session->inventory, found->front(), o, now);
  if (!result) {
    return report_failure(failure_from(result.error()));
  }
  const auto& [r, fetched] = *result;
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
      "choice and when to ask again (the CA's Retry-After, between 1 minute and 1 day; 6 hours "
      "without one). Until then the stored answer is shown without asking the CA.");
  cmd->add_option("certificate", o->query, "NAME or FINGERPRINT")->required();
  cmd->add_option("--server", o->server, "ACME directory URL of the issuing CA")->required();
  cmd->add_option("--ca-file", o->ca_file, "PEM file of CAs to trust for the ACME server's TLS");
  cmd->add_flag("--force", o->force, "ask the CA now even if the stored answer is fresh");
  cmd->add_flag("--json", o->json, "print the result as JSON");
  cmd->callback([&context, &exit_code, o] { exit_code = run_renewal_info(context, *o); });
}

}  // namespace ck::daemon

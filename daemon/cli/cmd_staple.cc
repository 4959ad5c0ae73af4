// certkeeper staple --cert CERT [--issuer ISSUER] --out FILE [--force] [--timeout DURATION]
//                   [--json]

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "daemon/cli/cli.h"
#include "daemon/cli/verification.h"
#include "daemon/lifecycle/staple_record.h"
#include "validator/staple.h"

namespace ck::daemon {
namespace {

struct StapleOptions {
  std::string cert;
  std::string issuer;
  std::string out;
  bool force = false;
  std::string timeout = "15s";
  bool json = false;
};

// Keeps the staple's state in the inventory when the certificate is there.
void record_in_inventory(const CliContext& context, const validator::PreparedCertificate& cert,
                         const StapleOptions& o, const Result<validator::StapleResult>& result) {
  auto session = context.open_session();
  if (!session) {
    return;  // a staple for a certificate outside any inventory is fine
  }
  if (auto kept = record_staple(*session->inventory, cert.facts.info.sha256, o.out, result,
                                context.clock().unix_seconds());
      !kept) {
    fmt::print(stderr, "certkeeper: warning: staple state not recorded: {}\n",
               kept.error().describe());
  }
}

int print_result(const validator::StapleResult& r, const StapleOptions& o) {
  const bool problem = (r.outcome == validator::StapleOutcome::no_responder && r.must_staple) ||
                       r.answer.status == validator::OcspCertStatus::revoked;
  const std::int64_t refresh_at =
      validator::staple_refresh_time(r.answer.this_update, r.answer.next_update);
  std::string message;
  if (r.outcome == validator::StapleOutcome::no_responder) {
    message = r.must_staple ? "the certificate requires stapling (must-staple) but names no OCSP "
                              "responder: clients will reject it"
                            : "no OCSP responder; nothing to staple";
  } else {
    message = fmt::format("{} {} ({}), valid until {}, refresh after {}",
                          r.outcome == validator::StapleOutcome::written ? "wrote" : "kept", o.out,
                          validator::to_string(r.answer.status),
                          format_rfc3339(r.answer.next_update), format_rfc3339(refresh_at));
  }
  if (o.json) {
    nlohmann::json j{{"outcome", validator::to_string(r.outcome)},
                     {"must_staple", r.must_staple},
                     {"message", message},
                     {"path", o.out}};
    if (r.outcome != validator::StapleOutcome::no_responder) {
      j["status"] = validator::to_string(r.answer.status);
      j["responder"] = r.responder_url;
      j["this_update"] = format_rfc3339(r.answer.this_update);
      j["next_update"] = format_rfc3339(r.answer.next_update);
      j["refresh_at"] = format_rfc3339(refresh_at);
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}\n", message);
  }
  return problem ? kExitProblem : kExitOk;
}

int run_staple(const CliContext& context, const StapleOptions& o) {
  auto timeout = parse_timeout(o.timeout, "--timeout");
  if (!timeout) {
    return report_failure(timeout.error());
  }
  auto certs = load_certificates(o.cert, "--cert");
  if (!certs) {
    return report_failure(certs.error());
  }
  std::vector<validator::PreparedCertificate> issuers;
  if (!o.issuer.empty()) {
    auto given = load_certificates(o.issuer, "--issuer");
    if (!given) {
      return report_failure(given.error());
    }
    issuers = std::move(*given);
  } else if (certs->size() < 2) {
    return report_failure(CommandFailure{
        kExitUsage, "--cert holds no issuer after the certificate: give --issuer ISSUER"});
  }
  // A full chain names its issuer next to the certificate.
  const X509& issuer = o.issuer.empty() ? *(*certs)[1].cert : *issuers.front().cert;
  const validator::PreparedCertificate& cert = certs->front();
  HttpOptions options;
  options.timeout = *timeout;
  auto http = HttpClient::create(options);
  if (!http) {
    return report_failure(failure_from(http.error()));
  }
  auto result = validator::refresh_staple(*http, cert, issuer, o.out,
                                          context.clock().unix_seconds(), o.force);
  record_in_inventory(context, cert, o, result);
  if (!result) {
    return report_failure(CommandFailure{kExitRuntime, result.error().describe()});
  }
  return print_result(*result, o);
}

}  // namespace

void add_staple_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<StapleOptions>();
  CLI::App* cmd = add_command(
      app, "staple", "Fetch, verify and write the OCSP staple of a certificate",
      "Asks the certificate's OCSP responder, verifies the answer (signed by the issuer or its "
      "delegated responder, for this certificate, fresh) and writes the DER response atomically "
      "to --out, the file nginx's ssl_stapling_file and HAProxy's CERT.ocsp expect. A staple "
      "already there is kept until half its validity has passed (or --force); a failed fetch "
      "never replaces a staple that is still valid. Exit 0 written, kept, or nothing to staple; "
      "1 revoked, or must-staple without a responder; 3 the fetch failed.");
  cmd->add_option("--cert", o->cert, "the certificate (PEM; a full chain names its issuer too)")
      ->required();
  cmd->add_option("--issuer", o->issuer, "the issuer's certificate, when --cert is the leaf alone");
  cmd->add_option("--out", o->out, "where the DER OCSP response goes")->required();
  cmd->add_flag("--force", o->force, "fetch even when the staple on disk is not yet due");
  cmd->add_option("--timeout", o->timeout, "bound on the fetch from the responder, e.g. 5s")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print the result as JSON");
  cmd->callback([&context, &exit_code, o] { exit_code = run_staple(context, *o); });
}

}  // namespace ck::daemon

// certkeeper issue --server URL --domain NAME... [options] and certkeeper renew
// NAME: parse, call the lifecycle's issue or renew job, print.

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/keys.h"
#include "daemon/cli/cli.h"
#include "daemon/lifecycle/deploy.h"
#include "daemon/lifecycle/importer.h"
#include "daemon/lifecycle/issue.h"
#include "daemon/service/control_client.h"

namespace ck::daemon {
namespace {

struct IssueOptions {
  IssueJob job;
  IssuerConfig issuer;      // the flags about the CA: --server, --ca-file, --contact...
  std::string issuer_name;  // --issuer NAME of the configuration
  bool force = false;       // --name of a configured certificate with other identifiers
  std::string http_listen;
  std::string tls_alpn_listen;
  std::string dns_hook;
  std::string rfc2136_server;  // --dns-rfc2136
  std::string tsig_key;        // --dns-tsig-key
  int dns_timeout_seconds = 120;
  int timeout_seconds = 300;
  bool json = false;
};

struct RenewOptions {
  std::string name;
  bool all = false;
  bool force = false;
  bool json = false;
};

// The CA: the one chosen (choose_issuer), each of its settings replaced by
// the flag given for it.
IssuerConfig with_flags(IssuerConfig chosen, const IssuerConfig& flags) {
  for (auto [field, flag] :
       {std::pair{&chosen.ca_file, &flags.ca_file}, std::pair{&chosen.profile, &flags.profile},
        std::pair{&chosen.eab_kid, &flags.eab_kid},
        std::pair{&chosen.eab_hmac_key, &flags.eab_hmac_key},
        std::pair{&chosen.preferred_chain, &flags.preferred_chain}}) {
    if (!flag->empty()) {
      *field = *flag;
    }
  }
  if (!flags.contact.empty()) {
    chosen.contact = flags.contact;
  }
  return chosen;
}

// `issue --name N` of a configured N for other identifiers would put them in
// its place: refused without --force (then `renew N` re-issues what is configured).
std::optional<CommandFailure> replaces_configured(const Config& config, const IssueJob& job) {
  std::string name = job.name;
  if (name.empty() && (!job.domains.empty() || !job.ips.empty())) {
    name = derive_certificate_name(job.domains.empty() ? job.ips.front() : job.domains.front());
  }
  for (const auto& cert : config.certificates) {
    if (cert.name != name) {
      continue;
    }
    auto sorted = [](std::vector<std::string> v) {
      for (auto& text : v) {
        std::ranges::transform(text, text.begin(), [](unsigned char c) { return std::tolower(c); });
      }
      std::ranges::sort(v);
      return v;
    };
    if (sorted(cert.domains) != sorted(job.domains) || sorted(cert.ips) != sorted(job.ips)) {
      return CommandFailure{kExitUsage, "certificate " + cert.name +
                                            " is configured for other names; issue --name " +
                                            cert.name +
                                            " would replace them (give --force to do so, or "
                                            "change the configuration and run renew)"};
    }
  }
  return std::nullopt;
}

// The job the flags describe.
IssueJob job_from_flags(const IssueOptions& o) {
  IssueJob job = o.job;
  job.challenge.listen = job.challenge.type == "tls-alpn-01" ? o.tls_alpn_listen : o.http_listen;
  if (!o.dns_hook.empty()) {
    job.challenge.dns_hook = {o.dns_hook};
  }
  job.challenge.rfc2136_server = o.rfc2136_server;
  job.challenge.tsig_key = o.tsig_key;
  job.dns_timeout = std::chrono::seconds(o.dns_timeout_seconds);
  job.timeout = std::chrono::seconds(o.timeout_seconds);
  return job;
}

// Prints the issued certificate and, for a configured one, its deploy; the
// exit code (3 when the deploy failed: the certificate itself is issued).
int print_issued(const store::StateLayout& layout, const IssueOutcome& issued,
                 const std::optional<Result<DeployOutcome>>& deployed, bool json) {
  const auto& installed = issued.installed;
  const auto fullchain = layout.current(installed.name) / "fullchain.pem";
  const bool deploy_failed = deployed && !*deployed;
  if (json) {
    nlohmann::json out{
        {"name", installed.name},           {"sha256", installed.sha256},
        {"names", installed.names},         {"not_after", format_rfc3339(installed.not_after)},
        {"fullchain", fullchain.string()},  {"key_path", issued.key_path},
        {"order_url", issued.order_url},    {"resumed", issued.resumed},
        {"account_url", issued.account_url}};
    if (deployed) {
      out["deploy"] = *deployed ? nlohmann::json{{"written", (*deployed)->written},
                                                 {"reloaded", (*deployed)->reloaded},
                                                 {"reload_output", (*deployed)->reload_output}}
                                : nlohmann::json{{"error", deployed->error().describe()}};
    }
    fmt::print("{}\n", out.dump(2));
  } else {
    fmt::print("issued {} ({}), valid until {}\n  fullchain: {}\n  key:       {}\n", installed.name,
               installed.sha256.substr(0, 16), format_rfc3339(installed.not_after),
               fullchain.string(),
               issued.key_path.empty() ? "(yours, from the CSR)" : issued.key_path);
    if (deployed && *deployed) {
      for (const auto& file : (*deployed)->written) {
        fmt::print("  deployed:  {}\n", file);
      }
      if ((*deployed)->reloaded) {
        fmt::print("  reloaded\n");
      }
    }
  }
  if (deploy_failed) {
    fmt::print(stderr, "certkeeper: error: {} is issued but its deploy failed: {}\n",
               installed.name, deployed->error().describe());
    return kExitRuntime;
  }
  return kExitOk;
}

// The deploy of a configured certificate after it was issued; none otherwise.
std::optional<Result<DeployOutcome>> deploy_if_configured(const Config& config,
                                                          const std::string& name,
                                                          store::Inventory& inventory,
                                                          std::stop_token stop) {
  for (const auto& cert : config.certificates) {
    if (cert.name == name && cert.deploy.any()) {
      return deploy(cert, inventory, kReloadTimeout, std::move(stop));
    }
  }
  return std::nullopt;
}

// The context of a job run from the command line: the real clock, sleeping
// waits, and a line on stderr when the next issuer is asked.
JobContext job_context(const CliContext& context, Session& session, acme::Waiter& waiter) {
  JobContext job{*session.inventory, session.layout, context.clock(), waiter, {}, {}, {}};
  job.on_fallback = [](const std::string& failed, const Error& why, const std::string& next) {
    fmt::print(stderr, "certkeeper: {} failed: {}\ncertkeeper: trying the next issuer, {}\n",
               failed, why.describe(), next);
  };
  return job;
}

int run_issue(const CliContext& context, const IssueOptions& o) {
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  auto chosen = choose_issuer(*session, o.issuer.directory, o.issuer_name, o.job.name);
  if (!chosen) {
    return report_failure(chosen.error());
  }
  IssueJob wanted = job_from_flags(o);
  wanted.issuers = {with_flags(*chosen, o.issuer)};
  if (auto refused = o.force ? std::nullopt : replaces_configured(session->config, wanted)) {
    return report_failure(*refused);
  }
  InterruptGuard interrupt;
  acme::SleepingWaiter waiter;
  JobContext job = job_context(context, *session, waiter);
  job.stop = interrupt.token();
  auto issued = issue(wanted, job);
  if (!issued && interrupt.signal() != 0) {
    return report_interrupted(interrupt.signal(), "the issuance");
  }
  if (!issued) {
    return report_failure(ca_failure(issued.error(), wanted.issuers.front().ca_file));
  }
  // A configured certificate issued by hand is deployed as the service would.
  const auto deployed = deploy_if_configured(session->config, issued->installed.name,
                                             *session->inventory, interrupt.token());
  return print_issued(session->layout, *issued, deployed, o.json);
}

void print_not_due(const std::string& name, const RenewalDecision& decision, bool json) {
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"name", name},
                                      {"due", false},
                                      {"due_at", format_rfc3339(decision.at)},
                                      {"rule", to_string(decision.rule)},
                                      {"reason", decision.reason}}
                           .dump(2));
  } else {
    fmt::print("{}: not due; renews at {} ({})\n", name, format_rfc3339(decision.at),
               decision.reason);
  }
}

// With the service running, the renewal is its to do (one process orders for
// a name at a time): asked over the socket, then followed in its status until
// the attempt ends. nullopt when no service answers.
std::optional<int> renew_through_service(const CliContext& context, const RenewOptions& r) {
  auto config = context.load_config();
  if (!config) {
    return std::nullopt;  // the local path reports it
  }
  const std::int64_t asked_at = context.clock().unix_seconds();
  auto asked = ask_service(config->daemon.socket, "renew", {{"name", r.name}, {"force", r.force}},
                           std::chrono::seconds(10));
  if (!asked) {
    return asked.error().code == Errc::not_found
               ? std::nullopt
               : std::optional(report_failure(failure_from(asked.error())));
  }
  if (!asked->ok) {
    return report_failure(CommandFailure{
        asked->code == "not_found" || asked->code == "forbidden" ? kExitUsage : kExitRuntime,
        "the service says: " + asked->code + ": " + asked->message});
  }
  const nlohmann::json& answer = asked->result;
  if (answer.value("queued", false) == false && answer.value("running", false) == false) {
    fmt::print("{}: not due ({}); the running service renews it in time\n", r.name,
               answer.value("reason", ""));
    return kExitOk;
  }
  fmt::print(stderr,
             "certkeeper: the running service renews {}; following it (Ctrl-C stops "
             "following, not the renewal)\n",
             r.name);
  for (int i = 0; i < 15 * 60 * 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const nlohmann::json row = service_row(config->daemon.socket, r.name);
    if (!row.is_object() || !row["running"].is_null() || !row.contains("last_attempt")) {
      continue;
    }
    const auto& last = row["last_attempt"];
    auto at = last["at"].is_string() ? parse_rfc3339(last["at"].get<std::string>())
                                     : std::optional<std::int64_t>();
    if (!at || *at < asked_at) {
      continue;
    }
    if (r.json) {
      fmt::print("{}\n", row.dump(2));
    }
    const std::string result = last.value("result", "");
    if (result == "issued" || result == "not_due") {
      if (!r.json) {
        fmt::print("{}: {} by the service: {}, valid until {}\n", r.name,
                   result == "issued" ? "renewed" : "not renewed (not due)",
                   row.value("sha256", "").substr(0, 16), row.value("not_after", "-"));
      }
      return kExitOk;
    }
    return report_failure(
        CommandFailure{kExitRuntime, "the service's renewal of " + r.name +
                                         " failed: " + last.value("error", std::string(result))});
  }
  return report_failure(CommandFailure{
      kExitRuntime, "the service's renewal of " + r.name + " did not end within 15 minutes"});
}

// One configured certificate of `renew --all`: renewed when due (or forced),
// deployed as the service would. Its summary, as a JSON object.
nlohmann::json renew_one(const CliContext& context, Session& session, const CertificateConfig& cert,
                         bool force, const InterruptGuard& interrupt) {
  const Config& config = session.config;
  auto check = check_renewal(cert, config, *session.inventory, context.clock().unix_seconds(), {},
                             false, std::random_device{}());
  if (!check) {
    return {{"name", cert.name}, {"result", "failed"}, {"error", check.error().describe()}};
  }
  if (!check->decision.due && !force) {
    return {{"name", cert.name},
            {"result", "not_due"},
            {"due_at", format_rfc3339(check->decision.at)},
            {"reason", check->decision.reason}};
  }
  acme::SleepingWaiter waiter;
  JobContext job = job_context(context, session, waiter);
  job.stop = interrupt.token();
  auto issued = renew(cert, config, check->current ? &*check->current : nullptr, job);
  if (!issued) {
    return {{"name", cert.name}, {"result", "failed"}, {"error", issued.error().describe()}};
  }
  const auto deployed =
      deploy_if_configured(config, cert.name, *session.inventory, interrupt.token());
  nlohmann::json out{{"name", cert.name},
                     {"result", "renewed"},
                     {"sha256", issued->installed.sha256},
                     {"not_after", format_rfc3339(issued->installed.not_after)}};
  if (deployed && !*deployed) {
    out["result"] = "deploy_failed";
    out["error"] = deployed->error().describe();
  }
  return out;
}

// `renew --all`: every configured certificate that is due, one summary line
// each (or one JSON array); exit 1 when any failed. With the service running,
// renewing is its work: nothing is done, and it says so.
int run_renew_all(const CliContext& context, const RenewOptions& r) {
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  if (auto status = ask_service(session->config.daemon.socket, "status", nlohmann::json::object(),
                                std::chrono::seconds(5));
      status && status->ok) {
    fmt::print(
        "the running service renews every configured certificate when due; renew --all "
        "does nothing while it runs (see certkeeper status)\n");
    return kExitOk;
  }
  InterruptGuard interrupt;
  nlohmann::json results = nlohmann::json::array();
  bool failed = false;
  for (const auto& cert : session->config.certificates) {
    nlohmann::json one = renew_one(context, *session, cert, r.force, interrupt);
    if (interrupt.signal() != 0) {
      return report_interrupted(interrupt.signal(), "the renewal of " + cert.name);
    }
    const std::string result = one["result"];
    failed = failed || result == "failed" || result == "deploy_failed";
    if (!r.json) {
      fmt::print("{}: {}\n", cert.name,
                 result == "renewed"
                     ? "renewed: " + one["sha256"].get<std::string>().substr(0, 16) +
                           ", valid until " + one["not_after"].get<std::string>()
                 : result == "not_due" ? "not due; renews at " + one["due_at"].get<std::string>()
                                       : result + ": " + one["error"].get<std::string>());
      std::fflush(stdout);
    }
    results.push_back(std::move(one));
  }
  if (r.json) {
    fmt::print("{}\n", results.dump(2));
  }
  return failed ? kExitProblem : kExitOk;
}

int run_renew(const CliContext& context, const RenewOptions& r) {
  if (r.all != r.name.empty()) {
    return report_failure(
        CommandFailure{kExitUsage, "give a certificate's NAME or --all, not both or neither"});
  }
  if (r.all) {
    return run_renew_all(context, r);
  }
  if (auto through_service = renew_through_service(context, r)) {
    return *through_service;
  }
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  const Config& config = session->config;
  auto cert = std::ranges::find_if(config.certificates,
                                   [&](const CertificateConfig& c) { return c.name == r.name; });
  if (cert == config.certificates.end()) {
    return report_failure(
        CommandFailure{kExitUsage, "no [[certificate]] named \"" + r.name + "\" in " +
                                       (config.path.empty() ? "the configuration" : config.path)});
  }
  for (const auto& line : not_yet_built(config, cert->name)) {
    fmt::print(stderr, "certkeeper: warning: {}\n", line);
  }
  // `renew NAME` is the operator asking: no failure backoff.
  auto check = check_renewal(*cert, config, *session->inventory, context.clock().unix_seconds(), {},
                             true, std::random_device{}());
  if (!check) {
    return report_failure(failure_from(check.error()));
  }
  if (!check->decision.due && !r.force) {
    print_not_due(cert->name, check->decision, r.json);
    return kExitOk;
  }
  InterruptGuard interrupt;
  acme::SleepingWaiter waiter;
  JobContext job = job_context(context, *session, waiter);
  job.stop = interrupt.token();
  auto issued = renew(*cert, config, check->current ? &*check->current : nullptr, job);
  if (!issued && interrupt.signal() != 0) {
    return report_interrupted(interrupt.signal(), "the renewal of " + cert->name);
  }
  if (!issued) {
    return report_failure(failure_from(issued.error()));
  }
  const auto deployed = deploy_if_configured(session->config, issued->installed.name,
                                             *session->inventory, interrupt.token());
  return print_issued(session->layout, *issued, deployed, r.json);
}

}  // namespace

void add_renew_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto r = std::make_shared<RenewOptions>();
  CLI::App* cmd = add_command(
      app, "renew", "Renew a configured certificate (or --all) if it is due (or --force)",
      "Reads the certificate's [[certificate]] entry and its issuer from the configuration. It "
      "is due at once when it is revoked or its names or key type differ from the "
      "configuration; else at the time chosen in the CA's ARI window when one is stored (see "
      "renewal-info), else renew_before ahead of notAfter, else when 2/3 of its lifetime has "
      "passed (1/2 under 10 days); and always once 1/6 of its lifetime is left. A "
      "certificate not yet in the inventory is issued. Issuance is as `certkeeper issue`. "
      "Several issuers are tried in their order until one succeeds; a request the CA refuses "
      "as such (badCSR, rejectedIdentifier...) is not sent to the next.");
  cmd->add_option("name", r->name, "the certificate's name in the configuration");
  cmd->add_flag("--all", r->all,
                "every configured certificate that is due, one line each; exit 1 if any failed "
                "(for a timer or cron without the service)");
  cmd->add_flag("--force", r->force, "renew now, due or not");
  cmd->add_flag("--json", r->json, "print the result as JSON");
  cmd->callback([&context, &exit_code, r] { exit_code = run_renew(context, *r); });
}

void add_issue_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<IssueOptions>();
  CLI::App* cmd = add_command(
      app, "issue", "Issue a certificate over ACME, now, without the daemon",
      "Registers (or reuses) the account at the CA (--server, --issuer NAME, or the "
      "configuration's only issuer), places an order for every --domain and "
      "--ip, answers the challenges, finalizes with a new key (or --csr), downloads the chain "
      "and installs it as STATE/certs/NAME/current/fullchain.pem with the inventory updated. "
      "Any error the CA reports is printed as the CA said it. Exit 3 when issuance fails.");
  cmd->add_option("--server", o->issuer.directory,
                  "ACME directory URL (default: --issuer, else the configuration's only issuer)");
  cmd->add_option("--issuer", o->issuer_name,
                  "a configured [issuer.NAME]: its directory, ca_file, contacts, EAB and profile")
      ->excludes("--server");
  cmd->add_flag("--force", o->force,
                "with --name of a configured certificate: issue for other identifiers anyway");
  cmd->add_option("--domain", o->job.domains, "a DNS name to certify (repeatable)");
  cmd->add_option("--ip", o->job.ips, "an IP address to certify (repeatable, RFC 8738)");
  cmd->add_option("--name", o->job.name, "inventory name (default: from the first identifier)");
  cmd->add_option("--key", o->job.key, std::string("key type: ") + std::string(key_type_names()))
      ->capture_default_str();
  cmd->add_option("--challenge", o->job.challenge.type, "http-01, dns-01 or tls-alpn-01")
      ->capture_default_str();
  cmd->add_option("--http-listen", o->http_listen, "http-01 by a built-in listener on ADDR:PORT");
  cmd->add_option("--webroot", o->job.challenge.webroot,
                  "http-01 by files under DIR/.well-known/acme-challenge/");
  cmd->add_option("--tls-alpn-listen", o->tls_alpn_listen,
                  "tls-alpn-01 by a built-in TLS listener on ADDR:PORT (RFC 8737)");
  cmd->add_option("--dns-hook", o->dns_hook,
                  "dns-01: program run as PROGRAM present|cleanup with CERTKEEPER_DNS_RECORD and "
                  "CERTKEEPER_DNS_VALUE in its environment");
  auto* rfc2136 = cmd->add_option("--dns-rfc2136", o->rfc2136_server,
                                  "dns-01 by RFC 2136 dynamic update to the primary at IPv4 "
                                  "ADDR[:PORT], signed with --dns-tsig-key")
                      ->excludes("--dns-hook");
  cmd->add_option("--dns-tsig-key", o->tsig_key,
                  "dns-01: the TSIG key file, as BIND's tsig-keygen writes it (mode 0600 or 0640)")
      ->needs(rfc2136);
  rfc2136->needs("--dns-tsig-key");
  cmd->add_option("--dns-resolver", o->job.challenge.resolvers,
                  "dns-01: IPv4 ADDR[:PORT] that must serve the TXT record before the CA is asked "
                  "(repeatable; default: the system's resolvers)");
  cmd->add_option("--dns-timeout", o->dns_timeout_seconds,
                  "dns-01: seconds to wait for the record to appear")
      ->capture_default_str();
  cmd->add_option("--profile", o->issuer.profile, "ACME profile to ask for");
  cmd->add_option("--preferred-chain", o->issuer.preferred_chain,
                  "issuer CN of the top certificate of the chain to prefer");
  cmd->add_option("--ca-file", o->issuer.ca_file,
                  "PEM file of CAs to trust for the ACME server's TLS");
  cmd->add_option("--contact", o->issuer.contact,
                  "account contact URI, e.g. mailto:ops@example.com");
  cmd->add_option("--eab-kid", o->issuer.eab_kid, "External Account Binding key id from the CA");
  cmd->add_option("--eab-hmac-key", o->issuer.eab_hmac_key,
                  "External Account Binding MAC key (base64url)");
  cmd->add_option("--csr", o->job.csr_path, "use this CSR (PEM or DER) instead of a new key");
  cmd->add_option("--timeout", o->timeout_seconds, "seconds allowed for the whole order")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print the result as JSON");
  cmd->callback([&context, &exit_code, o] { exit_code = run_issue(context, *o); });
}

}  // namespace ck::daemon

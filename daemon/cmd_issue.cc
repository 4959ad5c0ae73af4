// certkeeper issue --server URL --domain NAME... [options]: one order, start to end.

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "acme/ari.h"
#include "acme/csr.h"
#include "acme/dns01.h"
#include "acme/http01.h"
#include "acme/tls_alpn01.h"
#include "acme/webroot.h"
#include "core/atomic_file.h"
#include "core/keys.h"
#include "core/pem.h"
#include "daemon/acme_setup.h"
#include "daemon/cli.h"
#include "daemon/importer.h"
#include "daemon/lifecycle/renewal_policy.h"

namespace ck::daemon {
namespace {

struct IssueOptions {
  std::string server;
  std::vector<std::string> domains;
  std::vector<std::string> ips;
  std::string name;
  std::string key = "ecdsa-p256";
  std::string challenge = "http-01";
  std::string http_listen;
  std::string webroot;
  std::string tls_alpn_listen;
  std::string dns_hook;
  std::vector<std::string> dns_resolvers;
  int dns_timeout_seconds = 120;
  std::string profile;
  std::string preferred_chain;
  std::string ca_file;
  std::vector<std::string> contact;
  std::string eab_kid;
  std::string eab_hmac_key;
  std::string csr;
  int timeout_seconds = 300;
  std::string replaces;  // RFC 9773 identifier of the certificate renewed, "" when none
  bool json = false;
};

CommandFailure usage(std::string message) {
  return CommandFailure{kExitUsage, std::move(message)};
}
CommandFailure runtime(const Error& error) {
  return failure_from(error);
}

std::expected<std::unique_ptr<acme::ChallengeSolver>, CommandFailure> make_solver(
    const IssueOptions& o, const Clock& clock) {
  if (o.challenge == "dns-01") {
    if (o.dns_hook.empty()) {
      return std::unexpected(usage("dns-01 needs --dns-hook PROGRAM"));
    }
    acme::DnsHookOptions dns{o.dns_hook, o.dns_resolvers, std::chrono::seconds(60),
                             std::chrono::seconds(o.dns_timeout_seconds)};
    return std::make_unique<acme::DnsHookSolver>(std::move(dns));
  }
  if (o.challenge == "tls-alpn-01") {
    if (o.tls_alpn_listen.empty()) {
      return std::unexpected(usage("tls-alpn-01 needs --tls-alpn-listen ADDR:PORT"));
    }
    auto responder = acme::TlsAlpnResponder::start(o.tls_alpn_listen, clock);
    if (!responder) {
      return std::unexpected(runtime(responder.error()));
    }
    return std::unique_ptr<acme::ChallengeSolver>(std::move(*responder));
  }
  if (o.challenge != "http-01") {
    return std::unexpected(
        usage("unknown --challenge " + o.challenge + ": use http-01, dns-01 or tls-alpn-01"));
  }
  if (o.http_listen.empty() == o.webroot.empty()) {
    return std::unexpected(
        usage("http-01 needs exactly one of --http-listen ADDR:PORT or --webroot DIR"));
  }
  if (!o.webroot.empty()) {
    return std::make_unique<acme::WebrootSolver>(o.webroot);
  }
  auto responder = acme::Http01Responder::start(o.http_listen);
  if (!responder) {
    return std::unexpected(runtime(responder.error()));
  }
  return std::unique_ptr<acme::ChallengeSolver>(std::move(*responder));
}

// The identifiers asked for, from --domain/--ip or else from the CSR.
std::expected<std::vector<acme::Identifier>, CommandFailure> identifiers_of(
    const IssueOptions& o, const std::string& csr_der) {
  std::vector<acme::Identifier> ids;
  for (const auto& d : o.domains) {
    ids.push_back({"dns", d});
  }
  for (const auto& ip : o.ips) {
    ids.push_back({"ip", ip});
  }
  if (!csr_der.empty()) {
    auto from_csr = acme::csr_identifiers(csr_der);
    if (!from_csr) {
      return std::unexpected(usage("--csr: " + from_csr.error().message));
    }
    if (ids.empty()) {
      return *from_csr;
    }
  }
  if (ids.empty()) {
    return std::unexpected(usage("name at least one --domain or --ip (or give --csr)"));
  }
  return ids;
}

struct CertificateKey {
  std::string csr_der;
  std::string key_path;  // "" with a user CSR: its key stays with the user
};

// A new key (never replacing an existing file) and its CSR, or the user's CSR.
std::expected<CertificateKey, CommandFailure> certificate_key(
    const IssueOptions& o, const store::StateLayout& layout, const std::string& name,
    const std::vector<acme::Identifier>& ids, std::string csr_der, std::int64_t now) {
  if (!csr_der.empty()) {
    return CertificateKey{std::move(csr_der), ""};
  }
  auto type = parse_key_type(o.key);
  if (!type) {
    return std::unexpected(usage("--key: " + type.error().message));
  }
  auto key = generate_key(*type);
  auto csr = key ? acme::build_csr(**key, ids) : std::unexpected(key.error());
  auto pem = key ? private_key_to_pem(**key) : std::unexpected(key.error());
  if (!csr || !pem) {
    return std::unexpected(runtime(!csr ? csr.error() : pem.error()));
  }
  // Written before the order, so an interrupted order can be finished with it.
  // "20261126T235614Z-1a2b3c4d": sorts by age, and two keys made in one second differ.
  auto path = layout.write_private_key(
      name, store::version_label(now, ossl::hex(ossl::sha256(*pem)).substr(0, 8)), *pem);
  if (!path) {
    return std::unexpected(runtime(path.error()));
  }
  return CertificateKey{std::move(*csr), path->string()};
}

// An unfinished order of this account for the same name and identifiers whose
// key file still exists: what a run that crashed left behind.
std::optional<store::OrderRecord> resumable_order(store::Inventory& inventory,
                                                  std::int64_t account_id, const std::string& name,
                                                  const std::vector<acme::Identifier>& ids) {
  std::vector<std::string> wanted;
  for (const auto& id : ids) {
    wanted.push_back(id.type + ":" + id.value);
  }
  std::sort(wanted.begin(), wanted.end());
  auto orders = inventory.orders().unfinished();
  if (!orders) {
    return std::nullopt;
  }
  for (auto it = orders->rbegin(); it != orders->rend(); ++it) {
    std::error_code ec;
    auto listed = it->identifiers;  // as the CA listed them: compare as sets
    std::sort(listed.begin(), listed.end());
    if (it->account_id == account_id && it->certificate_name == name && listed == wanted &&
        !it->key_path.empty() && std::filesystem::exists(it->key_path, ec)) {
      return *it;
    }
  }
  return std::nullopt;
}

// The key and CSR of an interrupted order, to finish it with.
std::expected<CertificateKey, CommandFailure> resumed_key(
    const store::OrderRecord& order, const std::vector<acme::Identifier>& ids) {
  auto key = load_private_key(order.key_path);
  auto csr = key ? acme::build_csr(**key, ids) : std::unexpected(key.error());
  if (!csr) {
    return std::unexpected(runtime(csr.error()));
  }
  return CertificateKey{std::move(*csr), order.key_path};
}

// What stays the same whichever issuer is asked.
struct Request {
  std::string name;
  std::vector<acme::Identifier> ids;
  std::string user_csr_der;                       // "" unless --csr
  std::unique_ptr<acme::ChallengeSolver> solver;  // bound once, used for every issuer
  std::optional<CertificateKey> new_key;          // made once, kept for the next issuer
};

struct Issued {
  InstalledCertificate installed;
  std::string key_path;
  std::string order_url;
  std::string account_url;
  bool resumed = false;
};

struct AttemptFailure {
  CommandFailure failure;
  bool another_issuer_may_help = false;
};

// Failures another CA would not repeat: anything but a wrong request, a
// refusal of the request itself, or trouble with our own disk or database.
bool another_issuer_may_help(const Error& error) {
  switch (error.code) {
    case Errc::invalid_argument:
    case Errc::unsupported:
    case Errc::rejected:
    case Errc::io:
    case Errc::store:
    case Errc::key_mismatch: return false;
    default: return true;
  }
}

std::unexpected<AttemptFailure> attempt_failed(const Error& error) {
  return std::unexpected(AttemptFailure{runtime(error), another_issuer_may_help(error)});
}
std::unexpected<AttemptFailure> attempt_failed(CommandFailure failure) {
  return std::unexpected(AttemptFailure{std::move(failure), false});
}

std::expected<Request, CommandFailure> prepare_request(const CliContext& context,
                                                       const IssueOptions& o) {
  Request request;
  if (!o.csr.empty()) {
    auto data = read_file(o.csr, 1u << 20);
    auto der = data ? acme::csr_der_from_file_data(*data) : std::unexpected(data.error());
    if (!der) {
      return std::unexpected(usage("--csr: " + der.error().describe()));
    }
    request.user_csr_der = std::move(*der);
  }
  auto ids = identifiers_of(o, request.user_csr_der);
  if (!ids) {
    return std::unexpected(ids.error());
  }
  request.ids = std::move(*ids);
  request.name = o.name.empty() ? derive_certificate_name(request.ids.front().value) : o.name;
  if (auto valid = store::validate_certificate_name(request.name); !valid) {
    return std::unexpected(usage("--name: " + valid.error().message));
  }
  auto solver = make_solver(o, context.clock());
  if (!solver) {
    return std::unexpected(solver.error());
  }
  request.solver = std::move(*solver);
  return request;
}

// One issuance from the CA of o.server, installed into the inventory.
std::expected<Issued, AttemptFailure> attempt(const CliContext& context, Session& session,
                                              Request& request, const IssueOptions& o) {
  HttpOptions http;
  http.ca_file = o.ca_file;
  std::string account_key_path;
  auto signer = load_or_create_account_key(session.layout, o.server, account_key_path);
  if (!signer) {
    return attempt_failed(signer.error());
  }
  auto client = acme::AcmeClient::create(o.server, http, *signer);
  if (!client) {
    return attempt_failed(client.error());
  }
  // An unknown profile is refused before anything is sent to the CA.
  if (auto profile = client->check_profile(o.profile); !profile) {
    return attempt_failed(profile.error());
  }
  AccountSettings settings{o.contact, std::nullopt};
  if (!o.eab_kid.empty() || !o.eab_hmac_key.empty()) {
    if (o.eab_kid.empty() || o.eab_hmac_key.empty()) {
      return attempt_failed(usage("--eab-kid and --eab-hmac-key go together"));
    }
    settings.eab = acme::ExternalAccountKey{o.eab_kid, o.eab_hmac_key};
  }
  auto account_id = ensure_account(*session.inventory, *client, o.server, account_key_path,
                                   "ecdsa-p256", settings);
  if (!account_id) {
    return attempt_failed(account_id.error());
  }
  // A run that crashed mid-order left its order and key: finish that order.
  const auto resume =
      request.user_csr_der.empty()
          ? resumable_order(*session.inventory, *account_id, request.name, request.ids)
          : std::nullopt;
  if (!resume && !request.new_key) {
    auto key = certificate_key(o, session.layout, request.name, request.ids, request.user_csr_der,
                               context.clock().unix_seconds());
    if (!key) {
      return attempt_failed(key.error());
    }
    request.new_key = std::move(*key);
  }
  auto key = resume ? resumed_key(*resume, request.ids) : *request.new_key;
  if (!key) {
    return attempt_failed(key.error());
  }
  auto directory = client->directory();
  acme::IssueRequest order;
  order.identifiers = request.ids;
  order.csr_der = key->csr_der;
  order.profile = o.profile;
  // RFC 9773 §5: only a CA that offers ARI knows what `replaces` means.
  order.replaces = directory && !directory->renewal_info.empty() ? o.replaces : "";
  order.preferred_chain = o.preferred_chain;
  order.resume_order_url = resume ? resume->order_url : "";
  order.timeout = std::chrono::seconds(o.timeout_seconds);
  StoreOrderObserver observer(*session.inventory, *account_id, request.name, key->key_path,
                              o.profile);
  acme::SleepingWaiter waiter;
  auto issued = acme::issue_certificate(*client, *signer, order, *request.solver, waiter,
                                        context.clock(), &observer);
  if (!issued) {
    return attempt_failed(issued.error());
  }
  auto installed = install_issued(*session.inventory, session.layout, request.name,
                                  issued->chain.pem, key->key_path, issued->order.url);
  if (!installed) {
    return attempt_failed(installed.error());
  }
  return Issued{std::move(*installed), key->key_path, issued->order.url, client->account_url(),
                resume && resume->order_url == issued->order.url};
}

void print_issued(const Session& session, const Issued& issued, bool json) {
  const auto& installed = issued.installed;
  const auto fullchain = session.layout.current(installed.name) / "fullchain.pem";
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"name", installed.name},
                                      {"sha256", installed.sha256},
                                      {"names", installed.names},
                                      {"not_after", format_rfc3339(installed.not_after)},
                                      {"fullchain", fullchain.string()},
                                      {"key_path", issued.key_path},
                                      {"order_url", issued.order_url},
                                      {"resumed", issued.resumed},
                                      {"account_url", issued.account_url}}
                           .dump(2));
  } else {
    fmt::print("issued {} ({}), valid until {}\n  fullchain: {}\n  key:       {}\n", installed.name,
               installed.sha256.substr(0, 16), format_rfc3339(installed.not_after),
               fullchain.string(),
               issued.key_path.empty() ? "(yours, from the CSR)" : issued.key_path);
  }
}

// Issues from the first issuer that succeeds, in the order given. The next is
// tried only when the failure was not about the request itself.
int issue_with_fallback(const CliContext& context, Session& session,
                        const std::vector<IssueOptions>& issuers) {
  auto request = prepare_request(context, issuers.front());
  if (!request) {
    return report_failure(request.error());
  }
  for (std::size_t i = 0; i < issuers.size(); ++i) {
    auto issued = attempt(context, session, *request, issuers[i]);
    if (issued) {
      print_issued(session, *issued, issuers[i].json);
      return kExitOk;
    }
    if (!issued.error().another_issuer_may_help || i + 1 == issuers.size()) {
      return report_failure(issued.error().failure);
    }
    fmt::print(stderr, "certkeeper: {} failed: {}\ncertkeeper: trying the next issuer, {}\n",
               issuers[i].server, issued.error().failure.message, issuers[i + 1].server);
  }
  return kExitRuntime;  // not reached: the loop returns at its last issuer
}

int run_issue(const CliContext& context, const IssueOptions& o) {
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  return issue_with_fallback(context, *session, {o});
}

struct RenewOptions {
  std::string name;
  bool force = false;
  bool json = false;
};

// The issue options a [[certificate]] entry and one of its issuers describe.
IssueOptions options_from_config(const CertificateConfig& cert, const IssuerConfig& issuer,
                                 bool json) {
  IssueOptions o;
  o.server = issuer.directory;
  o.domains = cert.domains;
  o.ips = cert.ips;
  o.name = cert.name;
  o.key = cert.key;
  o.challenge = cert.challenge.type;
  o.http_listen = cert.challenge.type == "http-01" ? cert.challenge.listen : "";
  o.webroot = cert.challenge.webroot;
  o.tls_alpn_listen = cert.challenge.type == "tls-alpn-01" ? cert.challenge.listen : "";
  o.dns_hook = cert.challenge.dns_hook.empty() ? "" : cert.challenge.dns_hook.front();
  o.dns_resolvers = cert.challenge.resolvers;
  o.profile = cert.profile.empty() ? issuer.profile : cert.profile;
  o.preferred_chain = cert.preferred_chain.empty() ? issuer.preferred_chain : cert.preferred_chain;
  o.ca_file = issuer.ca_file;
  o.contact = issuer.contact;
  o.eab_kid = issuer.eab_kid;
  o.eab_hmac_key = issuer.eab_hmac_key;
  o.json = json;
  return o;
}

// The directory URL of the CA that issued the name's current version, "" when unknown.
std::string predecessor_directory(store::Inventory& inventory, const std::string& name) {
  auto order = inventory.orders().latest_valid(name);
  auto accounts = inventory.accounts().list();
  if (!order || !*order || !accounts) {
    return "";
  }
  for (const auto& account : *accounts) {
    if (account.id == (*order)->account_id) {
      return account.directory_url;
    }
  }
  return "";
}

// The RFC 9773 identifier of the certificate being renewed, "" when it has none.
std::string ari_identifier(const store::CertificateRecord& cert) {
  auto x509 = ossl::x509_from_der(cert.der);
  auto id = x509 ? acme::certificate_identifier(**x509) : std::unexpected(x509.error());
  return id ? *id : "";
}

// nullopt when the name's current certificate is due (or absent); else the
// exit code after saying when it will be.
std::optional<int> report_if_not_due(const CliContext& context, Session& session,
                                     const CertificateConfig& cert,
                                     const store::CertificateRecord& current, bool json) {
  RenewalInputs inputs;
  inputs.not_before = current.not_before;
  inputs.not_after = current.not_after;
  inputs.issued_at = current.created_at;
  inputs.renew_before = cert.renew_before;
  inputs.revoked = current.status == store::CertificateStatus::revoked;
  inputs.config_change =
      identity_change(cert.domains, cert.ips, cert.key, current.sans, current.key_type);
  inputs.operator_asked = true;  // `renew NAME` is the operator asking: no backoff
  if (auto ari = session.inventory->renewal_info().find(current.id); ari && *ari) {
    inputs.ari = AriAnswer{(*ari)->window_start, (*ari)->window_end, (*ari)->selected_time,
                           (*ari)->fetched_at};
  }
  const RenewalDecision decision =
      decide_renewal(inputs, context.clock().unix_seconds(), std::random_device{}());
  if (decision.due) {
    return std::nullopt;
  }
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"name", cert.name},
                                      {"due", false},
                                      {"due_at", format_rfc3339(decision.at)},
                                      {"rule", to_string(decision.rule)},
                                      {"reason", decision.reason}}
                           .dump(2));
  } else {
    fmt::print("{}: not due; renews at {} ({})\n", cert.name, format_rfc3339(decision.at),
               decision.reason);
  }
  return kExitOk;
}

int run_renew(const CliContext& context, const RenewOptions& r) {
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  const Config& config = session->config;
  auto cert = std::find_if(config.certificates.begin(), config.certificates.end(),
                           [&](const CertificateConfig& c) { return c.name == r.name; });
  if (cert == config.certificates.end()) {
    return report_failure(usage("no [[certificate]] named \"" + r.name + "\" in " +
                                (config.path.empty() ? "the configuration" : config.path)));
  }
  std::vector<IssueOptions> issuers;
  for (const auto& issuer_name : cert->issuers) {
    issuers.push_back(options_from_config(*cert, config.issuers.at(issuer_name), r.json));
  }
  auto versions = session->inventory->certificates().versions(r.name);
  if (!versions) {
    return report_failure(runtime(versions.error()));
  }
  auto current = std::find_if(versions->begin(), versions->end(), [](const auto& v) {
    return v.status == store::CertificateStatus::active;
  });
  if (current != versions->end()) {
    if (!r.force) {
      if (auto done = report_if_not_due(context, *session, *cert, *current, r.json)) {
        return *done;
      }
    }
    // The CA that issued the current version learns which certificate this replaces.
    const std::string issued_by = predecessor_directory(*session->inventory, r.name);
    for (auto& issuer : issuers) {
      issuer.replaces = issuer.server == issued_by ? ari_identifier(*current) : "";
    }
  }
  return issue_with_fallback(context, *session, issuers);
}

}  // namespace

void add_renew_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto r = std::make_shared<RenewOptions>();
  CLI::App* cmd = add_command(
      app, "renew", "Renew a configured certificate if it is due (or --force)",
      "Reads the certificate's [[certificate]] entry and its issuer from the configuration. It "
      "is due at once when it is revoked or its names or key type differ from the "
      "configuration; else at the time chosen in the CA's ARI window when one is stored (see "
      "renewal-info), else renew_before ahead of notAfter, else when 2/3 of its lifetime has "
      "passed (1/2 under 10 days); and always once 1/6 of its lifetime is left. A "
      "certificate not yet in the inventory is issued. Issuance is as `certkeeper issue`. "
      "Several issuers are tried in their order until one succeeds; a request the CA refuses "
      "as such (badCSR, rejectedIdentifier...) is not sent to the next.");
  cmd->add_option("name", r->name, "the certificate's name in the configuration")->required();
  cmd->add_flag("--force", r->force, "renew now, due or not");
  cmd->add_flag("--json", r->json, "print the result as JSON");
  cmd->callback([&context, &exit_code, r] { exit_code = run_renew(context, *r); });
}

void add_issue_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<IssueOptions>();
  CLI::App* cmd = add_command(
      app, "issue", "Issue a certificate over ACME, now, without the daemon",
      "Registers (or reuses) the account for --server, places an order for every --domain and "
      "--ip, answers the challenges, finalizes with a new key (or --csr), downloads the chain "
      "and installs it as STATE/certs/NAME/current/fullchain.pem with the inventory updated. "
      "Any error the CA reports is printed as the CA said it. Exit 3 when issuance fails.");
  cmd->add_option("--server", o->server, "ACME directory URL")->required();
  cmd->add_option("--domain", o->domains, "a DNS name to certify (repeatable)");
  cmd->add_option("--ip", o->ips, "an IP address to certify (repeatable, RFC 8738)");
  cmd->add_option("--name", o->name, "inventory name (default: from the first identifier)");
  cmd->add_option("--key", o->key, std::string("key type: ") + std::string(key_type_names()))
      ->capture_default_str();
  cmd->add_option("--challenge", o->challenge, "http-01, dns-01 or tls-alpn-01")
      ->capture_default_str();
  cmd->add_option("--http-listen", o->http_listen, "http-01 by a built-in listener on ADDR:PORT");
  cmd->add_option("--webroot", o->webroot,
                  "http-01 by files under DIR/.well-known/acme-challenge/");
  cmd->add_option("--tls-alpn-listen", o->tls_alpn_listen,
                  "tls-alpn-01 by a built-in TLS listener on ADDR:PORT (RFC 8737)");
  cmd->add_option("--dns-hook", o->dns_hook,
                  "dns-01: program run as PROGRAM present|cleanup with CERTKEEPER_DNS_RECORD and "
                  "CERTKEEPER_DNS_VALUE in its environment");
  cmd->add_option("--dns-resolver", o->dns_resolvers,
                  "dns-01: IPv4 ADDR[:PORT] that must serve the TXT record before the CA is asked "
                  "(repeatable; default: the system's resolvers)");
  cmd->add_option("--dns-timeout", o->dns_timeout_seconds,
                  "dns-01: seconds to wait for the record to appear")
      ->capture_default_str();
  cmd->add_option("--profile", o->profile, "ACME profile to ask for");
  cmd->add_option("--preferred-chain", o->preferred_chain,
                  "issuer CN of the top certificate of the chain to prefer");
  cmd->add_option("--ca-file", o->ca_file, "PEM file of CAs to trust for the ACME server's TLS");
  cmd->add_option("--contact", o->contact, "account contact URI, e.g. mailto:ops@example.com");
  cmd->add_option("--eab-kid", o->eab_kid, "External Account Binding key id from the CA");
  cmd->add_option("--eab-hmac-key", o->eab_hmac_key,
                  "External Account Binding MAC key (base64url)");
  cmd->add_option("--csr", o->csr, "use this CSR (PEM or DER) instead of a new key");
  cmd->add_option("--timeout", o->timeout_seconds, "seconds allowed for the whole order")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print the result as JSON");
  cmd->callback([&context, &exit_code, o] { exit_code = run_issue(context, *o); });
}

}  // namespace ck::daemon

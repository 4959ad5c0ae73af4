#include "daemon/lifecycle/issue.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "acme/ari.h"
#include "acme/csr.h"
#include "acme/dns01.h"
#include "acme/http01.h"
#include "acme/rfc2136.h"
#include "acme/tls_alpn01.h"
#include "acme/webroot.h"
#include "core/atomic_file.h"
#include "core/deadline_stop.h"
#include "core/keys.h"
#include "core/pem.h"
#include "daemon/lifecycle/accounts.h"
#include "daemon/lifecycle/importer.h"
#include "daemon/lifecycle/inventory_view.h"
#include "daemon/lifecycle/order_log.h"

namespace ck::daemon {
namespace {

std::unexpected<Error> refuse(std::string message) {
  return fail(Errc::invalid_argument, std::move(message));
}

Result<std::unique_ptr<acme::ChallengeSolver>> make_solver(const IssueJob& job, const Clock& clock,
                                                           std::stop_token stop) {
  const ChallengeConfig& c = job.challenge;
  if (c.type == "dns-01") {
    if (!c.rfc2136_server.empty()) {
      CK_TRY(key, acme::load_tsig_key(c.tsig_key));
      return std::make_unique<acme::Rfc2136Solver>(acme::Rfc2136Options{
          c.rfc2136_server, std::move(key), c.resolvers, job.dns_timeout, stop});
    }
    if (c.dns_hook.empty()) {
      return refuse("dns-01 needs a DNS hook program or an RFC 2136 server and TSIG key");
    }
    return std::make_unique<acme::DnsHookSolver>(acme::DnsHookOptions{
        c.dns_hook.front(), c.resolvers, std::chrono::seconds(60), job.dns_timeout, stop});
  }
  if (c.type == "tls-alpn-01") {
    if (c.listen.empty()) {
      return refuse("tls-alpn-01 needs a listen address ADDR:PORT");
    }
    CK_TRY(responder, acme::TlsAlpnResponder::start(c.listen, clock));
    return std::unique_ptr<acme::ChallengeSolver>(std::move(responder));
  }
  if (c.type != "http-01") {
    return refuse("unknown challenge " + c.type + ": use http-01, dns-01 or tls-alpn-01");
  }
  if (c.listen.empty() == c.webroot.empty()) {
    return refuse("http-01 needs exactly one of a listen address ADDR:PORT or a webroot DIR");
  }
  if (!c.webroot.empty()) {
    return std::make_unique<acme::WebrootSolver>(c.webroot);
  }
  CK_TRY(responder, acme::Http01Responder::start(c.listen));
  return std::unique_ptr<acme::ChallengeSolver>(std::move(responder));
}

// The identifiers asked for: the job's names, else the CSR's.
Result<std::vector<acme::Identifier>> identifiers_of(const IssueJob& job,
                                                     const std::string& csr_der) {
  std::vector<acme::Identifier> ids;
  for (const auto& d : job.domains) {
    if (auto problem = domain_problem(d); !problem.empty()) {
      return refuse(problem);
    }
    ids.push_back({"dns", d});
  }
  for (const auto& ip : job.ips) {
    if (auto problem = ip_problem(ip); !problem.empty()) {
      return refuse(problem);
    }
    ids.push_back({"ip", ip});
  }
  if (!csr_der.empty()) {
    auto from_csr = acme::csr_identifiers(csr_der);
    if (!from_csr) {
      return refuse("CSR: " + from_csr.error().message);
    }
    if (ids.empty()) {
      return *from_csr;
    }
  }
  if (ids.empty()) {
    return refuse("name at least one domain or IP address (or give a CSR)");
  }
  return ids;
}

struct CertificateKey {
  std::string csr_der;
  std::string key_path;  // "" with a user CSR: its key stays with the user
};

// A new key (never replacing an existing file) and its CSR.
Result<CertificateKey> new_certificate_key(const IssueJob& job, const store::StateLayout& layout,
                                           const std::string& name,
                                           const std::vector<acme::Identifier>& ids,
                                           std::int64_t now) {
  auto type = parse_key_type(job.key);
  if (!type) {
    return refuse("key: " + type.error().message);
  }
  CK_TRY(key, generate_key(*type));
  CK_TRY(csr, acme::build_csr(*key, ids));
  CK_TRY(pem, private_key_to_pem(*key));
  // Written before the order, so an interrupted order can be finished with it.
  // "20261126T235614Z-1a2b3c4d": sorts by age, and two keys made in one second differ.
  CK_TRY(path,
         layout.write_private_key(
             name, store::version_label(now, ossl::hex(ossl::sha256(pem)).substr(0, 8)), pem));
  return CertificateKey{std::move(csr), path.string()};
}

// reuse_key: the current version's key and a CSR made with it, when that key
// is still on disk, of the configured type, and the one the version certifies;
// none otherwise (a new key is made). A revoked version is not current, so a
// revoked certificate's key (compromised, perhaps) is never reused.
Result<std::optional<CertificateKey>> reused_certificate_key(
    const IssueJob& job, store::Inventory& inventory, const std::string& name,
    const std::vector<acme::Identifier>& ids) {
  CK_TRY(current, current_version(inventory, name));
  if (!current || current->key_path.empty()) {
    return std::nullopt;
  }
  auto key = load_private_key(current->key_path);
  if (!key) {
    spdlog::warn("{}: reuse_key: cannot read the current key: {}; making a new one", name,
                 key.error().describe());
    return std::nullopt;
  }
  auto fingerprint = public_key_fingerprint(**key);
  if (describe_key(**key) != job.key || !fingerprint ||
      *fingerprint != current->public_key_sha256) {
    return std::nullopt;  // the key type changed, or the file is not that version's key
  }
  CK_TRY(csr, acme::build_csr(**key, ids));
  return CertificateKey{std::move(csr), current->key_path};
}

// Whether `order` is this account's, for the same name and identifiers, and
// its key file is still there.
bool same_request(const store::OrderRecord& order, std::int64_t account_id, const std::string& name,
                  std::vector<std::string> wanted) {
  auto listed = order.identifiers;  // as the CA listed them: compare as sets
  std::ranges::sort(listed);
  std::ranges::sort(wanted);
  std::error_code ec;
  return order.account_id == account_id && order.certificate_name == name && listed == wanted &&
         !order.key_path.empty() && std::filesystem::exists(order.key_path, ec);
}

// What a run that died mid-order left behind, to finish instead of ordering
// again: an unfinished order for the same request, or a valid one whose
// certificate was never installed (it died between finalize and install: no
// version of the name has that order's key).
std::optional<store::OrderRecord> resumable_order(store::Inventory& inventory,
                                                  std::int64_t account_id, const std::string& name,
                                                  const std::vector<acme::Identifier>& ids) {
  std::vector<std::string> wanted;
  for (const auto& id : ids) {
    wanted.push_back(id.type + ":" + id.value);
  }
  if (auto orders = inventory.orders().unfinished()) {
    for (auto it = orders->rbegin(); it != orders->rend(); ++it) {
      if (same_request(*it, account_id, name, wanted)) {
        return *it;
      }
    }
  }
  auto valid = inventory.orders().latest_valid(name);
  auto versions = inventory.certificates().versions(name);
  if (!valid || !*valid || !versions || !same_request(**valid, account_id, name, wanted)) {
    return std::nullopt;
  }
  const bool installed = std::ranges::any_of(
      versions.value(), [&](const auto& v) { return v.key_path == (*valid)->key_path; });
  return installed ? std::nullopt : *valid;
}

// The key and CSR of an interrupted order, to finish it with.
Result<CertificateKey> resumed_key(const store::OrderRecord& order,
                                   const std::vector<acme::Identifier>& ids) {
  CK_TRY(key, load_private_key(order.key_path));
  CK_TRY(csr, acme::build_csr(*key, ids));
  return CertificateKey{std::move(csr), order.key_path};
}

// What stays the same whichever issuer is asked.
struct Request {
  std::string name;
  std::optional<FileLock> lock;  // this name's, for as long as the request lives
  std::vector<acme::Identifier> ids;
  std::string user_csr_der;                       // "" unless the job has a CSR
  std::unique_ptr<acme::ChallengeSolver> solver;  // bound once, used for every issuer
  std::optional<CertificateKey> new_key;          // made once, kept for the next issuer
  bool key_made = false;         // new_key was made by this run (not reused, not the user's)
  std::string last_order_url;    // of the latest attempt, "" before one has an order
  bool order_to_resume = false;  // an attempt's order is left for a later run to finish
};

// Whether a failure is the CA's last word on the order (a failed challenge,
// a refused request), not an interruption or a fault a later run may get
// past (network, timeouts, rate limits, server errors): such an order will
// never be finished.
bool failed_for_good(const Error& error, std::stop_token stop) {
  return !stop.stop_requested() && !error.retryable &&
         (error.code == Errc::protocol || error.code == Errc::rejected);
}

// An order that failed for good: its record says invalid, with the CA's words,
// so that it is never taken for one to resume.
Status mark_order_invalid(store::Inventory& inventory, const std::string& order_url,
                          const Error& error) {
  CK_TRY(record, inventory.orders().find_by_url(order_url));
  if (!record || record->status == "valid") {
    return {};
  }
  record->status = "invalid";
  record->error_json =
      nlohmann::json{{"type", error.acme_problem}, {"detail", error.describe()}}.dump();
  CK_TRY_STATUS(inventory.orders().upsert(*record));
  return {};
}

// Once `placed` is recorded, the name's other unfinished orders are given up
// (the one resumed came back invalid or gone, the identifiers changed since,
// or a kill came between two of these records): closed, naming `placed`, or
// every start would take them for orders still to finish. One order per name
// runs at a time (its lock).
void close_replaced_orders(store::Inventory& inventory, const std::string& name,
                           const std::string& placed) {
  auto orders = inventory.orders().unfinished();
  if (!orders) {
    spdlog::warn("{}: cannot read the unfinished orders: {}", name, orders.error().describe());
    return;
  }
  const Error why{Errc::protocol, "not finished: replaced by " + placed};
  for (const auto& order : *orders) {
    if (order.certificate_name != name || order.order_url == placed) {
      continue;
    }
    if (auto closed = mark_order_invalid(inventory, order.order_url, why); !closed) {
      spdlog::warn("{}: cannot close order {}: {}", name, order.order_url,
                   closed.error().describe());
    }
  }
}

Result<Request> prepare(const IssueJob& job, const store::StateLayout& layout, const Clock& clock,
                        std::stop_token stop) {
  Request request;
  if (!job.csr_path.empty()) {
    auto data = read_file(job.csr_path, 1u << 20);
    auto der = data ? acme::csr_der_from_file_data(*data) : std::unexpected(data.error());
    if (!der) {
      return refuse("CSR: " + der.error().describe());
    }
    request.user_csr_der = std::move(*der);
  }
  CK_TRY(ids, identifiers_of(job, request.user_csr_der));
  request.ids = std::move(ids);
  request.name = job.name.empty() ? derive_certificate_name(request.ids.front().value) : job.name;
  if (auto valid = store::validate_certificate_name(request.name); !valid) {
    return refuse("name: " + valid.error().message);
  }
  CK_TRY(lock, layout.lock_certificate(request.name));  // before the listener is bound
  request.lock = std::move(lock);
  CK_TRY(solver, make_solver(job, clock, std::move(stop)));
  request.solver = std::move(solver);
  return request;
}

// Failures another CA would not repeat: a wrong request, a refusal of the
// request itself, trouble with our own disk or database; and a stop request.
bool another_issuer_may_help(const Error& error) {
  switch (error.code) {
    case Errc::invalid_argument:
    case Errc::unsupported:
    case Errc::cancelled:
    case Errc::rejected:
    case Errc::io:
    case Errc::store:
    case Errc::key_mismatch: return false;
    default: return true;
  }
}

Result<acme::AccountSigner> account_of(const IssuerConfig& issuer, JobContext& context,
                                       std::string& key_path) {
  return load_or_create_account_key(context.layout, issuer.directory, key_path);
}

// One issuance from `issuer`, installed into the inventory; what talks to the
// CA stops at `stop`.
Result<IssueOutcome> attempt_until(const IssueJob& job, const IssuerConfig& issuer,
                                   Request& request, JobContext& context, std::stop_token stop) {
  std::string account_key_path;
  CK_TRY(signer, account_of(issuer, context, account_key_path));
  HttpOptions http;
  http.ca_file = issuer.ca_file;
  CK_TRY(client, acme::AcmeClient::create(issuer.directory, http, signer));
  client.set_stop_token(stop);
  if (context.ca_sessions) {
    client.share(context.ca_sessions->of(issuer.directory, issuer.ca_file));
  }
  // An unknown profile is refused before anything is sent to the CA.
  CK_TRY_STATUS(client.check_profile(issuer.profile));
  AccountSettings settings{issuer.contact, std::nullopt};
  if (!issuer.eab_kid.empty() || !issuer.eab_hmac_key.empty()) {
    if (issuer.eab_kid.empty() || issuer.eab_hmac_key.empty()) {
      return refuse("the EAB key id and MAC key go together");
    }
    settings.eab = acme::ExternalAccountKey{issuer.eab_kid, issuer.eab_hmac_key};
  }
  CK_TRY(account_id, ensure_account(context.inventory, client, issuer.directory, account_key_path,
                                    "ecdsa-p256", settings));
  // A run that died mid-order left its order and key: finish that order.
  const auto resume = request.user_csr_der.empty() ? resumable_order(context.inventory, account_id,
                                                                     request.name, request.ids)
                                                   : std::nullopt;
  if (!resume && !request.new_key) {
    if (request.user_csr_der.empty()) {
      CK_TRY(reused, job.reuse_key
                         ? reused_certificate_key(job, context.inventory, request.name, request.ids)
                         : Result<std::optional<CertificateKey>>(std::nullopt));
      if (reused) {
        request.new_key = std::move(*reused);
      } else {
        CK_TRY(key, new_certificate_key(job, context.layout, request.name, request.ids,
                                        context.clock.unix_seconds()));
        request.new_key = std::move(key);
        request.key_made = true;
      }
    } else {
      request.new_key = CertificateKey{request.user_csr_der, ""};
    }
  }
  CK_TRY(key,
         resume ? resumed_key(*resume, request.ids) : Result<CertificateKey>(*request.new_key));
  auto directory = client.directory();
  acme::IssueRequest order;
  order.identifiers = request.ids;
  order.csr_der = key.csr_der;
  order.profile = issuer.profile;
  // RFC 9773 §5: only the CA that issued the certificate, offering ARI, is told.
  order.replaces =
      directory && !directory->renewal_info.empty() && issuer.directory == job.replaces_directory
          ? job.replaces
          : "";
  order.preferred_chain = issuer.preferred_chain;
  order.resume_order_url = resume ? resume->order_url : "";
  order.timeout = job.timeout;
  StoreOrderObserver observer(context.inventory, account_id, request.name, key.key_path,
                              issuer.profile);
  bool first = true;  // the first record of this attempt's order
  observer.then = [&](const acme::Order& placed) -> Status {
    request.last_order_url = placed.url;
    if (std::exchange(first, false)) {
      close_replaced_orders(context.inventory, request.name, placed.url);
    }
    return context.on_order_recorded ? context.on_order_recorded(placed) : Status{};
  };
  auto issued = acme::issue_certificate(client, signer, order, *request.solver, context.waiter,
                                        context.clock, &observer, stop);
  if (!issued) {
    const bool placed = !request.last_order_url.empty();
    request.order_to_resume =
        request.order_to_resume || (placed && !failed_for_good(issued.error(), context.stop));
    if (placed && failed_for_good(issued.error(), context.stop)) {
      if (auto marked =
              mark_order_invalid(context.inventory, request.last_order_url, issued.error());
          !marked) {
        spdlog::warn("{}: cannot mark order {} invalid: {}", request.name, request.last_order_url,
                     marked.error().describe());
      }
    }
    return fail(issued.error());
  }
  OrderedCertificate ordered{key.csr_der, {}};
  for (const auto& id : request.ids) {
    ordered.names.push_back((id.type == "ip" ? "IP:" : "DNS:") + id.value);
  }
  CK_TRY(installed, install_issued(context.inventory, context.layout, request.name,
                                   issued->chain.pem, key.key_path, issued->order.url, ordered));
  return IssueOutcome{std::move(installed), key.key_path,
                      issued->order.url,    client.account_url(),
                      issuer.directory,     resume && resume->order_url == issued->order.url};
}

// attempt_until() within the job's timeout: it bounds the whole order, a
// request stalled mid-answer included. An order cut short stays to resume.
Result<IssueOutcome> attempt(const IssueJob& job, const IssuerConfig& issuer, Request& request,
                             JobContext& context) {
  return within(context.stop, job.timeout, "the CA", issuer.directory, [&](std::stop_token stop) {
    return attempt_until(job, issuer, request, context, std::move(stop));
  });
}

// The RFC 9773 identifier of a certificate, "" when it has none.
std::string ari_identifier(const store::CertificateRecord& cert) {
  auto x509 = ossl::x509_from_der(cert.der);
  auto id = x509 ? acme::certificate_identifier(**x509) : std::unexpected(x509.error());
  return id ? *id : "";
}

// A run that failed, issuers and all: on the event log with the CA's words
// (unless it was interrupted: the order stays to resume); and a key made by
// this run goes when no order is left to finish with it (nothing will ever
// certify it).
void record_failure(const Request& request, const Error& error, JobContext& context) {
  if (context.stop.stop_requested()) {
    return;
  }
  const nlohmann::json details{{"order_url", request.last_order_url},
                               {"error",
                                {{"code", to_string(error.code)},
                                 {"problem", error.acme_problem},
                                 {"message", error.describe()}}}};
  if (auto appended = context.inventory.events().append(
          {0, 0, "renewal_failed", request.name, error.describe(), details.dump()});
      !appended) {
    spdlog::warn("{}: cannot record the failure: {}", request.name, appended.error().describe());
  }
  if (request.key_made && request.new_key && !request.order_to_resume) {
    std::error_code ec;
    if (std::filesystem::remove(request.new_key->key_path, ec)) {
      spdlog::info("{}: removed the key made for the failed order: {}", request.name,
                   request.new_key->key_path);
    }
  }
}

// Each issuer in turn, until one issues or a failure another could not help.
Result<IssueOutcome> issue_with_fallback(const IssueJob& job, Request& request,
                                         JobContext& context) {
  for (std::size_t i = 0;; ++i) {
    auto issued = attempt(job, job.issuers[i], request, context);
    if (!issued && issued.error().acme_problem == "accountDoesNotExist") {
      // The CA lost the account (a reset test CA, a removed account): the
      // same key registers again, once, and the order is placed anew.
      const std::string& directory = job.issuers[i].directory;
      CK_TRY_STATUS(forget_account(context.inventory, directory,
                                   account_key_path(context.layout, directory).string()));
      issued = attempt(job, job.issuers[i], request, context);
    }
    if (issued || !another_issuer_may_help(issued.error()) || i + 1 == job.issuers.size()) {
      return issued;
    }
    if (context.on_fallback) {
      context.on_fallback(job.issuers[i].directory, issued.error(), job.issuers[i + 1].directory);
    }
  }
}

}  // namespace

Result<IssueOutcome> issue(const IssueJob& job, JobContext& context) {
  if (job.issuers.empty()) {
    return refuse("no issuer to ask");
  }
  CK_TRY(request, prepare(job, context.layout, context.clock, context.stop));
  auto issued = issue_with_fallback(job, request, context);
  if (!issued) {
    record_failure(request, issued.error(), context);
  }
  return issued;
}

IssueJob issue_job_for(const CertificateConfig& cert, const Config& config) {
  IssueJob job;
  job.name = cert.name;
  job.domains = cert.domains;
  job.ips = cert.ips;
  job.key = cert.key;
  job.reuse_key = cert.reuse_key;
  job.challenge = cert.challenge;
  for (const auto& name : cert.issuers) {
    IssuerConfig issuer = config.issuers.at(name);
    issuer.profile = cert.profile.empty() ? issuer.profile : cert.profile;
    issuer.preferred_chain =
        cert.preferred_chain.empty() ? issuer.preferred_chain : cert.preferred_chain;
    job.issuers.push_back(std::move(issuer));
  }
  return job;
}

Result<RenewalCheck> check_renewal(const CertificateConfig& cert, const Config& config,
                                   store::Inventory& inventory, std::int64_t now,
                                   const FailureStreak& failures, bool operator_asked,
                                   std::uint64_t random) {
  CK_TRY(active, current_version(inventory, cert.name));
  RenewalCheck check;
  if (!active) {
    // None active: its latest version was revoked, or it was never issued.
    CK_TRY(versions, inventory.certificates().versions(cert.name));
    const bool revoked =
        !versions.empty() &&
        std::ranges::max(versions, {}, &store::CertificateRecord::not_before).status ==
            store::CertificateStatus::revoked;
    check.decision = revoked ? RenewalDecision{true, now, RenewalRule::revoked, 0,
                                               "the current version is revoked: re-issue now"}
                             : RenewalDecision{true, now, RenewalRule::first_issue, 0,
                                               "not in the inventory yet: issue now"};
    hold_after_failures(check.decision, failures, operator_asked, std::nullopt, now, random);
    return check;
  }
  const store::CertificateRecord& current = *active;
  RenewalInputs inputs;
  inputs.not_before = current.not_before;
  inputs.not_after = current.not_after;
  inputs.issued_at = current.created_at;
  inputs.renew_before = cert.renew_before;
  inputs.revoked = current.status == store::CertificateStatus::revoked;
  inputs.config_change =
      identity_change(cert.domains, cert.ips, cert.key, current.sans, current.key_type);
  if (inputs.config_change.empty() && current.source == "acme") {
    inputs.config_change = issuance_change(cert, config, inventory);
  }
  inputs.failures = failures;
  inputs.operator_asked = operator_asked;
  CK_TRY(ari, inventory.renewal_info().find(current.id));
  if (ari) {
    inputs.ari = AriAnswer{ari->window_start, ari->window_end, ari->selected_time, ari->fetched_at};
  }
  check.decision = decide_renewal(inputs, now, random);
  check.current = current;
  return check;
}

std::string issuance_change(const CertificateConfig& cert, const Config& config,
                            store::Inventory& inventory) {
  auto order = inventory.orders().latest_valid(cert.name);
  const std::string directory = issuing_directory(inventory, cert.name);
  if (!order || !*order || directory.empty()) {
    return "";  // nothing on record to compare with
  }
  const IssueJob job = issue_job_for(cert, config);
  auto issuer = std::ranges::find(job.issuers, directory, &IssuerConfig::directory);
  if (issuer == job.issuers.end()) {
    return "issued by " + directory + ", which is no longer among its issuers";
  }
  if (issuer->profile != (*order)->profile) {
    return "profile \"" + (*order)->profile + "\" where the configuration asks for \"" +
           issuer->profile + "\"";
  }
  return "";
}

std::string issuing_directory(store::Inventory& inventory, const std::string& name) {
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

bool has_interrupted_order(store::Inventory& inventory, const std::string& name) {
  auto usable = [](const store::OrderRecord& o) {
    std::error_code ec;
    return !o.key_path.empty() && std::filesystem::exists(o.key_path, ec);
  };
  if (auto orders = inventory.orders().unfinished()) {
    for (const auto& o : *orders) {
      if (o.certificate_name == name && usable(o)) {
        return true;
      }
    }
  }
  auto valid = inventory.orders().latest_valid(name);
  auto versions = inventory.certificates().versions(name);
  if (!valid || !*valid || !versions || !usable(**valid)) {
    return false;
  }
  return std::ranges::none_of(*versions,
                              [&](const auto& v) { return v.key_path == (*valid)->key_path; });
}

Result<IssueOutcome> renew(const CertificateConfig& cert, const Config& config,
                           const store::CertificateRecord* current, JobContext& context) {
  IssueJob job = issue_job_for(cert, config);
  if (current) {
    job.replaces = ari_identifier(*current);
    job.replaces_directory = issuing_directory(context.inventory, cert.name);
  }
  return issue(job, context);
}

}  // namespace ck::daemon

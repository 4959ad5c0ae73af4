// certkeeper account show|update|rollover|deactivate [--server URL | --issuer NAME] [--ca-file
// FILE] [--timeout DURATION] [--json]

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/deadline_stop.h"
#include "core/keys.h"
#include "daemon/cli/cli.h"
#include "daemon/lifecycle/accounts.h"

namespace ck::daemon {
namespace {

struct AccountOptions {
  std::string server;
  std::string issuer_name;  // --issuer NAME of the configuration
  std::string ca_file;
  std::vector<std::string> contact;
  std::string key = "ecdsa-p256";  // rollover: the new key's type
  std::string timeout = "60s";
  bool json = false;
};

// This inventory's account at the server: its key, record and a client.
struct AccountHandle {
  std::string key_path;
  store::AccountRecord record;
  // The client points at the signer: it lives on the heap so the handle can move.
  std::unique_ptr<acme::AccountSigner> signer;
  std::optional<acme::AcmeClient> client;
};

Result<AccountHandle> open_account(const Session& session, const AccountOptions& o,
                                   std::stop_token stop) {
  AccountHandle h;
  h.key_path = account_key_path(session.layout, o.server).string();
  CK_TRY(record, session.inventory->accounts().find(o.server, h.key_path));
  std::error_code ec;
  if (!record || !std::filesystem::exists(h.key_path, ec)) {
    return fail(Errc::invalid_argument,
                "this inventory has no account at " + o.server + " (issue a certificate first)");
  }
  h.record = *record;
  // The current key even while a rollover's outcome is unknown: `show` is how
  // the operator finds out which key the CA takes.
  CK_TRY(key, load_private_key(h.key_path));
  CK_TRY(signer, acme::AccountSigner::create(std::move(key)));
  h.signer = std::make_unique<acme::AccountSigner>(std::move(signer));
  HttpOptions http;
  http.ca_file = o.ca_file;
  CK_TRY(client, acme::AcmeClient::create(o.server, http, *h.signer));
  h.client.emplace(std::move(client));
  h.client->set_account_url(h.record.account_url);
  h.client->set_stop_token(std::move(stop));
  return h;
}

Status record_account(Session& session, AccountHandle& h, const acme::Account& account,
                      const std::string& event, const std::string& message) {
  h.record.status = account.status.empty() ? h.record.status : account.status;
  h.record.contacts = account.contact;
  return session.inventory->transaction([&]() -> Status {
    CK_TRY_STATUS(session.inventory->accounts().upsert(h.record));
    CK_TRY_STATUS(session.inventory->events().append({0, 0, event, "", message, ""}));
    return {};
  });
}

// §7.3.5. The new key is written beside the old one first; only when the CA
// has accepted it does it take the old one's place, and the old key is kept.
// When the CA's answer is lost (a timeout, a cut connection), it may have
// switched: the new key stays beside the old one.
Status rollover(Session& session, AccountHandle& h, const AccountOptions& o, std::int64_t now) {
  CK_TRY(type, parse_key_type(o.key));
  CK_TRY(key, generate_key(type));
  CK_TRY(pem, private_key_to_pem(*key));
  CK_TRY(new_signer, acme::AccountSigner::create(std::move(key)));
  const std::filesystem::path current = h.key_path;
  const std::filesystem::path pending = pending_account_key_path(h.key_path);
  CK_TRY_STATUS(write_file_atomic(pending, pem, WriteOptions{0600, std::nullopt, false}));
  if (auto changed = h.client->change_key(new_signer); !changed) {
    if (!changed.error().acme_problem.empty()) {
      std::filesystem::remove(pending);  // the CA refused it: this key was never used
    }
    return changed;
  }
  const std::filesystem::path retired =
      h.key_path + "." + store::version_label(now, "rolled") + ".old";
  std::error_code ec;
  std::filesystem::rename(current, retired, ec);
  if (!ec) {
    std::filesystem::rename(pending, current, ec);
  }
  if (ec) {
    return fail(Errc::io, "the CA took the new key, but moving it into place failed: " +
                              ec.message() + "; the new key is " + pending.string());
  }
  CK_TRY_STATUS(sync_directory(current.parent_path()));
  CK_TRY_STATUS(
      session.inventory->events().append({0, 0, "account_key_rolled", "",
                                          "account " + h.record.account_url + " now uses a new " +
                                              o.key + " key; the old one is " + retired.string(),
                                          ""}));
  return {};
}

void print_account(const AccountHandle& h, const acme::Account& a, bool json) {
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"url", a.url},
                                      {"status", a.status},
                                      {"contact", a.contact},
                                      {"key_path", h.key_path},
                                      {"key_type", h.signer->algorithm()}}
                           .dump(2));
    return;
  }
  std::string contacts;
  for (const auto& c : a.contact) {
    contacts += (contacts.empty() ? "" : ", ") + c;
  }
  fmt::print("account:  {}\nstatus:   {}\ncontact:  {}\nkey:      {} ({})\n", a.url, a.status,
             contacts.empty() ? "-" : contacts, h.key_path, h.signer->algorithm());
}

struct Acted {
  AccountHandle handle;
  acme::Account account;  // as the CA has it afterwards
};

// The action at the CA, every request stopped at `stop`; what changed recorded.
Result<Acted> act(Session& session, const AccountOptions& o, const std::string& action,
                  std::int64_t now, std::stop_token stop) {
  CK_TRY(h, open_account(session, o, stop));
  Result<acme::Account> account = std::unexpected(Error{});
  if (action == "show") {
    account = h.client->get_account();
  } else if (action == "update") {
    account = h.client->update_contacts(o.contact);
  } else if (action == "deactivate") {
    account = h.client->deactivate_account();
  } else {  // rollover
    CK_TRY_STATUS(rollover(session, h, o, now));
    CK_TRY(reopened, open_account(session, o, stop));  // prove the new key works
    h = std::move(reopened);
    account = h.client->get_account();
  }
  if (!account) {
    return std::unexpected(account.error());
  }
  if (action != "show" && action != "rollover") {
    CK_TRY_STATUS(record_account(session, h, *account, "account_" + action + "d",
                                 action + " " + account->url));
  }
  return Acted{std::move(h), std::move(*account)};
}

int run(const CliContext& context, const AccountOptions& given, const std::string& action) {
  auto timeout = parse_timeout(given.timeout, "--timeout");
  if (!timeout) {
    return report_failure(timeout.error());
  }
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  auto chosen = choose_issuer(*session, given.server, given.issuer_name, "");
  if (!chosen) {
    return report_failure(chosen.error());
  }
  AccountOptions o = given;
  o.server = chosen->directory;
  o.ca_file = o.ca_file.empty() ? chosen->ca_file : o.ca_file;
  // The new key of a rollover whose answer was lost may be the account's now:
  // `show` tells (with the current key), no new rollover may replace it.
  const std::filesystem::path key_path = account_key_path(session->layout, o.server);
  std::error_code ec;
  if (action == "rollover" && std::filesystem::exists(pending_account_key_path(key_path), ec)) {
    return report_failure(CommandFailure{kExitUsage, interrupted_rollover(key_path)});
  }
  auto acted = within({}, *timeout, "the CA", o.server, [&](std::stop_token stop) {
    return act(*session, o, action, context.clock().unix_seconds(), std::move(stop));
  });
  if (!acted) {
    CommandFailure failure = ca_failure(acted.error(), o.ca_file);
    if (action == "rollover" && acted.error().code != Errc::io &&
        std::filesystem::exists(pending_account_key_path(key_path), ec)) {
      failure.message += "; " + interrupted_rollover(key_path);
    }
    return report_failure(failure);
  }
  print_account(acted->handle, acted->account, o.json);
  return kExitOk;
}

}  // namespace

void add_account_command(CLI::App& app, CliContext& context, int& exit_code) {
  CLI::App* account =
      add_command(app, "account", "Manage this inventory's ACME account at a CA", "");
  account->require_subcommand(1);
  auto o = std::make_shared<AccountOptions>();
  auto common = [&](CLI::App* cmd) {
    cmd->add_option("--server", o->server,
                    "ACME directory URL (default: --issuer, else the configuration's only issuer)");
    cmd->add_option("--issuer", o->issuer_name,
                    "a configured [issuer.NAME]: its directory and ca_file")
        ->excludes("--server");
    cmd->add_option("--ca-file", o->ca_file, "PEM file of CAs to trust for the ACME server's TLS");
    cmd->add_option("--timeout", o->timeout,
                    "bound on the CA's answers, retries included, e.g. 30s")
        ->capture_default_str();
    cmd->add_flag("--json", o->json, "print the account as JSON");
  };
  CLI::App* show = add_command(*account, "show", "Show the account as the CA has it", "");
  CLI::App* update = add_command(*account, "update", "Replace the account's contacts", "");
  update
      ->add_option("--contact", o->contact, "contact URI, e.g. mailto:ops@example.com (repeatable)")
      ->required();
  CLI::App* rollover = add_command(
      *account, "rollover", "Move the account to a new key (RFC 8555 §7.3.5)",
      "Makes a new key, has the CA switch the account to it, then puts it in place of the old "
      "key file; the old key is kept beside it as *.old. The account URL does not change.");
  rollover->add_option("--key", o->key, "type of the new key: ecdsa-p256, ecdsa-p384, rsa2048, ...")
      ->capture_default_str();
  CLI::App* deactivate = add_command(
      *account, "deactivate", "Deactivate the account for good (RFC 8555 §7.3.6)",
      "The CA will refuse every later request from it; certificates already issued stay valid.");
  for (auto [cmd, name] : {std::pair{show, "show"}, std::pair{update, "update"},
                           std::pair{rollover, "rollover"}, std::pair{deactivate, "deactivate"}}) {
    common(cmd);
    const std::string action = name;
    cmd->callback([&context, &exit_code, o, action] { exit_code = run(context, *o, action); });
  }
}

}  // namespace ck::daemon

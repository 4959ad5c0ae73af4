// certkeeper revoke NAME|FINGERPRINT --server URL [--reason REASON] [--with-certificate-key]

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "daemon/cli/cli.h"
#include "daemon/lifecycle/accounts.h"
#include "daemon/lifecycle/issue.h"

namespace ck::daemon {
namespace {

struct RevokeOptions {
  std::string query;
  std::string server;
  std::string ca_file;
  std::string reason = "unspecified";
  bool with_certificate_key = false;
  bool json = false;
};

// The RFC 5280 §5.3.1 reasons an ACME CA accepts (RFC 8555 §7.6).
std::optional<int> reason_code(const std::string& name) {
  static const std::map<std::string, int> kReasons{{"unspecified", 0},
                                                   {"keyCompromise", 1},
                                                   {"affiliationChanged", 3},
                                                   {"superseded", 4},
                                                   {"cessationOfOperation", 5}};
  auto it = kReasons.find(name);
  return it == kReasons.end() ? std::nullopt : std::optional(it->second);
}

// The signer for the request: the account of this inventory at `server`, or
// the certificate's own key.
Result<acme::AccountSigner> revocation_signer(const Session& session, const RevokeOptions& o,
                                              const store::CertificateRecord& cert) {
  if (o.with_certificate_key) {
    if (cert.key_path.empty()) {
      return fail(Errc::invalid_argument, "no private key is known for this certificate",
                  cert.name);
    }
    CK_TRY(key, load_private_key(cert.key_path));
    return acme::AccountSigner::create(std::move(key));
  }
  const auto path = account_key_path(session.layout, o.server);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(Errc::invalid_argument,
                "this inventory has no account at " + o.server +
                    "; revoke with --with-certificate-key, or from the inventory that issued it");
  }
  CK_TRY(key, load_private_key(path));
  return acme::AccountSigner::create(std::move(key));
}

// Without --server: the CA that issued the certificate, as the inventory
// recorded it, trusted through its configured ca_file when --ca-file is not given.
std::expected<RevokeOptions, CommandFailure> with_issuing_ca(const Session& session,
                                                             RevokeOptions o,
                                                             const store::CertificateRecord& cert) {
  if (o.server.empty()) {
    o.server = issuing_directory(*session.inventory, cert.name);
    if (o.server.empty()) {
      return std::unexpected(
          CommandFailure{kExitUsage, "the inventory does not say which CA issued " + cert.name +
                                         " (imported?): name it with --server URL"});
    }
  }
  if (o.ca_file.empty()) {
    o.ca_file = ca_file_for(session.config, o.server);
  }
  return o;
}

int run_revoke(const CliContext& context, const RevokeOptions& given) {
  RevokeOptions o = given;
  auto reason = reason_code(o.reason);
  if (!reason) {
    return report_failure(CommandFailure{
        kExitUsage, "--reason " + o.reason +
                        ": use unspecified, keyCompromise, affiliationChanged, superseded or "
                        "cessationOfOperation"});
  }
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  auto found = find_certificates(*session->inventory, o.query);
  if (!found) {
    return report_failure(found.error());
  }
  const store::CertificateRecord& cert = found->front();
  auto failure = [](const Error& e) { return report_failure(failure_from(e)); };
  auto resolved = with_issuing_ca(*session, o, cert);
  if (!resolved) {
    return report_failure(resolved.error());
  }
  o = std::move(*resolved);
  auto signer = revocation_signer(*session, o, cert);
  if (!signer) {
    return failure(signer.error());
  }
  HttpOptions http;
  http.ca_file = o.ca_file;
  auto client = acme::AcmeClient::create(o.server, http, *signer);
  if (!client) {
    return failure(client.error());
  }
  if (!o.with_certificate_key) {
    auto account = session->inventory->accounts().find(
        o.server, account_key_path(session->layout, o.server).string());
    if (!account || !*account || (*account)->account_url.empty()) {
      return failure(Error{Errc::invalid_argument, "no registered account at " + o.server, ""});
    }
    client->set_account_url((*account)->account_url);
  }
  if (auto revoked = client->revoke(cert.der, *reason, o.with_certificate_key ? &*signer : nullptr);
      !revoked) {
    return failure(revoked.error());
  }
  auto recorded = session->inventory->transaction([&]() -> Status {
    CK_TRY_STATUS(
        session->inventory->certificates().set_status(cert.id, store::CertificateStatus::revoked));
    CK_TRY_STATUS(session->inventory->events().append(
        {0, 0, "revoked", cert.name, "revoked " + cert.sha256.substr(0, 16) + " (" + o.reason + ")",
         ""}));
    return {};
  });
  if (!recorded) {
    return failure(recorded.error());
  }
  if (o.json) {
    fmt::print("{}\n", nlohmann::json{{"name", cert.name},
                                      {"sha256", cert.sha256},
                                      {"serial", cert.serial},
                                      {"reason", o.reason}}
                           .dump(2));
  } else {
    fmt::print("revoked {} ({}, serial {}): {}\n", cert.name, cert.sha256.substr(0, 16),
               cert.serial, o.reason);
  }
  return kExitOk;
}

}  // namespace

void add_revoke_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<RevokeOptions>();
  CLI::App* cmd = add_command(
      app, "revoke", "Revoke a certificate at its ACME CA",
      "Revokes the current certificate of NAME (or the one with that fingerprint) at the CA "
      "that issued it, as the inventory recorded (or the one --server names), signed by this "
      "inventory's account there, or with "
      "--with-certificate-key by the certificate's own key (for a certificate whose account "
      "is lost). The inventory marks it revoked.");
  cmd->add_option("certificate", o->query, "NAME or FINGERPRINT")->required();
  cmd->add_option("--server", o->server,
                  "ACME directory URL of the issuing CA (default: the one that issued it)");
  cmd->add_option("--ca-file", o->ca_file, "PEM file of CAs to trust for the ACME server's TLS");
  cmd->add_option("--reason", o->reason,
                  "unspecified, keyCompromise, affiliationChanged, superseded or "
                  "cessationOfOperation")
      ->capture_default_str();
  cmd->add_flag("--with-certificate-key", o->with_certificate_key,
                "sign with the certificate's key instead of the account key");
  cmd->add_flag("--json", o->json, "print the result as JSON");
  cmd->callback([&context, &exit_code, o] { exit_code = run_revoke(context, *o); });
}

}  // namespace ck::daemon

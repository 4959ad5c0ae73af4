#include "daemon/lifecycle/revoke.h"

#include <array>
#include <filesystem>
#include <utility>

#include "acme/client.h"
#include "core/deadline_stop.h"
#include "core/keys.h"
#include "daemon/lifecycle/accounts.h"
#include "daemon/lifecycle/inventory_view.h"
#include "daemon/lifecycle/issue.h"

namespace ck::daemon {
namespace {

// The signer of the request: this inventory's account at `server`, or the
// certificate's own key.
Result<acme::AccountSigner> revocation_signer(const store::StateLayout& layout,
                                              const std::string& server, bool with_certificate_key,
                                              const store::CertificateRecord& cert) {
  if (with_certificate_key) {
    if (cert.key_path.empty()) {
      return fail(Errc::invalid_argument, "no private key is known for this certificate",
                  cert.name);
    }
    CK_TRY(key, load_private_key(cert.key_path));
    return acme::AccountSigner::create(std::move(key));
  }
  const auto path = account_key_path(layout, server);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(Errc::invalid_argument,
                "this inventory has no account at " + server +
                    "; revoke with --with-certificate-key, or from the inventory that issued it");
  }
  CK_TRY(key, load_private_key(path));
  return acme::AccountSigner::create(std::move(key));
}

}  // namespace

nlohmann::json revoked_json(const store::CertificateRecord& cert, const std::string& reason) {
  return {
      {"name", cert.name}, {"sha256", cert.sha256}, {"serial", cert.serial}, {"reason", reason}};
}

std::optional<int> revocation_reason(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, int>, 5> kReasons{
      {{"unspecified", 0},
       {"keyCompromise", 1},
       {"affiliationChanged", 3},
       {"superseded", 4},
       {"cessationOfOperation", 5}}};
  for (const auto& [reason, code] : kReasons) {
    if (reason == name) {
      return code;
    }
  }
  return std::nullopt;
}

Result<store::CertificateRecord> revoke_certificate(const Config& config,
                                                    const store::StateLayout& layout,
                                                    store::Inventory& inventory,
                                                    const RevokeRequest& request,
                                                    std::stop_token stop) {
  const auto reason = revocation_reason(request.reason);
  if (!reason) {
    return fail(Errc::invalid_argument,
                "reason " + request.reason + ": use " + std::string(kRevocationReasons));
  }
  CK_TRY(found, find_versions(inventory, request.certificate));
  const store::CertificateRecord& cert = found.front();
  // Without a server: the CA that issued it, as the inventory recorded it.
  const std::string server =
      request.server.empty() ? issuing_directory(inventory, cert.name) : request.server;
  if (server.empty()) {
    return fail(Errc::invalid_argument, "the inventory does not say which CA issued " + cert.name +
                                            " (imported?): name it with --server URL");
  }
  CK_TRY(signer, revocation_signer(layout, server, request.with_certificate_key, cert));
  HttpOptions http;
  http.ca_file = request.ca_file.empty() ? ca_file_for(config, server) : request.ca_file;
  CK_TRY(client, acme::AcmeClient::create(server, http, signer));
  if (!request.with_certificate_key) {
    auto account = inventory.accounts().find(server, account_key_path(layout, server).string());
    if (!account || !*account || (*account)->account_url.empty()) {
      return fail(Errc::invalid_argument, "no registered account at " + server);
    }
    client.set_account_url((*account)->account_url);
  }
  CK_TRY_STATUS(within(std::move(stop), request.timeout, "the CA", server, [&](std::stop_token s) {
    client.set_stop_token(std::move(s));
    return client.revoke(cert.der, *reason, request.with_certificate_key ? &signer : nullptr);
  }));
  CK_TRY_STATUS(inventory.transaction([&]() -> Status {
    CK_TRY_STATUS(inventory.certificates().set_status(cert.id, store::CertificateStatus::revoked));
    CK_TRY_STATUS(inventory.events().append(
        {0, 0, "revoked", cert.name,
         "revoked " + cert.sha256.substr(0, 16) + " (" + request.reason + ")", ""}));
    return {};
  }));
  store::CertificateRecord revoked = cert;
  revoked.status = store::CertificateStatus::revoked;
  return revoked;
}

}  // namespace ck::daemon

#include "daemon/acme_setup.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/keys.h"
#include "core/pem.h"
#include "core/x509_info.h"
#include "daemon/inventory_view.h"

namespace ck::daemon {

std::filesystem::path account_key_path(const store::StateLayout& layout,
                                       const std::string& directory_url) {
  const std::string id = ossl::hex(ossl::sha256(directory_url)).substr(0, 16);
  return layout.keys_dir() / ("account-" + id + ".key");
}

Result<ossl::PKey> load_private_key(const std::filesystem::path& path) {
  CK_TRY(pem, read_file(path, 1u << 20));
  auto bundle = parse_pem_bundle(pem);
  if (!bundle || bundle->keys.size() != 1) {
    return fail(Errc::parse, "not a single private key", path.string());
  }
  return std::move(bundle->keys.front());
}

Result<acme::AccountSigner> load_or_create_account_key(const store::StateLayout& layout,
                                                       const std::string& directory_url,
                                                       std::string& key_path) {
  CK_TRY_STATUS(layout.prepare());
  const auto path = account_key_path(layout, directory_url);
  key_path = path.string();
  std::error_code ec;
  if (std::filesystem::exists(path.string() + ".new", ec)) {
    return fail(Errc::invalid_argument,
                "an account key rollover was interrupted: " + path.string() +
                    ".new holds the new key. If `certkeeper account show` fails with the current "
                    "key, the CA took the new one: move the .new file over the key; otherwise "
                    "remove it");
  }
  if (std::filesystem::exists(path, ec)) {
    CK_TRY(key, load_private_key(path));
    return acme::AccountSigner::create(std::move(key));
  }
  CK_TRY(key, generate_key(KeyType::ecdsa_p256));
  CK_TRY(pem, private_key_to_pem(*key));
  CK_TRY_STATUS(write_file_atomic(path, pem, WriteOptions{0600, std::nullopt, false}));
  return acme::AccountSigner::create(std::move(key));
}

Result<std::int64_t> ensure_account(store::Inventory& inventory, acme::AcmeClient& client,
                                    const std::string& directory_url, const std::string& key_path,
                                    const std::string& key_type, const AccountSettings& settings) {
  CK_TRY(known, inventory.accounts().find(directory_url, key_path));
  if (known && known->status == "deactivated") {
    return fail(Errc::invalid_argument, "the account " + known->account_url +
                                            " is deactivated; a CA never reactivates one");
  }
  if (known && !known->account_url.empty() && known->status == "valid") {
    client.set_account_url(known->account_url);
    return known->id;
  }
  CK_TRY(account, client.new_account(settings.contact, true, false, settings.eab));
  store::AccountRecord record{0,
                              directory_url,
                              key_path,
                              key_type,
                              account.url,
                              account.contact,
                              account.status.empty() ? "valid" : account.status,
                              0,
                              0};
  CK_TRY(written, inventory.accounts().upsert(record));
  CK_TRY_STATUS(inventory.events().append(
      {0, 0, "account_registered", "", "registered " + account.url + " at " + directory_url, ""}));
  return written.id;
}

void StoreOrderObserver::order_changed(const acme::Order& order) {
  std::vector<std::string> identifiers;
  for (const auto& id : order.identifiers) {
    identifiers.push_back(id.type + ":" + id.value);
  }
  std::string error_json;
  if (order.error) {
    error_json =
        nlohmann::json{{"type", order.error->type}, {"detail", order.error->detail}}.dump();
  }
  store::OrderRecord record{0,
                            account_id_,
                            name_,
                            order.url,
                            order.status,
                            identifiers,
                            order.finalize,
                            order.certificate,
                            key_path_,
                            profile_,
                            "",
                            error_json,
                            0,
                            0};
  if (auto written = inventory_.orders().upsert(record); !written && !error_) {
    error_ = written.error();
  }
  // Test hook: die at this order status, as a crash would (no clean-up at all),
  // so tests can prove an interrupted order is resumed.
  if (const char* crash = std::getenv("CERTKEEPER_CRASH_AT_ORDER_STATUS_ForTest");
      crash && order.status == crash) {
    std::_Exit(70);
  }
}

Result<InstalledCertificate> install_issued(store::Inventory& inventory,
                                            const store::StateLayout& layout,
                                            const std::string& name, const std::string& chain_pem,
                                            const std::string& key_path,
                                            const std::string& order_url) {
  auto bundle = parse_pem_bundle(chain_pem);
  if (!bundle || bundle->certificates.empty()) {
    return fail(Errc::protocol, "the CA sent no parseable certificate chain", order_url);
  }
  const X509& leaf = *bundle->certificates.front();
  CK_TRY(info, describe_certificate(leaf));
  CK_TRY(leaf_pem, certificate_to_pem(leaf));
  std::string rest;
  for (std::size_t i = 1; i < bundle->certificates.size(); ++i) {
    CK_TRY(pem, certificate_to_pem(*bundle->certificates[i]));
    rest += pem;
  }
  CK_TRY(der, ossl::x509_to_der(leaf));
  const std::string version = store::version_label(info.not_before, info.sha256);
  CK_TRY(dir, layout.install_certificate(name, version, leaf_pem, rest));

  store::CertificateRecord record = record_from(info, std::move(der), "acme");
  record.name = name;
  record.source_path = dir.string();
  record.chain_pem = rest;
  CK_TRY_STATUS(inventory.transaction([&]() -> Status {
    CK_TRY(key, inventory.keys().upsert({0, key_path, info.key_type, info.public_key_sha256, 0}));
    record.key_id = key.id;
    CK_TRY_STATUS(inventory.certificates().upsert(record));
    CK_TRY_STATUS(inventory.events().append(
        {0, 0, "issued", name, "issued " + info.sha256.substr(0, 16) + " by order " + order_url,
         ""}));
    return {};
  }));
  return InstalledCertificate{name, info.sha256, info.not_after, dir, record.sans};
}

}  // namespace ck::daemon

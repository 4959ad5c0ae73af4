#include "daemon/lifecycle/accounts.h"

#include "core/atomic_file.h"
#include "core/keys.h"
#include "core/pem.h"

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

std::filesystem::path pending_account_key_path(const std::filesystem::path& key_path) {
  return key_path.string() + ".new";
}

std::string interrupted_rollover(const std::filesystem::path& key_path) {
  return "an account key rollover did not finish: " + pending_account_key_path(key_path).string() +
         " holds the new key. If `certkeeper account show` fails with the current key, the CA "
         "took the new one: move the .new file over the key; otherwise remove it";
}

Result<acme::AccountSigner> load_or_create_account_key(const store::StateLayout& layout,
                                                       const std::string& directory_url,
                                                       std::string& key_path) {
  CK_TRY_STATUS(layout.prepare());
  const auto path = account_key_path(layout, directory_url);
  key_path = path.string();
  std::error_code ec;
  if (std::filesystem::exists(pending_account_key_path(path), ec)) {
    return fail(Errc::invalid_argument, interrupted_rollover(path));
  }
  if (std::filesystem::exists(path, ec)) {
    CK_TRY(key, load_private_key(path));
    return acme::AccountSigner::create(std::move(key));
  }
  CK_TRY(key, generate_key(KeyType::ecdsa_p256));
  CK_TRY(pem, private_key_to_pem(*key));
  // Never replacing a key: when another job or process made one first (a
  // service with many certificates, on its first start), that one is the account's.
  if (auto written = write_file_atomic(path, pem, WriteOptions{0600, std::nullopt, false});
      !written) {
    if (!std::filesystem::exists(path, ec)) {
      return std::unexpected(written.error());
    }
    CK_TRY(made_first, load_private_key(path));
    return acme::AccountSigner::create(std::move(made_first));
  }
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
  // In one write transaction: jobs registering the same key at once (a CA
  // answers each with the same account) record one row, not a conflict.
  std::int64_t id = 0;
  CK_TRY_STATUS(inventory.transaction([&]() -> Status {
    CK_TRY(written, inventory.accounts().upsert(record));
    id = written.id;
    if (written.inserted) {
      CK_TRY_STATUS(
          inventory.events().append({0, 0, "account_registered", "",
                                     "registered " + account.url + " at " + directory_url, ""}));
    }
    return {};
  }));
  return id;
}

Status forget_account(store::Inventory& inventory, const std::string& directory_url,
                      const std::string& key_path) {
  CK_TRY(known, inventory.accounts().find(directory_url, key_path));
  if (!known) {
    return {};
  }
  store::AccountRecord record = *known;
  record.status = "unknown_to_ca";
  CK_TRY_STATUS(inventory.accounts().upsert(record));
  CK_TRY_STATUS(inventory.events().append({0, 0, "account_unknown", "",
                                           "the CA at " + directory_url + " no longer knows " +
                                               known->account_url + "; the key is registered again",
                                           ""}));
  return {};
}

}  // namespace ck::daemon

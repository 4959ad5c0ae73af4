#pragma once
// The daemon's side of ACME: where account keys live, how accounts, orders and
// issued certificates are recorded in the inventory. acme/ itself knows
// nothing of the store; these adapters connect the two.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/client.h"
#include "acme/issuance.h"
#include "store/inventory.h"
#include "store/layout.h"

namespace ck::daemon {

// Where the account key for a directory lives:
// STATE/keys/account-<first 16 hex digits of sha256(url)>.key.
[[nodiscard]] std::filesystem::path account_key_path(const store::StateLayout& layout,
                                                     const std::string& directory_url);

// Reads one private key file (an account key, or a certificate's key).
[[nodiscard]] Result<ossl::PKey> load_private_key(const std::filesystem::path& path);

// The account key for a directory, made (ECDSA P-256, mode 0600) the first
// time and reused after.
[[nodiscard]] Result<acme::AccountSigner> load_or_create_account_key(
    const store::StateLayout& layout, const std::string& directory_url, std::string& key_path);

struct AccountSettings {
  std::vector<std::string> contact;
  std::optional<acme::ExternalAccountKey> eab;
};

// Makes `client` act as the account of this key at this CA: the URL from the
// inventory when known, else registered now (agreeing to the terms) and
// recorded. Returns the inventory id of the account.
[[nodiscard]] Result<std::int64_t> ensure_account(
    store::Inventory& inventory, acme::AcmeClient& client, const std::string& directory_url,
    const std::string& key_path, const std::string& key_type, const AccountSettings& settings);

// Records every state of an order, so an interrupted order can be found again.
class StoreOrderObserver final : public acme::OrderObserver {
 public:
  StoreOrderObserver(store::Inventory& inventory, std::int64_t account_id, std::string name,
                     std::string key_path, std::string profile)
      : inventory_(inventory),
        account_id_(account_id),
        name_(std::move(name)),
        key_path_(std::move(key_path)),
        profile_(std::move(profile)) {}
  void order_changed(const acme::Order& order) override;
  // The first store failure, if any (an observer cannot stop the issuance).
  [[nodiscard]] const std::optional<Error>& error() const { return error_; }

 private:
  store::Inventory& inventory_;
  std::int64_t account_id_;
  std::string name_;
  std::string key_path_;
  std::string profile_;
  std::optional<Error> error_;
};

struct InstalledCertificate {
  std::string name;
  std::string sha256;
  std::int64_t not_after = 0;
  std::filesystem::path version_dir;
  std::vector<std::string> names;
};

// Writes the issued chain under certs/NAME/VERSION/, points current at it and
// records the certificate (source "acme", with its key) and an event.
[[nodiscard]] Result<InstalledCertificate> install_issued(
    store::Inventory& inventory, const store::StateLayout& layout, const std::string& name,
    const std::string& chain_pem, const std::string& key_path, const std::string& order_url);

}  // namespace ck::daemon

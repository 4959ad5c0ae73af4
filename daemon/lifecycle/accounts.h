#pragma once
// ACME accounts on the daemon's side: where account keys live (0600 files
// under STATE/keys/) and how accounts are registered once and recorded in the
// inventory. acme/ itself knows nothing of the store.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/client.h"
#include "store/inventory.h"
#include "store/layout.h"

namespace ck::daemon {

// Where the account key for a directory lives:
// STATE/keys/account-<first 16 hex digits of sha256(url)>.key.
[[nodiscard]] std::filesystem::path account_key_path(const store::StateLayout& layout,
                                                     const std::string& directory_url);

// Where a key rollover keeps the new key until the CA has taken it; a file
// there means a rollover whose outcome is unknown (interrupted, or its answer
// lost): the CA may use either key.
[[nodiscard]] std::filesystem::path pending_account_key_path(const std::filesystem::path& key_path);
// What to tell the operator about such a file.
[[nodiscard]] std::string interrupted_rollover(const std::filesystem::path& key_path);

// Reads one private key file (an account key, or a certificate's key).
[[nodiscard]] Result<ossl::PKey> load_private_key(const std::filesystem::path& path);

// The account key for a directory, made (ECDSA P-256, mode 0600) the first
// time and reused after; refused while a rollover's outcome is unknown.
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

// The CA no longer knows the account (it answered accountDoesNotExist: its
// data was reset, or the account removed): recorded so, and the next
// ensure_account registers the same key again.
[[nodiscard]] Status forget_account(store::Inventory& inventory, const std::string& directory_url,
                                    const std::string& key_path);

}  // namespace ck::daemon

#pragma once
// The files under state_dir:
//
//   inventory.db                       the SQLite inventory (+ -wal, -shm)
//   keys/NAME-KEYLABEL.key             private keys, mode 0600, never overwritten
//   certs/NAME/VERSION/cert.pem        every issued version is kept
//   certs/NAME/VERSION/chain.pem
//   certs/NAME/VERSION/fullchain.pem
//   certs/NAME/VERSION/privkey.pem     -> ../../../keys/NAME-KEYLABEL.key, its key
//   certs/NAME/current -> VERSION      stable paths for servers: current/fullchain.pem
//                                      with current/privkey.pem, always a matching pair
//   crls/SHA256-OF-URL.crl             the last CRL fetched from each distribution point
//   locks/NAME.lock                    held while NAME is issued or renewed
//
// VERSION is "<not_before as YYYYMMDDTHHMMSSZ>-<first 8 hex of the sha256>", so
// versions sort by age; KEYLABEL is the same of the key's creation time and PEM
// (a reused key serves several versions). The current link is switched atomically (rename of a
// new symlink), after the version's files are fsynced.

#include <filesystem>
#include <string>
#include <string_view>

#include "core/atomic_file.h"
#include "core/error.h"

namespace ck::store {

// Certificate names become directory names: 1-64 characters of [A-Za-z0-9._-],
// starting with a letter or digit.
[[nodiscard]] Status validate_certificate_name(std::string_view name);

[[nodiscard]] std::string version_label(std::int64_t not_before, std::string_view sha256);

class StateLayout {
 public:
  // A relative root is made absolute (against the working directory), so that
  // every path kept in the inventory resolves from anywhere.
  explicit StateLayout(const std::filesystem::path& root);

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  [[nodiscard]] std::filesystem::path database() const { return root_ / "inventory.db"; }
  [[nodiscard]] std::filesystem::path keys_dir() const { return root_ / "keys"; }
  [[nodiscard]] std::filesystem::path certs_dir() const { return root_ / "certs"; }
  [[nodiscard]] std::filesystem::path crls_dir() const { return root_ / "crls"; }
  [[nodiscard]] std::filesystem::path locks_dir() const { return root_ / "locks"; }
  [[nodiscard]] std::filesystem::path name_dir(std::string_view name) const {
    return certs_dir() / name;
  }
  [[nodiscard]] std::filesystem::path current(std::string_view name) const {
    return name_dir(name) / "current";
  }

  // Creates the directories (root 0750, keys/ 0700, certs/ 0755) if missing,
  // after checking that the root is this process's to write: not on a
  // read-only file system, and owned by its user. Files written into another
  // user's directory (a root `certkeeper import` into the service's) would be
  // unreadable to that user's service, and so would SQLite's -wal and -shm.
  [[nodiscard]] Status prepare() const;

  // Writes cert.pem, chain.pem and fullchain.pem of a new version, links
  // privkey.pem to its `key` (none when empty: the user's own CSR), and then
  // points current at it. Returns the version directory. On failure current
  // still points at the previous version.
  [[nodiscard]] Result<std::filesystem::path> install_certificate(
      std::string_view name, std::string_view version, std::string_view cert_pem,
      std::string_view chain_pem, const std::filesystem::path& key) const;

  // Held while a certificate is issued or renewed (locks/NAME.lock), so that
  // two processes never order for one name at once: the second is told who
  // holds it and turned away, not made to wait.
  [[nodiscard]] Result<FileLock> lock_certificate(std::string_view name) const;

  // Writes a new private key file (mode 0600) for `name`; never replaces an
  // existing file. Returns its path.
  [[nodiscard]] Result<std::filesystem::path> write_private_key(std::string_view name,
                                                                std::string_view version,
                                                                std::string_view key_pem) const;

 private:
  std::filesystem::path root_;
};

}  // namespace ck::store

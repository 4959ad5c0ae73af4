#pragma once
// An issued certificate installed: its chain written under
// STATE/certs/NAME/VERSION/ (current/ pointed at it) and recorded in the
// inventory with its key and an event, in one transaction.

#include <filesystem>
#include <string>
#include <vector>

#include "store/inventory.h"
#include "store/layout.h"

namespace ck::daemon {

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

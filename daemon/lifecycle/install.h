#pragma once
// An issued certificate installed: its chain written under
// STATE/certs/NAME/VERSION/ (current/ pointed at it) and recorded in the
// inventory with its key and an event, in one transaction.

#include <openssl/x509.h>

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

// What was ordered: the CSR's public key, and the identifiers ("DNS:name",
// "IP:address") the certificate must name, no more and no fewer.
struct OrderedCertificate {
  std::string csr_der;
  std::vector<std::string> names;
};

// Whether the CA's leaf is what was ordered: the CSR's key, and exactly the
// ordered names (DNS without case, IP addresses as bytes). A CA that sends
// another key's or other names' certificate gets a protocol error: nothing
// is installed.
[[nodiscard]] Status check_issued(const X509& leaf, const OrderedCertificate& ordered);

// Checks the leaf (check_issued), writes the chain under certs/NAME/VERSION/,
// points current at it and records the certificate (source "acme", with its
// key) and an event.
[[nodiscard]] Result<InstalledCertificate> install_issued(
    store::Inventory& inventory, const store::StateLayout& layout, const std::string& name,
    const std::string& chain_pem, const std::string& key_path, const std::string& order_url,
    const OrderedCertificate& ordered);

}  // namespace ck::daemon

#pragma once
// The CRL cache over the state directory and the inventory: fetched CRLs as
// STATE/crls/<sha256 of URL>.crl, written atomically, their validators (ETag,
// Last-Modified) and dates in the inventory's crls table, so that the next
// fetch is a conditional GET and an unreachable CRL's kept copy serves while
// it is current. Used by `verify` and by the service's status checks.

#include <string>
#include <vector>

#include "core/clock.h"
#include "store/inventory.h"
#include "store/layout.h"
#include "validator/revocation.h"

namespace ck::daemon {

class StoreCrlCache final : public validator::CrlCache {
 public:
  StoreCrlCache(store::Inventory& inventory, store::StateLayout layout, const Clock& clock)
      : inventory_(inventory), layout_(std::move(layout)), clock_(clock) {}
  [[nodiscard]] std::optional<Entry> load(const std::string& url) override;
  void save(const std::string& url, const Entry& entry, const validator::Crl& crl) override;
  // What could not be kept (a full disk, say): the caller's to tell.
  [[nodiscard]] const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  store::Inventory& inventory_;
  store::StateLayout layout_;
  const Clock& clock_;
  std::vector<std::string> warnings_;
};

}  // namespace ck::daemon

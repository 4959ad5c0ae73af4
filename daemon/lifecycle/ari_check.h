#pragma once
// The check-ARI job (RFC 9773): ask the CA when to renew a certificate, keep
// the answer in the inventory. Asked again as the CA's Retry-After says, and
// at least twice a day (acme::next_renewal_info_check).

#include <cstdint>
#include <string>

#include "store/inventory.h"

namespace ck::daemon {

struct AriCheck {
  store::RenewalInfoRecord record;
  bool fetched = false;  // false: the stored answer was still fresh
};

// Asks `directory` (trusting `ca_file` for its TLS, "" = the system's) for
// `cert`'s renewal window unless the stored answer is still fresh or `force`;
// keeps an earlier chosen time while it still lies in the window (`random`
// chooses a new one otherwise); records the answer, and an event when the
// window moved, in one transaction.
[[nodiscard]] Result<AriCheck> check_ari(store::Inventory& inventory,
                                         const store::CertificateRecord& cert,
                                         const std::string& directory, const std::string& ca_file,
                                         std::int64_t now, bool force, std::uint64_t random);

}  // namespace ck::daemon

#pragma once
// The check-ARI job (RFC 9773): ask the CA when to renew a certificate, keep
// the answer in the inventory. Asked again as the CA's Retry-After says, and
// at least twice a day (acme::next_renewal_info_check).

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>

#include "acme/client.h"
#include "store/inventory.h"

namespace ck::daemon {

// The CA to ask and how long it may take.
struct AriSource {
  std::string directory;
  std::string ca_file;               // trust for its TLS; "" = the system's
  std::chrono::seconds timeout{60};  // for the answer, retries included
  std::stop_token stop;              // a shutdown cancels the question
  // What the service's clients of this CA share; none: the question's own.
  std::shared_ptr<acme::CaSession> session;
};

struct AriCheck {
  store::RenewalInfoRecord record;
  bool fetched = false;  // false: the stored answer was still fresh
};

// Asks the CA for `cert`'s renewal window unless the stored answer is still
// fresh or `force`; keeps an earlier chosen time while it still lies in the
// window (`random` chooses a new one otherwise); records the answer, and an
// event when the window moved, in one transaction. A CA slower than the
// source's timeout is a retryable Errc::timeout.
[[nodiscard]] Result<AriCheck> check_ari(store::Inventory& inventory,
                                         const store::CertificateRecord& cert, const AriSource& ca,
                                         std::int64_t now, bool force, std::uint64_t random);

}  // namespace ck::daemon

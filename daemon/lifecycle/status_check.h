#pragma once
// The status check of a configured certificate's current version, as the
// service runs it: its OCSP staples refreshed at half-life (the `staple` path
// and, beside a HAProxy `combined` PEM, COMBINED.ocsp), and its revocation
// checked, by OCSP when it names a responder, else by its CRL distribution
// points (kept in the state directory, fetched again with a conditional GET).
// A certificate with neither, as Let's Encrypt's short-lived ones, is normal:
// nothing to staple or check, and no warning (an earlier version's staple
// file is removed, so that no server staples it to this one).
//
// Found revoked, the version is marked revoked in the inventory (the renewal
// policy then re-issues it at once) with a `revoked` event.

#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

#include "core/clock.h"
#include "daemon/lifecycle/config.h"
#include "store/inventory.h"
#include "store/layout.h"

namespace ck::daemon {

struct StapleState {
  std::string path;
  // "written", "kept", "no_responder", "removed" (no responder, and an earlier
  // version's staple was there); "" when it failed
  std::string outcome;
  std::string error;             // why the refresh failed (a valid staple may remain)
  std::int64_t this_update = 0;  // of the staple on disk now; 0 when none
  std::int64_t next_update = 0;  // of the staple on disk now; 0 when none or none given
};

struct StatusCheck {
  std::string sha256;  // the version checked
  // "good", "revoked", "unknown", "unavailable" (no answer could be had),
  // "not_applicable" (no OCSP responder, no CRL): RevocationCheck's words.
  std::string revocation = "not_applicable";
  std::string method;  // "ocsp", "crl" or ""
  std::string source;  // the responder or CRL URL
  std::string error;   // why unavailable
  std::vector<StapleState> staples;
  bool newly_revoked = false;  // marked revoked by this check
  // When to check again; 0: never for this version (no staple to keep, no
  // OCSP responder or CRL to ask).
  std::int64_t next_check = 0;
};

// The staple files a certificate's configuration asks for.
[[nodiscard]] std::vector<std::string> staple_paths(const CertificateConfig& cert);

// When to check again, from what this check found: each staple's refresh
// time, the revocation answer's nextUpdate, at least every 12 hours (a CRL
// republished early is seen within that), an hour after a failure, never
// sooner than 5 minutes. Pure.
[[nodiscard]] std::int64_t next_status_check(const StatusCheck& check,
                                             const std::vector<std::int64_t>& staple_refresh_at,
                                             std::int64_t revocation_next_update, std::int64_t now);

// Nothing to check (none issued yet) is a StatusCheck with an empty sha256.
[[nodiscard]] Result<StatusCheck> check_status(const CertificateConfig& cert,
                                               store::Inventory& inventory,
                                               const store::StateLayout& layout, const Clock& clock,
                                               std::stop_token stop);

}  // namespace ck::daemon

#pragma once
// The deploy job: the certificate's current version copied where its
// configuration's deploy says (full chain, certificate, chain, key, or
// HAProxy's combined PEM), with owner, group and mode, then the reload
// command run. Every file is written atomically (temporary file, fsync,
// rename); the key is written before the certificates that need it, and a
// key that does not belong to the certificate is never deployed. Nothing is
// printed: the outcome says what was written and what the reload said.

#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "daemon/lifecycle/config.h"
#include "store/inventory.h"

namespace ck::daemon {

struct DeployOutcome {
  std::string sha256;                // the version deployed
  std::vector<std::string> written;  // the files, in the order written
  bool reloaded = false;             // a reload command ran and exited 0
  std::string reload_output;         // what it printed (bounded)
};

inline constexpr std::chrono::seconds kReloadTimeout{60};

// Deploys `cert`'s current version (nothing to do without a deploy section:
// an empty outcome). Errors: not_found (no current version, or no key known
// for it), key_mismatch, io (a file, an unknown owner or group), and a reload
// that fails (io, with its exit code and output) or hangs (timeout).
[[nodiscard]] Result<DeployOutcome> deploy(
    const CertificateConfig& cert, store::Inventory& inventory,
    std::chrono::milliseconds reload_timeout = kReloadTimeout, std::stop_token stop = {});

// Whether what is deployed is the current version with its own key: the
// certificate in the first of combined, fullchain or cert is the current one,
// and the deployed key (key, or the combined file's) belongs to it. False when
// a file is missing or unreadable (a deploy a crash interrupted); true when
// `cert` has nothing to deploy.
[[nodiscard]] bool deployment_is_current(const CertificateConfig& cert,
                                         store::Inventory& inventory);

}  // namespace ck::daemon

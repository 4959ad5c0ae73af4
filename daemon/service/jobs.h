#pragma once
// The jobs the service runs on its workers: each a lifecycle job (check ARI,
// renew then deploy, deploy again after a crash) over the worker's own
// inventory connection, its outcome told back as a JobOutcome. They never
// print; they log through spdlog.

#include <cstdint>
#include <stop_token>

#include "acme/client.h"
#include "core/clock.h"
#include "daemon/lifecycle/config.h"
#include "daemon/service/job_runner.h"
#include "store/inventory.h"
#include "store/layout.h"

namespace ck::daemon {

// The certificate's CA, as the inventory recorded it, asked about its current
// version, for at most a minute. `sessions`: what the service's clients of a
// CA share (its directory, nonces).
[[nodiscard]] JobOutcome check_ari_job(const CertificateConfig& cert, const Config& config,
                                       store::Inventory& inventory, const Clock& clock,
                                       acme::CaSessions& sessions, std::uint64_t random,
                                       std::stop_token stop);

// Due-ness checked again under the job (another process may have renewed it
// since it was planned; `force` skips that), then renewed and deployed.
[[nodiscard]] JobOutcome renew_job(const CertificateConfig& cert, const Config& config,
                                   const store::StateLayout& layout, store::Inventory& inventory,
                                   const Clock& clock, acme::CaSessions& sessions,
                                   std::uint64_t random, bool force, std::stop_token stop);

// Staples refreshed and revocation checked for the current version.
[[nodiscard]] JobOutcome status_job(const CertificateConfig& cert, const store::StateLayout& layout,
                                    store::Inventory& inventory, const Clock& clock,
                                    std::stop_token stop);

// The configured endpoints probed, each against the current version, with the
// system's trust anchors (or $SSL_CERT_FILE).
[[nodiscard]] JobOutcome probe_job(const CertificateConfig& cert, store::Inventory& inventory,
                                   const Clock& clock);

// What a crash left half-deployed, deployed again.
[[nodiscard]] JobOutcome deploy_job(const CertificateConfig& cert, store::Inventory& inventory,
                                    std::stop_token stop);

}  // namespace ck::daemon

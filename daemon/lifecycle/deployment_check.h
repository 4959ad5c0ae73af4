#pragma once
// What a probe of a deployment means for the inventory: whether the endpoint
// serves the certificate the inventory holds as current for a name (drift),
// and the probe's result kept for status and the service.

#include <optional>
#include <string>

#include "daemon/lifecycle/config.h"
#include "store/inventory.h"
#include "validator/probe/probe.h"

namespace ck::daemon {

struct DriftCheck {
  bool matches = false;
  store::CertificateRecord current;                        // the name's active version
  std::optional<store::CertificateRecord> served_version;  // when the leaf is one of its versions
  std::string message;  // for people: what matches, or what is served instead
};

// The served leaf (its SHA-256) against the inventory's current certificate
// of `name`. Errors: not_found when the name has no current certificate.
[[nodiscard]] Result<DriftCheck> check_drift(store::Inventory& inventory, const std::string& name,
                                             const std::string& served_sha256);

// The finding a drift earns (error "drift"), none when it matches.
[[nodiscard]] std::optional<validator::ProbeFinding> drift_finding(const DriftCheck& drift);

// Keeps one probe's outcome in the inventory's probes table: the report (as
// `result_json`, the caller's rendering) or the error that ended it.
[[nodiscard]] Status record_probe(store::Inventory& inventory, const std::string& target,
                                  const Result<validator::ProbeReport>& report,
                                  const std::string& result_json, std::int64_t now);

// One configured endpoint, probed: reached or not, and whether it serves the
// name's current version.
struct EndpointProbe {
  std::string endpoint;  // as configured, HOST[:PORT]
  std::string error;     // could not connect or complete a handshake; "" when it did
  bool matches = false;  // serves the current version
  std::string served_sha256;
  std::string message;  // the drift check's words, or the error
};

// Probes each of the certificate's `probe` endpoints (SNI: the host, or the
// first configured name for an IP address), checks what each serves against
// the current version, and keeps every probe in the inventory for status.
// Chain findings (an untrusted root, say) stay in the kept report; only
// reaching the endpoint and serving the current version count here.
[[nodiscard]] Result<std::vector<EndpointProbe>> probe_deployment(const CertificateConfig& cert,
                                                                  store::Inventory& inventory,
                                                                  const validator::Prober& prober,
                                                                  std::int64_t now);

}  // namespace ck::daemon

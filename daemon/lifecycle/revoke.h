#pragma once
// Revocation at the CA that issued a certificate (RFC 8555 §7.6), the same for
// `certkeeper revoke` alone and for the service's job: signed by this
// inventory's account at that CA, or by the certificate's own key; the
// inventory then marks the version revoked, with an event.

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "daemon/lifecycle/config.h"
#include "store/inventory.h"
#include "store/layout.h"

namespace ck::daemon {

struct RevokeRequest {
  std::string certificate;  // NAME (its current version) or FINGERPRINT
  std::string server;       // the CA's directory URL; "": the one that issued it
  std::string ca_file;      // trust for the CA's TLS; "": the configuration's for it
  std::string reason = "unspecified";
  bool with_certificate_key = false;  // for a certificate whose account is lost
  std::chrono::seconds timeout{60};   // for the CA's answer, retries included
};

// The RFC 5280 §5.3.1 reason an ACME CA accepts by that name; none for another.
[[nodiscard]] std::optional<int> revocation_reason(std::string_view name);
inline constexpr std::string_view kRevocationReasons =
    "unspecified, keyCompromise, affiliationChanged, superseded or cessationOfOperation";

// The revoked version. Errors: invalid_argument for what the request gets
// wrong (an unknown reason, no CA or account known), not_found for no such
// certificate, timeout when the CA took longer than the request allows (or
// cancelled at `stop`), else the CA's answer.
[[nodiscard]] Result<store::CertificateRecord> revoke_certificate(const Config& config,
                                                                  const store::StateLayout& layout,
                                                                  store::Inventory& inventory,
                                                                  const RevokeRequest& request,
                                                                  std::stop_token stop = {});

// What `revoke` prints with --json and the service answers: name, sha256,
// serial, reason.
[[nodiscard]] nlohmann::json revoked_json(const store::CertificateRecord& cert,
                                          const std::string& reason);

}  // namespace ck::daemon

#pragma once
// ACME Renewal Information (RFC 9773): the CA's suggested renewal window for a
// certificate, and the pure decisions built on it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/openssl.h"

namespace ck::acme {

// §4.1: base64url(AKI keyIdentifier) "." base64url(DER serial content octets).
// Fails for a certificate without an Authority Key Identifier.
[[nodiscard]] Result<std::string> certificate_identifier(const X509& cert);

struct RenewalWindow {
  std::int64_t start = 0;  // Unix seconds
  std::int64_t end = 0;
  std::string explanation_url;
  bool operator==(const RenewalWindow&) const = default;
};

// §4.2: a RenewalInfo object. A window whose end is not after its start is an error.
[[nodiscard]] Result<RenewalWindow> parse_renewal_info(std::string_view json_text);

// §4.2: a time chosen uniformly at random within the part of [start, end)
// still ahead, from `random` (any 64-bit value: tests pass fixed ones); `now`
// when the window has passed. Choosing from what is left (not from the whole
// window, renewing at once when the pick is past) keeps certificates whose
// window opened while the service was down from all renewing the moment it starts.
[[nodiscard]] std::int64_t choose_renewal_time(const RenewalWindow& window, std::int64_t now,
                                               std::uint64_t random);

// Keeps an earlier choice while it still lies in the (same or moved) window;
// chooses again otherwise. Re-rolling at every check would defeat the spread.
[[nodiscard]] std::int64_t keep_or_choose_renewal_time(const RenewalWindow& window,
                                                       std::optional<std::int64_t> previous,
                                                       std::int64_t now, std::uint64_t random);

// When to ask again: after the CA's Retry-After, clamped to [1 minute, 12 hours]
// (at least twice a day, as Let's Encrypt asks);
// 6 hours when it gave none (certkeeper's policy; §4.3 leaves the bounds to clients).
[[nodiscard]] std::int64_t next_renewal_info_check(std::int64_t now,
                                                   std::optional<std::chrono::seconds> retry_after);

}  // namespace ck::acme

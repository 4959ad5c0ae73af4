#pragma once
// When a certificate is due for renewal: a pure, layered decision that says
// which rule decided (STYLE: policy is explained).
//   1. the time chosen in the CA's ARI window (RFC 9773), when one is stored;
//   2. else the configured renew_before ahead of notAfter;
//   3. else when a third of the lifetime is left (a 90-day certificate at 60 days).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ck::daemon {

struct RenewalDecision {
  bool due = false;
  std::int64_t at = 0;  // when it is (or was) due, Unix seconds
  std::string reason;   // which rule decided, for logs and output
};

[[nodiscard]] RenewalDecision renewal_due(std::int64_t not_before, std::int64_t not_after,
                                          std::optional<std::int64_t> ari_selected_time,
                                          std::optional<std::chrono::seconds> renew_before,
                                          std::int64_t now);

}  // namespace ck::daemon

#pragma once
// When a certificate is to be renewed, and why: a pure, layered decision that
// says which rule decided (STYLE: policy is explained). The CLI's `renew` and
// the service's scheduler both ask it, so that they never disagree. In order:
//   1. revoked (a CRL or OCSP said so): now;
//   2. its configuration changed (names, key type, profile, issuer): now;
//   3. the base time:
//      a. the time chosen in the CA's ARI window (RFC 9773), when the
//         certificate has an answer of its own, fetched after it was issued (a
//         window already past, or opening before notBefore, means now; an
//         answer older than the certificate is not about it, so a certificate
//         renewed minutes ago is never renewed again on the old answer);
//      b. else renew_before ahead of notAfter;
//      c. else when 2/3 of the lifetime has passed (1/2 for lifetimes under
//         10 days: Let's Encrypt's guidance for clients without ARI);
//   4. the emergency floor, which nothing overrides: 1/6 of the lifetime left;
//   5. after failures in a row, not before the retry time (retry_delay()),
//      unless the operator asked for this renewal.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::daemon {

// Stable names (to_string) in logs, status and JSON. Add, never rename.
enum class RenewalRule {
  revoked,
  config_changed,
  ari,
  renew_before,
  lifetime,
  emergency,
  first_issue,  // not in the inventory yet
};
[[nodiscard]] std::string_view to_string(RenewalRule rule);

// The CA's latest RenewalInfo answer for this certificate (RFC 9773 §4.2).
struct AriAnswer {
  std::int64_t window_start = 0;
  std::int64_t window_end = 0;
  std::int64_t selected_time = 0;  // chosen inside the window (acme/ari.h)
  std::int64_t fetched_at = 0;
};

struct FailureStreak {
  int count = 0;             // renewal attempts failed in a row; 0 after a success
  std::int64_t last_at = 0;  // when the latest of them failed
  std::string last_error;    // the CA's problem text, for status
};

struct RenewalInputs {
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::int64_t issued_at = 0;  // when this version entered the inventory
  std::optional<AriAnswer> ari;
  std::optional<std::chrono::seconds> renew_before;
  bool revoked = false;
  std::string config_change;  // what differs from the configuration; "" when nothing
  FailureStreak failures;
  bool operator_asked = false;  // `certkeeper renew NAME`: no backoff
};

struct RenewalDecision {
  bool due = false;
  std::int64_t at = 0;  // when to renew (or since when it is due), Unix seconds
  RenewalRule rule = RenewalRule::lifetime;  // what set the time
  std::int64_t held_until = 0;  // a failure streak's retry time when it moved `at`; else 0
  std::string reason;           // the rule and its inputs, for logs and status
};

// `random` is any 64-bit value (the retry jitter); tests pass fixed ones.
[[nodiscard]] RenewalDecision decide_renewal(const RenewalInputs& inputs, std::int64_t now,
                                             std::uint64_t random);

// Rule 5 on its own, for a decision made without a certificate (a first issue,
// a revoked one's re-issue): after failures in a row, not before the retry
// time, unless the operator asked. Sets `due` for `now`.
void hold_after_failures(RenewalDecision& decision, const FailureStreak& failures,
                         bool operator_asked, std::optional<std::int64_t> not_after,
                         std::int64_t now, std::uint64_t random);

// The wait after `failures` attempts failed in a row, before jitter: the
// retry table, capped by a tenth of the time left before notAfter (never under
// a minute), so that a CA that recovers is tried again in time however long
// the streak. Jitter then takes between half and all of it.
[[nodiscard]] std::chrono::seconds retry_delay(int failures, std::int64_t now,
                                               std::int64_t not_after, std::uint64_t random);

// What a configured certificate asks for that its current version does not
// have: its names (DNS names compared without case, IP addresses as bytes) and
// its key type. "" when they agree; else, for people, what differs.
[[nodiscard]] std::string identity_change(const std::vector<std::string>& domains,
                                          const std::vector<std::string>& ips,
                                          const std::string& key_type,
                                          const std::vector<std::string>& current_sans,
                                          const std::string& current_key_type);

}  // namespace ck::daemon

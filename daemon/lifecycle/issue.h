#pragma once
// The issue and renew jobs: one certificate ordered over ACME, start to end,
// from the first issuer that succeeds, installed into the inventory. They
// never print: progress reaches the caller through JobContext's callbacks, and
// every failure is an Error with its code (the CA's problem text intact).
//
// An order is recorded at every state (order_log.h). When a run dies mid-order
// (a crash, SIGKILL, a lost connection), the next run for the same name and
// identifiers at the same CA finds the unfinished order with its key and
// finishes it instead of starting another.

#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "acme/issuance.h"
#include "core/clock.h"
#include "daemon/lifecycle/config.h"
#include "daemon/lifecycle/install.h"
#include "daemon/lifecycle/renewal_policy.h"
#include "store/inventory.h"
#include "store/layout.h"

namespace ck::daemon {

// What a job runs against: all borrowed, each outliving the call.
struct JobContext {
  store::Inventory& inventory;
  const store::StateLayout& layout;
  const Clock& clock;
  acme::Waiter& waiter;  // every wait of an order (polls, Retry-After)
  std::stop_token stop;  // a stop request ends the order where it is, recorded
  // Told each time an order's state is on record; an error stops the
  // issuance there, as a crash would, with the order on record to resume.
  std::function<Status(const acme::Order&)> on_order_recorded;
  // Told when an issuer failed and the next one is asked.
  std::function<void(const std::string& directory, const Error& why,
                     const std::string& next_directory)>
      on_fallback;
  // What the service's clients of each CA share; none: each order's own.
  acme::CaSessions* ca_sessions = nullptr;
};

struct IssueJob {
  std::string name;  // the inventory name; "" = derived from the first identifier
  std::vector<std::string> domains;
  std::vector<std::string> ips;  // RFC 8738
  std::string key = "ecdsa-p256";
  // Renew with the current version's key (when it is on disk, of the `key`
  // type and not revoked) instead of a new one.
  bool reuse_key = false;
  std::string csr_path;  // the user's CSR (PEM or DER) instead of a new key
  ChallengeConfig challenge;
  std::chrono::seconds dns_timeout{120};  // dns-01: until the record is seen
  std::vector<IssuerConfig> issuers;      // asked in this order
  std::chrono::seconds timeout{300};      // for each order
  // RFC 9773 §5: the certificate this one replaces, told only to the CA that
  // issued it (and only when it offers ARI).
  std::string replaces;
  std::string replaces_directory;
};

struct IssueOutcome {
  InstalledCertificate installed;
  std::string key_path;  // "" with the user's CSR: that key stays the user's
  std::string order_url;
  std::string account_url;
  std::string directory;  // the issuer that issued it
  bool resumed = false;   // an interrupted order was finished
};

[[nodiscard]] Result<IssueOutcome> issue(const IssueJob& job, JobContext& context);

// The job a configured certificate describes, its issuers in order.
[[nodiscard]] IssueJob issue_job_for(const CertificateConfig& cert, const Config& config);

struct RenewalCheck {
  std::optional<store::CertificateRecord> current;  // the active version; none yet: due
  RenewalDecision decision;
};
// Whether the configured certificate is due, as the renewal policy decides
// from the inventory (its current version, ARI answer and configuration) and
// the `failures` in a row so far. `operator_asked` is `certkeeper renew NAME`:
// no failure backoff.
[[nodiscard]] Result<RenewalCheck> check_renewal(const CertificateConfig& cert,
                                                 const Config& config, store::Inventory& inventory,
                                                 std::int64_t now, const FailureStreak& failures,
                                                 bool operator_asked, std::uint64_t random);

// What the configuration asks of issuance that the name's current version
// (issued over ACME: its order is on record) did not get: an issuer no longer
// among the configured ones, or another profile. "" when nothing differs, and
// for an imported version (replaced at its normal time).
[[nodiscard]] std::string issuance_change(const CertificateConfig& cert, const Config& config,
                                          store::Inventory& inventory);

// Whether a run that died left an order for `name` to finish: an unfinished
// one whose key is still there, or a valid one whose certificate was never
// installed. The next issue or renew for the name finishes it.
[[nodiscard]] bool has_interrupted_order(store::Inventory& inventory, const std::string& name);

// The directory URL of the CA that issued the name's latest version (from its
// order in the inventory); "" when unknown (an imported certificate).
[[nodiscard]] std::string issuing_directory(store::Inventory& inventory, const std::string& name);

// Renews (or first issues) the configured certificate now, telling the CA
// that issued `current` which certificate this replaces.
[[nodiscard]] Result<IssueOutcome> renew(const CertificateConfig& cert, const Config& config,
                                         const store::CertificateRecord* current,
                                         JobContext& context);

}  // namespace ck::daemon

#pragma once
// dns-01 (RFC 8555 §8.4) by an operator's hook: the hook is run as an argv
// (never through a shell) with the record in its environment, then every
// configured resolver is asked until it serves the TXT value, and only then
// is the challenge answered. The hook runs again with "cleanup" afterwards.
//
// Hook contract: argv = {PROGRAM, "present"|"cleanup"} with, in the environment,
//   CERTKEEPER_DNS_ACTION  present | cleanup
//   CERTKEEPER_DNS_DOMAIN  the identifier, e.g. example.com (no "*.")
//   CERTKEEPER_DNS_RECORD  _acme-challenge.example.com.
//   CERTKEEPER_DNS_VALUE   the TXT value: base64url(SHA-256(key authorization))
// Exit 0 on success; anything else fails the issuance (cleanup failures are logged).

#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "acme/issuance.h"

namespace ck::acme {

struct DnsHookOptions {
  std::string program;
  std::vector<std::string> resolvers;  // "ADDR" or "ADDR:PORT"; empty = the system's resolvers
  std::chrono::seconds hook_timeout{60};
  std::chrono::seconds propagation_timeout{120};
  std::stop_token stop;  // ends the propagation wait early (Errc::cancelled)
};

class DnsHookSolver final : public ChallengeSolver {
 public:
  explicit DnsHookSolver(DnsHookOptions options) : options_(std::move(options)) {}
  [[nodiscard]] std::string_view type() const override { return "dns-01"; }
  [[nodiscard]] Status present(const Identifier& identifier, const Challenge& challenge,
                               const std::string& key_authorization) override;
  void cleanup(const Identifier& identifier, const Challenge& challenge) override;

 private:
  DnsHookOptions options_;
  std::vector<std::pair<std::string, std::string>> records_;  // domain -> value, for cleanup
};

// RFC 8555 §8.4: base64url(SHA-256(key authorization)).
[[nodiscard]] std::string dns01_txt_value(std::string_view key_authorization);

// Waits until every resolver ("ADDR[:PORT]", "" = the system's) serves `value`
// among the TXT strings of `record`, asking again with a growing pause.
// Errc::timeout naming the resolver that did not within `timeout`;
// Errc::cancelled at `stop`.
[[nodiscard]] Status wait_until_served(const std::string& record, const std::string& value,
                                       const std::vector<std::string>& resolvers,
                                       std::chrono::seconds timeout, std::stop_token stop);

// The TXT strings `name` has at `resolver` ("ADDR[:PORT]", "" = system).
[[nodiscard]] Result<std::vector<std::string>> query_txt(const std::string& name,
                                                         const std::string& resolver);

}  // namespace ck::acme

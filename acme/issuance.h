#pragma once
// Issuance: drives one order from newOrder to the downloaded chain.
//
// The decisions are pure functions of the order or authorization as the CA
// reported it (next_order_step, next_authorization_step, poll_delay); the
// executor issue_certificate() does the requests, honours Retry-After, and
// always cleans up what a challenge solver set up, on failure too.

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "acme/client.h"
#include "core/clock.h"

namespace ck::acme {

// Makes a challenge response available and takes it away again.
class ChallengeSolver {
 public:
  virtual ~ChallengeSolver() = default;
  [[nodiscard]] virtual std::string_view type() const = 0;  // "http-01", "dns-01", ...
  [[nodiscard]] virtual Status present(const Identifier& identifier, const Challenge& challenge,
                                       const std::string& key_authorization) = 0;
  // Called once for every present(), whatever happened after it.
  virtual void cleanup(const Identifier& identifier, const Challenge& challenge) = 0;
};

// Waits between polls. Returns false when stopped early.
class Waiter {
 public:
  virtual ~Waiter() = default;
  [[nodiscard]] virtual bool wait(std::chrono::milliseconds delay, std::stop_token stop) = 0;
};

// Sleeps for real, waking early on a stop request.
class SleepingWaiter final : public Waiter {
 public:
  [[nodiscard]] bool wait(std::chrono::milliseconds delay, std::stop_token stop) override;
};

// Told about every state of the order, so a caller can persist its URL and
// status (and resume it after a crash). An error stops the issuance there:
// an order that could not be recorded could not be resumed.
class OrderObserver {
 public:
  virtual ~OrderObserver() = default;
  [[nodiscard]] virtual Status order_changed(const Order& order) = 0;
};

enum class OrderStep { authorize, finalize, wait, download, failed };
// RFC 8555 §7.1.6 order states.
[[nodiscard]] OrderStep next_order_step(const Order& order);

enum class AuthorizationStep { done, solve, wait, failed };
// RFC 8555 §7.1.6 authorization states; `type` is the challenge type we solve.
[[nodiscard]] AuthorizationStep next_authorization_step(const Authorization& authorization,
                                                        std::string_view type);

// The delay before poll `attempt` (0-based): the CA's Retry-After when it gave
// one (capped), else a short growing schedule.
[[nodiscard]] std::chrono::milliseconds poll_delay(int attempt,
                                                   std::optional<std::chrono::seconds> retry_after);

// Whether the CA refused a newOrder because of its `replaces` field (RFC 9773
// §5: alreadyReplaced, or a refusal that names the replaced certificate):
// then the order is placed once more without it.
[[nodiscard]] bool refuses_replaces(const Error& error);

struct IssueRequest {
  std::vector<Identifier> identifiers;
  std::string csr_der;
  std::string profile;          // "" = the CA's default
  std::string replaces;         // RFC 9773 certificate identifier of the certificate renewed
  std::string preferred_chain;  // issuer CN of the top of the chain to prefer, "" = default
  // An order placed before (e.g. by a run that crashed): continued from its
  // URL when the CA still has it in a usable state, else a new order is placed.
  std::string resume_order_url;
  std::chrono::seconds timeout{300};  // for the whole order
};

struct IssueResult {
  Order order;
  CertificateChain chain;
};

[[nodiscard]] Result<IssueResult> issue_certificate(AcmeClient& client, const AccountSigner& signer,
                                                    const IssueRequest& request,
                                                    ChallengeSolver& solver, Waiter& waiter,
                                                    const Clock& clock, OrderObserver* observer,
                                                    std::stop_token stop = {});

}  // namespace ck::acme

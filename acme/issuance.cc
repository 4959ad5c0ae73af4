#include "acme/issuance.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <tuple>

#include "core/pem.h"
#include "core/x509_info.h"

namespace ck::acme {
namespace {

using std::chrono::milliseconds;

// Challenges that were presented: cleaned up when this goes out of scope,
// whatever path the issuance took.
class PresentedChallenges {
 public:
  explicit PresentedChallenges(ChallengeSolver& solver) : solver_(solver) {}
  PresentedChallenges(const PresentedChallenges&) = delete;
  PresentedChallenges& operator=(const PresentedChallenges&) = delete;
  ~PresentedChallenges() {
    for (const auto& [identifier, challenge] : presented_) {
      solver_.cleanup(identifier, challenge);
    }
  }
  // Cleaned up even when present() fails: it may have done part of its work
  // (a DNS record set, then a propagation wait that timed out or was stopped).
  Status present(const Authorization& authz, const Challenge& challenge,
                 const std::string& key_authorization) {
    presented_.emplace_back(authz.identifier, challenge);
    return solver_.present(authz.identifier, challenge, key_authorization);
  }

 private:
  ChallengeSolver& solver_;
  std::vector<std::pair<Identifier, Challenge>> presented_;
};

std::string identifier_text(const Identifier& id) {
  return id.type + ":" + id.value;
}

const Challenge* find_challenge(const Authorization& authz, std::string_view type) {
  auto it = std::find_if(authz.challenges.begin(), authz.challenges.end(),
                         [&](const Challenge& c) { return c.type == type; });
  return it == authz.challenges.end() ? nullptr : &*it;
}

Error authorization_failed(const Authorization& authz, std::string_view type) {
  Error error{Errc::protocol,
              "authorization for " + identifier_text(authz.identifier) + " is " + authz.status,
              authz.url, false};
  if (const Challenge* c = find_challenge(authz, type); c && c->error) {
    error.message += ": the CA said " + c->error->describe();
    // The challenge's problem, as a refused request's would be named.
    error.acme_problem =
        c->error->type.starts_with(problem_type::kPrefix) ? c->error->short_type() : "";
  }
  return error;
}

// The issuer CN of the topmost certificate of a PEM chain, "" when unreadable.
std::string top_issuer_cn(const std::string& pem) {
  auto bundle = parse_pem_bundle(pem);
  if (!bundle || bundle->certificates.empty()) {
    return {};
  }
  auto info = describe_certificate(*bundle->certificates.back());
  return info ? info->issuer_cn : std::string();
}

// §7.4.2: the default chain, or the first alternate whose topmost certificate
// was issued by `issuer_cn`; the default when none is (as certbot and lego do).
Result<CertificateChain> download_preferred(AcmeClient& client, const std::string& url,
                                            const std::string& issuer_cn) {
  CK_TRY(chain, client.download(url));
  if (issuer_cn.empty() || top_issuer_cn(chain.pem) == issuer_cn) {
    return chain;
  }
  for (const auto& alternate : chain.alternates) {
    CK_TRY(candidate, client.download(alternate));
    if (top_issuer_cn(candidate.pem) == issuer_cn) {
      candidate.alternates = chain.alternates;
      return candidate;
    }
  }
  return chain;
}

// The same set of identifiers, in whatever order the CA lists them.
bool same_identifiers(std::vector<Identifier> a, std::vector<Identifier> b) {
  auto less = [](const Identifier& x, const Identifier& y) {
    return std::tie(x.type, x.value) < std::tie(y.type, y.value);
  };
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  return a == b;
}

// Everything issue_certificate() carries from step to step.
class Issuance {
 public:
  Issuance(AcmeClient& client, const AccountSigner& signer, const IssueRequest& request,
           ChallengeSolver& solver, Waiter& waiter, const Clock& clock, OrderObserver* observer,
           std::stop_token stop)
      : client_(client),
        signer_(signer),
        request_(request),
        solver_(solver),
        presented_(solver),
        waiter_(waiter),
        clock_(clock),
        observer_(observer),
        stop_(std::move(stop)),
        deadline_(clock.monotonic() + request.timeout) {}

  Result<IssueResult> run() {
    CK_TRY(order, first_order());
    order_ = std::move(order);
    int waits = 0;  // consecutive polls of a processing order: the backoff step
    for (;;) {
      CK_TRY_STATUS(notify());
      const OrderStep step = next_order_step(order_);
      waits = step == OrderStep::wait ? waits : 0;
      switch (step) {
        case OrderStep::authorize: CK_TRY_STATUS(authorize()); break;
        case OrderStep::finalize: CK_TRY_STATUS(finalize()); break;
        case OrderStep::wait: CK_TRY_STATUS(pause(waits++, order_.retry_after)); break;
        case OrderStep::download: {
          CK_TRY(chain, download_preferred(client_, order_.certificate, request_.preferred_chain));
          return IssueResult{order_, std::move(chain)};
        }
        case OrderStep::failed:
        default: {
          std::string why = order_.error ? ": the CA said " + order_.error->describe() : "";
          return fail(Errc::protocol, "order is " + order_.status + why, order_.url);
        }
      }
      if (order_.status == "processing" || order_.status == "pending") {
        CK_TRY_STATUS(replace_order(client_.get_order(order_.url)));
      }
    }
  }

 private:
  Result<Order> first_order() {
    if (!request_.resume_order_url.empty()) {
      auto resumed = client_.get_order(request_.resume_order_url);
      if (resumed && resumed->status != "invalid" &&
          same_identifiers(resumed->identifiers, request_.identifiers)) {
        return resumed;
      }
    }
    auto created = client_.new_order(request_.identifiers, request_.profile, request_.replaces);
    if (!created && !request_.replaces.empty() && refuses_replaces(created.error())) {
      // RFC 9773 §5: the CA would not take this order as the replacement (the
      // certificate was replaced already, or is not one it will match): the
      // certificate is still needed, so the order is placed again without it.
      return client_.new_order(request_.identifiers, request_.profile, "");
    }
    return created;
  }

  Status notify() { return observer_ ? observer_->order_changed(order_) : Status{}; }

  Status replace_order(Result<Order> updated) {
    if (!updated) {
      return std::unexpected(updated.error());
    }
    order_ = std::move(*updated);
    return {};
  }

  Status pause(int attempt, std::optional<std::chrono::seconds> retry_after) {
    if (clock_.monotonic() >= deadline_) {
      return fail(Errc::timeout,
                  "the CA did not finish within " + std::to_string(request_.timeout.count()) + " s",
                  order_.url, true);
    }
    if (!waiter_.wait(poll_delay(attempt, retry_after), stop_)) {
      return fail(Errc::cancelled, "cancelled", order_.url);
    }
    return {};
  }

  // Presents and answers every pending challenge first, then polls them all,
  // so a certificate with many names costs one round of waiting.
  Status authorize() {
    std::vector<std::string> waiting;
    for (const auto& url : order_.authorizations) {
      CK_TRY(authz, client_.get_authorization(url));
      switch (next_authorization_step(authz, solver_.type())) {
        case AuthorizationStep::done: break;
        case AuthorizationStep::wait: waiting.push_back(url); break;
        case AuthorizationStep::solve: {
          const Challenge* challenge = find_challenge(authz, solver_.type());
          if (!challenge) {
            return fail(Errc::unsupported,
                        "the CA offers no " + std::string(solver_.type()) + " challenge for " +
                            identifier_text(authz.identifier),
                        url);
          }
          CK_TRY_STATUS(
              presented_.present(authz, *challenge, signer_.key_authorization(challenge->token)));
          CK_TRY_STATUS(respond(url, challenge->url));
          waiting.push_back(url);
          break;
        }
        case AuthorizationStep::failed:
        default: return fail(authorization_failed(authz, solver_.type()));
      }
    }
    for (const auto& url : waiting) {
      CK_TRY_STATUS(wait_until_valid(url));
    }
    return {};
  }

  // A POST's answer can be lost after the CA acted on it (the connection broke
  // on the way back), and its retry then finds the challenge or the order moved
  // on and is refused. So a refusal is weighed against what the CA now says.
  Status respond(const std::string& authorization_url, const std::string& challenge_url) {
    auto answered = client_.respond(challenge_url);
    if (answered) {
      return {};
    }
    auto authz = client_.get_authorization(authorization_url);
    if (!authz || next_authorization_step(*authz, solver_.type()) == AuthorizationStep::solve) {
      return std::unexpected(answered.error());
    }
    return {};  // being validated, or done with: waiting tells which
  }

  Status finalize() {
    auto finalized = client_.finalize(order_, request_.csr_der);
    if (finalized) {
      order_ = std::move(*finalized);
      return {};
    }
    auto order = client_.get_order(order_.url);
    if (!order || (order->status != "processing" && order->status != "valid")) {
      return std::unexpected(finalized.error());
    }
    order_ = std::move(*order);
    return {};
  }

  Status wait_until_valid(const std::string& url) {
    for (int attempt = 0;; ++attempt) {
      CK_TRY_STATUS(pause(attempt, std::nullopt));
      CK_TRY(authz, client_.get_authorization(url));
      switch (next_authorization_step(authz, solver_.type())) {
        case AuthorizationStep::done: return {};
        case AuthorizationStep::failed: return fail(authorization_failed(authz, solver_.type()));
        case AuthorizationStep::wait:
        case AuthorizationStep::solve:
        default: break;  // still pending or processing
      }
    }
  }

  AcmeClient& client_;
  const AccountSigner& signer_;
  const IssueRequest& request_;
  ChallengeSolver& solver_;
  PresentedChallenges presented_;
  Waiter& waiter_;
  const Clock& clock_;
  OrderObserver* observer_;
  std::stop_token stop_;
  MonoTime deadline_;
  Order order_;
};

}  // namespace

bool SleepingWaiter::wait(milliseconds delay, std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  return !wake.wait_for(lock, stop, delay, [] { return false; });
}

OrderStep next_order_step(const Order& order) {
  if (order.status == "pending") {
    return OrderStep::authorize;
  }
  if (order.status == "ready") {
    return OrderStep::finalize;
  }
  if (order.status == "processing") {
    return OrderStep::wait;
  }
  if (order.status == "valid") {
    return order.certificate.empty() ? OrderStep::failed : OrderStep::download;
  }
  return OrderStep::failed;  // "invalid", or a status RFC 8555 does not define
}

AuthorizationStep next_authorization_step(const Authorization& authz, std::string_view type) {
  if (authz.status == "valid") {
    return AuthorizationStep::done;
  }
  if (authz.status != "pending") {
    return AuthorizationStep::failed;  // invalid, deactivated, expired, revoked
  }
  const Challenge* challenge = find_challenge(authz, type);
  if (challenge && challenge->status == "processing") {
    return AuthorizationStep::wait;
  }
  return AuthorizationStep::solve;
}

bool refuses_replaces(const Error& error) {
  if (error.acme_problem == "alreadyReplaced") {
    return true;
  }
  // A refusal that names the replaced certificate (Boulder answers 403
  // unauthorized or malformed for one it will not match): not the order's fault.
  std::string lower = error.message;
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return (error.acme_problem == "unauthorized" || error.acme_problem == "malformed" ||
          error.acme_problem == "conflict") &&
         lower.find("replace") != std::string::npos;
}

milliseconds poll_delay(int attempt, std::optional<std::chrono::seconds> retry_after) {
  if (retry_after) {
    return std::clamp<milliseconds>(*retry_after, milliseconds(100), milliseconds(60'000));
  }
  // Pebble and busy CAs alike: start fast, back off to a few seconds.
  // A few extra requests at the start cost the CA little and save a fast CA's
  // client most of its waiting.
  static constexpr std::array<int, 9> kScheduleMs{25, 50, 100, 200, 400, 800, 1500, 3000, 5000};
  const auto index = static_cast<std::size_t>(std::clamp(attempt, 0, int{kScheduleMs.size()} - 1));
  return milliseconds(kScheduleMs[index]);
}

Result<IssueResult> issue_certificate(AcmeClient& client, const AccountSigner& signer,
                                      const IssueRequest& request, ChallengeSolver& solver,
                                      Waiter& waiter, const Clock& clock, OrderObserver* observer,
                                      std::stop_token stop) {
  client.set_stop_token(stop);
  return Issuance(client, signer, request, solver, waiter, clock, observer, std::move(stop)).run();
}

}  // namespace ck::acme

#pragma once
// The RFC 8555 protocol client: one CA directory, one account key. Every
// request is a JWS from the AccountSigner; nonces are reused from each
// response's Replay-Nonce and a badNonce answer is retried with the fresh
// nonce it carries (§6.5), a bounded number of times. Any ACME problem document comes back as an
// Error whose message carries the CA's type, detail and subproblems.
//
// Not thread-safe: one AcmeClient per job (what jobs share is a CaSession). Every request is
// bounded by the HttpOptions timeouts and can be cancelled through the stop token.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "acme/ari.h"
#include "acme/jws.h"
#include "acme/problem.h"
#include "core/http.h"

namespace ck::acme {

// §7.1.1
struct Directory {
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string revoke_cert;
  std::string key_change;
  std::string renewal_info;  // RFC 9773, "" when the CA has no ARI
  std::string terms_of_service;
  bool external_account_required = false;
  std::map<std::string, std::string> profiles;  // name -> description
};
[[nodiscard]] Result<Directory> parse_directory(std::string_view json_text);

// What the clients of one CA share within a process, from one order to the
// next: its directory, kept for an hour, and the unused nonces its answers
// carried. A service keeps one per CA (CaSessions), so that its jobs neither
// fetch the directory again nor ask for a first nonce; a client given none
// keeps its own. Thread-safe.
class CaSession {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::hours kDirectoryLife{1};
  // An older nonce is not used: CAs forget theirs, and a forgotten one costs
  // a badNonce answer and a retry.
  static constexpr std::chrono::seconds kNonceLife{30};
  static constexpr std::size_t kMaxNonces = 64;

  [[nodiscard]] std::optional<Directory> directory(Clock::time_point now) const;
  void keep_directory(const Directory& directory, Clock::time_point now);
  // The freshest nonce kept, if one is young enough.
  [[nodiscard]] std::optional<std::string> take_nonce(Clock::time_point now);
  void keep_nonce(std::string nonce, Clock::time_point now);

 private:
  mutable std::mutex mutex_;
  std::optional<Directory> directory_;
  Clock::time_point directory_fetched_;
  std::deque<std::pair<std::string, Clock::time_point>> nonces_;  // oldest first
};

// One CaSession per CA: its directory URL and the trust its TLS is verified
// with. Thread-safe.
class CaSessions {
 public:
  [[nodiscard]] std::shared_ptr<CaSession> of(const std::string& directory_url,
                                              const std::string& ca_file);

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<CaSession>> sessions_;
};

// §7.1.2
struct Account {
  std::string url;
  std::string status;
  std::vector<std::string> contact;
};

// §7.1.5
struct Challenge {
  std::string type;
  std::string url;
  std::string status;
  std::string token;
  std::optional<Problem> error;
};

// §7.1.4
struct Authorization {
  std::string url;
  Identifier identifier;
  std::string status;
  bool wildcard = false;
  std::vector<Challenge> challenges;
};

// §7.1.3
struct Order {
  std::string url;
  std::string status;
  std::vector<Identifier> identifiers;
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;
  std::string profile;
  std::optional<Problem> error;
  std::optional<std::chrono::seconds> retry_after;  // from the response, when given
};

// A downloaded certificate chain (§7.4.2), and the alternates the CA offers.
struct CertificateChain {
  std::string pem;                      // leaf first
  std::vector<std::string> alternates;  // URLs from Link: rel="alternate"
};

struct ExternalAccountKey {
  std::string kid;
  std::string hmac_key;  // base64url, as the CA gives it
};

// Who signs a request, and how it names itself (§6.2).
struct RequestSigning {
  const AccountSigner* signer = nullptr;  // nullptr: the account key
  bool use_jwk = false;                   // the key in the header instead of the kid
};

// Transient failures (connection errors, timeouts, HTTP 5xx, and rateLimited
// with a short Retry-After) are retried: delay = base * 2^attempt, capped,
// with +/-20% jitter; a Retry-After up to the cap is honoured instead.
struct RetryPolicy {
  int retries = 3;
  std::chrono::milliseconds base{250};
  std::chrono::milliseconds cap{8000};
};

// The delay before retry `attempt` (0-based); `jitter` in [0, 1).
[[nodiscard]] std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int attempt,
                                                    std::optional<std::chrono::seconds> retry_after,
                                                    double jitter);

class AcmeClient {
 public:
  // `signer` must outlive the client.
  [[nodiscard]] static Result<AcmeClient> create(std::string directory_url, HttpOptions http,
                                                 const AccountSigner& signer,
                                                 RetryPolicy retry = {});
  // A client for what needs no account: the directory and renewal info (both
  // plain GETs). Any request that must be signed fails with Errc::internal.
  [[nodiscard]] static Result<AcmeClient> create_reader(std::string directory_url, HttpOptions http,
                                                        RetryPolicy retry = {});

  // Fetched once, then cached.
  [[nodiscard]] Result<Directory> directory();

  // newAccount (§7.3). With only_existing, looks the account up (§7.3.1) and
  // fails with accountDoesNotExist when there is none. The account URL is
  // kept for the kid of later requests.
  [[nodiscard]] Result<Account> new_account(const std::vector<std::string>& contact,
                                            bool agree_to_terms, bool only_existing,
                                            const std::optional<ExternalAccountKey>& eab);
  void set_account_url(std::string url) { account_url_ = std::move(url); }

  // The account as the CA has it (POST-as-GET to the account URL).
  [[nodiscard]] Result<Account> get_account();
  // Replaces the contacts (§7.3.2).
  [[nodiscard]] Result<Account> update_contacts(const std::vector<std::string>& contact);
  // Deactivates the account for good (§7.3.6).
  [[nodiscard]] Result<Account> deactivate_account();
  // Rolls the account over to `new_key` (§7.3.5): an outer JWS by the current
  // key around an inner JWS by the new key. Afterwards the client still holds
  // the old signer: make a new client with the new key.
  [[nodiscard]] Status change_key(const AccountSigner& new_key);
  [[nodiscard]] const std::string& account_url() const { return account_url_; }

  // Errc::invalid_argument when `profile` is set and the CA's directory does
  // not list it (a CA that lists no profiles accepts any, as RFC drafts allow).
  [[nodiscard]] Status check_profile(const std::string& profile);

  [[nodiscard]] Result<Order> new_order(const std::vector<Identifier>& identifiers,
                                        const std::string& profile, const std::string& replaces);
  [[nodiscard]] Result<Order> get_order(const std::string& url);
  [[nodiscard]] Result<Authorization> get_authorization(const std::string& url);
  // Tells the CA the challenge is ready (§7.5.1).
  [[nodiscard]] Result<Challenge> respond(const std::string& challenge_url);
  [[nodiscard]] Result<Order> finalize(const Order& order, const std::string& csr_der);
  [[nodiscard]] Result<CertificateChain> download(const std::string& certificate_url);

  // Revokes a certificate (§7.6), signed by the account, or with
  // `certificate_key` by the certificate's own key (jwk in the header).
  // `reason` is an RFC 5280 CRLReason code.
  [[nodiscard]] Status revoke(const std::string& certificate_der, int reason,
                              const AccountSigner* certificate_key = nullptr);

  // RFC 9773 §4.2: GET {renewalInfo}/{certificate identifier}, no JWS. The
  // window, and the CA's Retry-After for the next check.
  struct RenewalInfoAnswer {
    RenewalWindow window;
    std::optional<std::chrono::seconds> retry_after;
  };
  [[nodiscard]] Result<RenewalInfoAnswer> renewal_info(const std::string& certificate_id);

  void set_stop_token(std::stop_token stop) { stop_ = std::move(stop); }
  // Shares the directory and nonces with the CA's other clients; `session`
  // must be the one CaSessions keeps for this client's directory URL and trust.
  void share(std::shared_ptr<CaSession> session) { session_ = std::move(session); }

 private:
  AcmeClient(std::string directory_url, HttpClient http, const AccountSigner* signer,
             RetryPolicy retry);
  [[nodiscard]] Result<const AccountSigner*> account_signer() const;
  // Performs `attempt` again while it fails transiently (see RetryPolicy).
  [[nodiscard]] Result<HttpResponse> with_retries(
      const std::function<Result<HttpResponse>()>& attempt);
  [[nodiscard]] Result<std::string> next_nonce();
  // POST a JWS; payload "" is POST-as-GET.
  [[nodiscard]] Result<HttpResponse> post(const std::string& url, const std::string& payload,
                                          RequestSigning signing = {});
  [[nodiscard]] Result<HttpResponse> post_once(const std::string& url, const std::string& payload,
                                               RequestSigning signing);
  void keep_nonce(const HttpResponse& response);

  std::string directory_url_;
  HttpClient http_;
  const AccountSigner* signer_;
  std::shared_ptr<CaSession> session_;
  std::string account_url_;
  std::stop_token stop_;
  RetryPolicy retry_;
};

// Parses Retry-After (delta-seconds only; an HTTP date counts as unknown).
[[nodiscard]] std::optional<std::chrono::seconds> parse_retry_after(
    const std::optional<std::string>& value);

}  // namespace ck::acme

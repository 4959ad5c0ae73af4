#include "acme/client.h"

#include "acme/json_member.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>

#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace ck::acme {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxServerText = 300;
// badNonce is always safe to retry with the nonce the error carried (RFC 8555
// §6.5). One retry is not enough for a CA that rejects many nonces (Pebble's
// PEBBLE_WFE_NONCEREJECT=50 fails two tries in a row 25% of the time); 20
// retries make that 0.5^21 per request, while a CA that always refuses still
// ends quickly.
constexpr int kBadNonceRetries = 20;

// Server text that reaches logs and terminals: printable, bounded.
std::string sanitize(std::string_view text) {
  // A body's surrounding whitespace is not part of what it says (no stray
  // "?" for its final newline); inside it, a line break reads as a space.
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  text = first == std::string_view::npos
             ? std::string_view()
             : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  std::string out;
  for (char c : text.substr(0, kMaxServerText)) {
    out += (c >= 0x20 && c < 0x7f) ? c : (c == '\n' || c == '\r' || c == '\t') ? ' ' : '?';
  }
  return text.size() > kMaxServerText ? out + "..." : out;
}

bool is_json(const HttpResponse& r) {
  auto type = r.header("content-type");
  return type && type->find("json") != std::string::npos;
}

// The one boundary where JSON exceptions become errors.
template <class T, class Decode>
Result<T> decode(const HttpResponse& r, const std::string& url, Decode fn) {
  if (!is_json(r)) {
    return fail(Errc::protocol,
                "expected JSON, got Content-Type \"" +
                    sanitize(r.header("content-type").value_or("none")) + "\"",
                url);
  }
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Errc::protocol, "malformed JSON response: " + sanitize(r.body), url);
  }
  try {
    return fn(j);
  } catch (const json::exception& e) {
    return fail(Errc::protocol, std::string("unexpected response: ") + e.what(), url);
  }
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (auto it = j.find(key); it != j.end() && it->is_array()) {
    for (const auto& item : *it) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

std::optional<Problem> problem_member(const json& j) {
  auto it = j.find("error");
  return it != j.end() && it->is_object() ? parse_problem(it->dump()) : std::nullopt;
}

Order order_from(const json& j, std::string url) {
  Order o;
  o.url = std::move(url);
  o.status = text(j, "status");
  if (auto ids = j.find("identifiers"); ids != j.end() && ids->is_array()) {
    for (const auto& id : *ids) {
      o.identifiers.push_back({text(id, "type"), text(id, "value")});
    }
  }
  o.authorizations = strings(j, "authorizations");
  o.finalize = text(j, "finalize");
  o.certificate = text(j, "certificate");
  o.profile = text(j, "profile");
  o.error = problem_member(j);
  return o;
}

Challenge challenge_from(const json& j) {
  return Challenge{text(j, "type"), text(j, "url"), text(j, "status"), text(j, "token"),
                   problem_member(j)};
}

json identifiers_json(const std::vector<Identifier>& ids) {
  json out = json::array();
  for (const auto& id : ids) {
    out.push_back({{"type", id.type}, {"value", id.value}});
  }
  return out;
}

// Link: <url>;rel="alternate", <url2>;rel="up" (RFC 8288), possibly in several headers.
std::vector<std::string> alternate_links(const HttpResponse& r) {
  std::vector<std::string> out;
  for (const auto& header : r.header_values("link")) {
    std::size_t pos = 0;
    while ((pos = header.find('<', pos)) != std::string::npos) {
      auto close = header.find('>', pos);
      if (close == std::string::npos) {
        break;
      }
      auto next = header.find('<', close);
      std::string params = header.substr(close, next == std::string::npos ? next : next - close);
      if (params.find("rel=\"alternate\"") != std::string::npos ||
          params.find("rel=alternate") != std::string::npos) {
        out.push_back(header.substr(pos + 1, close - pos - 1));
      }
      pos = close;
    }
  }
  return out;
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(const std::optional<std::string>& value) {
  if (!value || value->empty() || value->size() > 9 ||
      value->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::stol(*value));
}

Result<Directory> parse_directory(std::string_view json_text) {
  auto j = json::parse(json_text, nullptr, false);
  if (!j.is_object()) {
    return fail(Errc::protocol, "the ACME directory is not a JSON object");
  }
  Directory d;
  d.new_nonce = text(j, "newNonce");
  d.new_account = text(j, "newAccount");
  d.new_order = text(j, "newOrder");
  d.revoke_cert = text(j, "revokeCert");
  d.key_change = text(j, "keyChange");
  d.renewal_info = text(j, "renewalInfo");
  if (auto meta = j.find("meta"); meta != j.end() && meta->is_object()) {
    d.terms_of_service = text(*meta, "termsOfService");
    auto ear = meta->find("externalAccountRequired");
    d.external_account_required = ear != meta->end() && ear->is_boolean() && ear->get<bool>();
    if (auto profiles = meta->find("profiles"); profiles != meta->end() && profiles->is_object()) {
      for (const auto& [name, description] : profiles->items()) {
        d.profiles[name] = description.is_string() ? description.get<std::string>() : "";
      }
    }
  }
  if (d.new_nonce.empty() || d.new_account.empty() || d.new_order.empty()) {
    return fail(Errc::protocol, "the ACME directory lacks newNonce, newAccount or newOrder");
  }
  return d;
}

AcmeClient::AcmeClient(std::string directory_url, HttpClient http, const AccountSigner* signer,
                       RetryPolicy retry)
    : directory_url_(std::move(directory_url)),
      http_(std::move(http)),
      signer_(signer),
      session_(std::make_shared<CaSession>()),
      retry_(retry) {}

Result<AcmeClient> AcmeClient::create(std::string directory_url, HttpOptions http,
                                      const AccountSigner& signer, RetryPolicy retry) {
  CK_TRY(client, HttpClient::create(std::move(http)));
  return AcmeClient(std::move(directory_url), std::move(client), &signer, retry);
}

Result<AcmeClient> AcmeClient::create_reader(std::string directory_url, HttpOptions http,
                                             RetryPolicy retry) {
  CK_TRY(client, HttpClient::create(std::move(http)));
  return AcmeClient(std::move(directory_url), std::move(client), nullptr, retry);
}

Result<const AccountSigner*> AcmeClient::account_signer() const {
  if (!signer_) {
    return fail(Errc::internal, "this ACME client only reads: it holds no account key");
  }
  return signer_;
}

std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int attempt,
                                      std::optional<std::chrono::seconds> retry_after,
                                      double jitter) {
  using std::chrono::milliseconds;
  if (retry_after) {
    return std::min<milliseconds>(*retry_after, policy.cap);
  }
  const auto exponential = policy.base * (1LL << std::clamp(attempt, 0, 20));
  const auto capped = std::min<milliseconds>(exponential, policy.cap);
  const double factor = 0.8 + 0.4 * std::clamp(jitter, 0.0, 1.0);  // +/-20%
  return milliseconds(static_cast<long long>(static_cast<double>(capped.count()) * factor));
}

Result<HttpResponse> AcmeClient::with_retries(
    const std::function<Result<HttpResponse>()>& attempt) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  for (int i = 0;; ++i) {
    auto result = attempt();
    std::optional<std::chrono::seconds> retry_after;
    bool transient = false;
    if (!result) {
      // A handshake the network cut (tls, retryable) is as transient as a reset.
      transient = result.error().retryable &&
                  (result.error().code == Errc::network || result.error().code == Errc::timeout ||
                   result.error().code == Errc::tls);
    } else if (result->status >= 500 || result->status == 429) {
      retry_after = parse_retry_after(result->header("retry-after"));
      // A long Retry-After is the caller's to schedule, not ours to sleep through.
      transient = !retry_after || *retry_after <= retry_.cap;
    }
    if (!transient || i >= retry_.retries) {
      return result;
    }
    const auto delay =
        retry_delay(retry_, i, retry_after, std::uniform_real_distribution<double>(0, 1)(random));
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    // Returns early when a stop is requested (the predicate never holds).
    static_cast<void>(wake.wait_for(lock, stop_, delay, [] { return false; }));
    if (stop_.stop_requested()) {
      return fail(Errc::cancelled, "cancelled");
    }
  }
}

Result<Directory> AcmeClient::directory() {
  if (auto kept = session_->directory(CaSession::Clock::now())) {
    return *kept;
  }
  CK_TRY(response, with_retries([&] {
           return http_.perform({"GET", directory_url_, {}, {}, {}}, stop_);
         }));
  if (response.status != 200) {
    return fail(Errc::protocol,
                "directory answered HTTP " + std::to_string(response.status) + ": " +
                    sanitize(response.body),
                directory_url_, response.status >= 500);
  }
  auto parsed = parse_directory(response.body);
  if (!parsed) {
    return fail(parsed.error().within(directory_url_));
  }
  session_->keep_directory(*parsed, CaSession::Clock::now());
  return std::move(*parsed);
}

void AcmeClient::keep_nonce(const HttpResponse& response) {
  if (auto nonce = response.header("replay-nonce"); nonce && !nonce->empty()) {
    session_->keep_nonce(*nonce, CaSession::Clock::now());
  }
}

Result<std::string> AcmeClient::next_nonce() {
  if (auto kept = session_->take_nonce(CaSession::Clock::now())) {
    return std::move(*kept);
  }
  CK_TRY(dir, directory());
  CK_TRY(response, with_retries([&] {
           return http_.perform({"HEAD", dir.new_nonce, {}, {}, {}}, stop_);
         }));
  auto nonce = response.header("replay-nonce");
  if (!nonce || nonce->empty()) {
    return fail(Errc::protocol, "no Replay-Nonce in the answer", dir.new_nonce, true);
  }
  return *nonce;
}

Result<HttpResponse> AcmeClient::post_once(const std::string& url, const std::string& payload,
                                           RequestSigning signing) {
  if (!signing.use_jwk && account_url_.empty()) {
    return fail(Errc::internal, "no account URL yet: register or look up the account first", url);
  }
  CK_TRY(account, account_signer());
  const AccountSigner& signer = signing.signer ? *signing.signer : *account;
  CK_TRY(nonce, next_nonce());
  CK_TRY(body, signer.sign(url, nonce, signing.use_jwk ? "" : account_url_, payload));
  HttpRequest request{"POST", url, {{"Content-Type", "application/jose+json"}}, body, {}};
  CK_TRY(response, http_.perform(request, stop_));
  keep_nonce(response);
  return response;
}

Result<HttpResponse> AcmeClient::post(const std::string& url, const std::string& payload,
                                      RequestSigning signing) {
  // Each attempt signs afresh with a new nonce.
  CK_TRY(response, with_retries([&] { return post_once(url, payload, signing); }));
  std::optional<Problem> problem;
  if (response.status >= 400) {
    problem = parse_problem(response.body);
    for (int retry = 0; retry < kBadNonceRetries && problem && problem->is(problem_type::kBadNonce);
         ++retry) {
      // Retried like the first: a connection can break on any of them.
      CK_TRY(retried, with_retries([&] { return post_once(url, payload, signing); }));
      response = std::move(retried);
      problem = response.status >= 400 ? parse_problem(response.body) : std::nullopt;
    }
  }
  if (response.status < 400) {
    return response;
  }
  if (problem) {
    Error error = problem_error(*problem, url);
    if (auto after = parse_retry_after(response.header("retry-after"))) {
      error.message += " (retry after " + std::to_string(after->count()) + " s)";
      error.retry_after = after;
    }
    return fail(error);
  }
  return fail(Errc::protocol,
              "HTTP " + std::to_string(response.status) +
                  " without a problem document: " + sanitize(response.body),
              url, response.status >= 500);
}

Result<Account> AcmeClient::new_account(const std::vector<std::string>& contact,
                                        bool agree_to_terms, bool only_existing,
                                        const std::optional<ExternalAccountKey>& eab) {
  CK_TRY(signer, account_signer());
  CK_TRY(dir, directory());
  json payload = json::object();
  if (only_existing) {
    payload["onlyReturnExisting"] = true;
  } else {
    payload["contact"] = contact;
    if (agree_to_terms) {
      payload["termsOfServiceAgreed"] = true;
    }
    if (eab) {
      CK_TRY(binding, external_account_binding(eab->kid, eab->hmac_key, dir.new_account,
                                               signer->jwk_json()));
      payload["externalAccountBinding"] = json::parse(binding);
    } else if (dir.external_account_required) {
      return fail(Errc::invalid_argument,
                  "this CA requires External Account Binding: give the kid and HMAC key it "
                  "issued you (--eab-kid, --eab-hmac-key)",
                  dir.new_account);
    }
  }
  CK_TRY(response, post(dir.new_account, payload.dump(), {nullptr, true}));
  auto location = response.header("location");
  if (!location || location->empty()) {
    return fail(Errc::protocol, "newAccount answer has no Location", dir.new_account);
  }
  account_url_ = *location;
  return decode<Account>(response, dir.new_account, [&](const json& j) {
    return Account{*location, text(j, "status"), strings(j, "contact")};
  });
}

Status AcmeClient::check_profile(const std::string& profile) {
  CK_TRY(dir, directory());
  if (!profile.empty() && !dir.profiles.empty() && !dir.profiles.contains(profile)) {
    std::string known;
    for (const auto& [name, _] : dir.profiles) {
      known += (known.empty() ? "" : ", ") + name;
    }
    return fail(Errc::invalid_argument,
                "the CA offers no profile \"" + profile + "\" (it offers: " + known + ")",
                directory_url_);
  }
  return {};
}

Result<Order> AcmeClient::new_order(const std::vector<Identifier>& identifiers,
                                    const std::string& profile, const std::string& replaces) {
  CK_TRY(dir, directory());
  CK_TRY_STATUS(check_profile(profile));
  json payload{{"identifiers", identifiers_json(identifiers)}};
  if (!profile.empty()) {
    payload["profile"] = profile;
  }
  if (!replaces.empty()) {
    payload["replaces"] = replaces;
  }
  CK_TRY(response, post(dir.new_order, payload.dump()));
  auto location = response.header("location");
  if (!location || location->empty()) {
    return fail(Errc::protocol, "newOrder answer has no Location", dir.new_order);
  }
  return decode<Order>(response, dir.new_order,
                       [&](const json& j) { return order_from(j, *location); });
}

Result<Order> AcmeClient::get_order(const std::string& url) {
  CK_TRY(response, post(url, ""));
  CK_TRY(order, decode<Order>(response, url, [&](const json& j) { return order_from(j, url); }));
  order.retry_after = parse_retry_after(response.header("retry-after"));
  return order;
}

Result<Authorization> AcmeClient::get_authorization(const std::string& url) {
  CK_TRY(response, post(url, ""));
  return decode<Authorization>(response, url, [&](const json& j) {
    Authorization a;
    a.url = url;
    a.status = text(j, "status");
    if (auto id = j.find("identifier"); id != j.end() && id->is_object()) {
      a.identifier = {text(*id, "type"), text(*id, "value")};
    }
    auto wildcard = j.find("wildcard");
    a.wildcard = wildcard != j.end() && wildcard->is_boolean() && wildcard->get<bool>();
    if (auto challenges = j.find("challenges"); challenges != j.end() && challenges->is_array()) {
      for (const auto& c : *challenges) {
        a.challenges.push_back(challenge_from(c));
      }
    }
    return a;
  });
}

Result<Challenge> AcmeClient::respond(const std::string& challenge_url) {
  CK_TRY(response, post(challenge_url, "{}"));
  return decode<Challenge>(response, challenge_url,
                           [](const json& j) { return challenge_from(j); });
}

Result<Order> AcmeClient::finalize(const Order& order, const std::string& csr_der) {
  CK_TRY(response, post(order.finalize, json{{"csr", base64url_encode(csr_der)}}.dump()));
  CK_TRY(updated, decode<Order>(response, order.finalize,
                                [&](const json& j) { return order_from(j, order.url); }));
  updated.retry_after = parse_retry_after(response.header("retry-after"));
  return updated;
}

Result<CertificateChain> AcmeClient::download(const std::string& certificate_url) {
  CK_TRY(response, post(certificate_url, ""));
  auto type = response.header("content-type").value_or("");
  if (type.find("application/pem-certificate-chain") == std::string::npos) {
    return fail(Errc::protocol,
                "expected application/pem-certificate-chain, got \"" + sanitize(type) + "\"",
                certificate_url);
  }
  return CertificateChain{response.body, alternate_links(response)};
}

Status AcmeClient::revoke(const std::string& certificate_der, int reason,
                          const AccountSigner* certificate_key) {
  CK_TRY(dir, directory());
  if (dir.revoke_cert.empty()) {
    return fail(Errc::unsupported, "the CA's directory has no revokeCert", directory_url_);
  }
  json payload{{"certificate", base64url_encode(certificate_der)}, {"reason", reason}};
  RequestSigning signing =
      certificate_key ? RequestSigning{certificate_key, true} : RequestSigning{};
  CK_TRY_STATUS(post(dir.revoke_cert, payload.dump(), signing));
  return {};
}

Result<AcmeClient::RenewalInfoAnswer> AcmeClient::renewal_info(const std::string& certificate_id) {
  CK_TRY(dir, directory());
  if (dir.renewal_info.empty()) {
    return fail(Errc::unsupported, "the CA offers no renewal information (ARI)", directory_url_);
  }
  std::string url = dir.renewal_info;
  if (!url.ends_with('/')) {
    url += '/';
  }
  url += certificate_id;
  CK_TRY(response, with_retries([&] { return http_.perform({"GET", url, {}, {}, {}}, stop_); }));
  if (response.status != 200) {
    auto problem = parse_problem(response.body);
    return fail(problem ? problem_error(*problem, url)
                        : Error{Errc::protocol, "HTTP " + std::to_string(response.status), url,
                                response.status >= 500});
  }
  auto window = parse_renewal_info(response.body);
  if (!window) {
    return fail(window.error().within(url));
  }
  return RenewalInfoAnswer{*window, parse_retry_after(response.header("retry-after"))};
}

Result<Account> AcmeClient::get_account() {
  CK_TRY(response, post(account_url_, ""));
  return decode<Account>(response, account_url_, [&](const json& j) {
    return Account{account_url_, text(j, "status"), strings(j, "contact")};
  });
}

Result<Account> AcmeClient::update_contacts(const std::vector<std::string>& contact) {
  CK_TRY(response, post(account_url_, json{{"contact", contact}}.dump()));
  return decode<Account>(response, account_url_, [&](const json& j) {
    return Account{account_url_, text(j, "status"), strings(j, "contact")};
  });
}

Result<Account> AcmeClient::deactivate_account() {
  CK_TRY(response, post(account_url_, json{{"status", "deactivated"}}.dump()));
  return decode<Account>(response, account_url_, [&](const json& j) {
    return Account{account_url_, text(j, "status"), strings(j, "contact")};
  });
}

Status AcmeClient::change_key(const AccountSigner& new_key) {
  CK_TRY(dir, directory());
  if (dir.key_change.empty()) {
    return fail(Errc::unsupported, "the CA's directory has no keyChange", directory_url_);
  }
  CK_TRY(current, account_signer());
  const json key_change{{"account", account_url_}, {"oldKey", json::parse(current->jwk_json())}};
  CK_TRY(inner, new_key.sign(dir.key_change, "", "", key_change.dump()));
  CK_TRY_STATUS(post(dir.key_change, inner));
  return {};
}

}  // namespace ck::acme

// A CA that fails, stalls or answers garbage: certkeeper retries what is
// transient and reports the rest clearly, never crashing. The CA is scripted
// on a loopback socket (plain HTTP: what is tested is the answers, not TLS).

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "acme/client.h"
#include "acme/issuance.h"
#include "core/base64.h"
#include "core/keys.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::string request_path(const std::string& request) {
  auto start = request.find(' ') + 1;
  return request.substr(start, request.find(' ', start) - start);
}

// A CA whose newAccount (and newOrder) answers are given; everything else behaves.
struct ScriptedCa {
  std::string account_answer;
  std::vector<std::string> account_answers;  // when set, given in turn (the last one repeated)
  std::atomic<int> account_requests{0};
  std::string order_answer;
  std::atomic<int> directory_failures{0};  // 503s before the directory answers
  std::atomic<int> directory_requests{0};
  ScriptedHttpServer server{[this](const std::string& request) { return answer(request); }};

  std::string answer(const std::string& request) {
    const std::string path = request_path(request);
    if (path == "/dir") {
      if (++directory_requests <= directory_failures) {
        return http_response("503 Service Unavailable", "", "busy");
      }
      json dir{{"newNonce", server.url("/nonce")},
               {"newAccount", server.url("/account")},
               {"newOrder", server.url("/order")}};
      return http_response("200 OK", "Content-Type: application/json\r\n", dir.dump());
    }
    if (path == "/nonce") {
      return http_response("200 OK", "Replay-Nonce: nonce-" + std::to_string(++nonces) + "\r\n",
                           "");
    }
    if (path == "/order" && !order_answer.empty()) {
      return order_answer;
    }
    if (path == "/account" && !account_answers.empty()) {
      const auto n = static_cast<std::size_t>(account_requests++);
      return account_answers[std::min(n, account_answers.size() - 1)];
    }
    return account_answer;
  }
  std::atomic<int> nonces{0};

  RunResult issue() {
    return certkeeper({"--state-dir", state.path().string(), "issue", "--server",
                       server.url("/dir"), "--domain", "x.example.test", "--http-listen",
                       "127.0.0.1:" + std::to_string(free_port())});
  }
  TempDir state;
};

}  // namespace

TEST_CASE("retry delays grow, are capped, jittered, and yield to a short Retry-After") {
  acme::RetryPolicy policy{3, milliseconds(250), milliseconds(8000)};
  CHECK(acme::retry_delay(policy, 0, std::nullopt, 0.5) == milliseconds(250));
  CHECK(acme::retry_delay(policy, 2, std::nullopt, 0.5) == milliseconds(1000));
  CHECK(acme::retry_delay(policy, 10, std::nullopt, 0.5) == milliseconds(8000));
  CHECK(acme::retry_delay(policy, 0, std::nullopt, 0.0) == milliseconds(200));
  CHECK(acme::retry_delay(policy, 0, std::nullopt, 0.999) < milliseconds(300));
  CHECK(acme::retry_delay(policy, 0, seconds(2), 0.5) == milliseconds(2000));
  CHECK(acme::retry_delay(policy, 0, seconds(3600), 0.5) == milliseconds(8000));
}

TEST_CASE("a CA that is briefly unavailable is retried") {
  ScriptedCa ca;
  ca.directory_failures = 2;
  auto r = certkeeper({"issuer", "info", "--server", ca.server.url("/dir")});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(ca.directory_requests == 3);
}

TEST_CASE("bad: a CA that stays unavailable fails after the retries") {
  ScriptedCa ca;
  ca.directory_failures = 100;
  auto r = certkeeper({"issuer", "info", "--server", ca.server.url("/dir")});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("HTTP 503") != std::string::npos);
  CHECK(ca.directory_requests == 4);  // one try and three retries
}

TEST_CASE("a badNonce, then a connection cut on the retry: retried again, not given up") {
  ScriptedCa ca;
  const std::string cut = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"sta";
  ca.account_answers = {
      http_response("400 Bad Request", "Content-Type: application/problem+json\r\n",
                    R"({"type": "urn:ietf:params:acme:error:badNonce", "detail": "stale"})"),
      cut,
      http_response("201 Created", "Content-Type: application/json\r\n", R"({"status":"valid"})"),
  };
  auto r = ca.issue();
  CHECK(ca.account_requests == 3);
  // The third answer is the one reported: the cut was retried.
  CHECK(r.exit_code == 3);
  CHECK_MESSAGE(r.err.find("newAccount answer has no Location") != std::string::npos, r.err);
}

TEST_CASE("bad: answers a CA must not give are reported, never crash") {
  ScriptedCa ca;
  struct Case {
    std::string name;
    std::string answer;
    std::string reason;
  };
  const std::string location = "Location: " + ca.server.url("/acct/1") + "\r\n";
  for (const Case& c : {
           Case{"bad_truncated_json",
                http_response("201 Created", "Content-Type: application/json\r\n" + location,
                              R"({"status": "val)"),
                "malformed JSON response"},
           Case{"bad_content_type",
                http_response("201 Created", "Content-Type: text/html\r\n" + location,
                              "<html>hello</html>"),
                "expected JSON, got Content-Type \"text/html\""},
           Case{"bad_huge_body",
                http_response("201 Created", "Content-Type: application/json\r\n" + location,
                              std::string(10u << 20, ' ')),
                "exceeds the size limit"},
           Case{"bad_no_location",
                http_response("201 Created", "Content-Type: application/json\r\n",
                              R"({"status":"valid"})"),
                "newAccount answer has no Location"},
           Case{"bad_problem_without_json",
                http_response("403 Forbidden", "Content-Type: text/plain\r\n", "go away\x01\x02"),
                "HTTP 403 without a problem document: go away??"},
           Case{"bad_plain_text_lines",  // a text body's line ends are not "?"
                http_response("403 Forbidden", "Content-Type: text/plain\r\n",
                              "Forbidden:\r\nnot from here\r\n"),
                "HTTP 403 without a problem document: Forbidden:  not from here\n"},
           Case{"rate_limited_long",
                http_response("429 Too Many Requests",
                              "Content-Type: application/problem+json\r\nRetry-After: 3600\r\n",
                              R"({"type": "urn:ietf:params:acme:error:rateLimited",
                                  "detail": "too many new accounts", "status": 429})"),
                "the CA said rateLimited: too many new accounts (status 429) (retry after 3600 s)"},
       }) {
    CAPTURE(c.name);
    ca.account_answer = c.answer;
    auto r = ca.issue();
    CHECK(r.exit_code == 3);
    CHECK(r.err.find(c.reason) != std::string::npos);
    CAPTURE(r.err);
  }
}

TEST_CASE("bad: a request the CA refuses as such is not sent to the next issuer") {
  ScriptedCa refusing;
  ScriptedCa next;
  refusing.account_answer = http_response(
      "201 Created",
      "Content-Type: application/json\r\nLocation: " + refusing.server.url("/acct/1") + "\r\n",
      R"({"status": "valid"})");
  refusing.order_answer =
      http_response("400 Bad Request", "Content-Type: application/problem+json\r\n",
                    R"({"type": "urn:ietf:params:acme:error:rejectedIdentifier",
          "detail": "x.example.test is on our blocklist", "status": 400})");
  const auto config = refusing.state.path() / "certkeeper.toml";
  write_text(config, "[daemon]\nstate_dir = \"" + refusing.state.path().string() +
                         "\"\n[issuer.first]\ndirectory = \"" + refusing.server.url("/dir") +
                         "\"\n[issuer.second]\ndirectory = \"" + next.server.url("/dir") +
                         "\"\n[[certificate]]\nname = \"x\"\ndomains = [\"x.example.test\"]\n"
                         "issuer = [\"first\", \"second\"]\nchallenge = { type = \"http-01\", "
                         "listen = \"127.0.0.1:" +
                         std::to_string(free_port()) + "\" }\n");
  auto r = certkeeper({"--config", config.string(), "renew", "x"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("rejectedIdentifier: x.example.test is on our blocklist") != std::string::npos);
  CHECK(r.err.find("trying the next issuer") == std::string::npos);
  CHECK(next.directory_requests == 0);
}

namespace {

// A solver that is never reached: the orders in these tests fail first.
class UnusedSolver final : public acme::ChallengeSolver {
 public:
  [[nodiscard]] std::string_view type() const override { return "http-01"; }
  Status present(const acme::Identifier&, const acme::Challenge&, const std::string&) override {
    return fail(Errc::internal, "not expected");
  }
  void cleanup(const acme::Identifier&, const acme::Challenge&) override {}
};

// A CA whose newOrder refuses any order with `replaces` with `refusal`, and
// any other with rejectedIdentifier (so that the flow ends there).
struct ReplacesCa {
  std::string refusal;
  std::vector<json> orders;  // the newOrder payloads, in order
  std::mutex mutex;
  ScriptedHttpServer server{[this](const std::string& request) { return answer(request); }};

  std::string answer(const std::string& request) {
    const std::string path = request_path(request);
    if (path == "/dir") {
      json dir{{"newNonce", server.url("/nonce")},
               {"newAccount", server.url("/account")},
               {"newOrder", server.url("/order")},
               {"renewalInfo", server.url("/ari")}};
      return http_response("200 OK", "Content-Type: application/json\r\n", dir.dump());
    }
    if (path == "/nonce") {
      return http_response("200 OK", "Replay-Nonce: n" + std::to_string(++nonces) + "\r\n", "");
    }
    const json jws = json::parse(request.substr(request.find("\r\n\r\n") + 4));
    const json payload = json::parse(base64url_decode(jws["payload"].get<std::string>()).value());
    std::lock_guard lock(mutex);
    orders.push_back(payload);
    const std::string nonce = "Replay-Nonce: n" + std::to_string(++nonces) + "\r\n";
    if (payload.contains("replaces")) {
      return refusal + nonce + "\r\n" + refusal_body;
    }
    return http_response(
        "403 Forbidden", "Content-Type: application/problem+json\r\n" + nonce,
        R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"not here"})");
  }
  std::string refusal_body;
  std::atomic<int> nonces{0};
};

Result<acme::IssueResult> order_replacing(ReplacesCa& ca) {
  auto signer = acme::AccountSigner::create(generate_key(KeyType::ecdsa_p256).value()).value();
  auto client = acme::AcmeClient::create(ca.server.url("/dir"), HttpOptions{}, signer).value();
  client.set_account_url(ca.server.url("/account/1"));
  acme::IssueRequest request;
  request.identifiers = {{"dns", "x.example.test"}};
  request.csr_der = "csr";
  request.replaces = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";
  UnusedSolver solver;
  acme::SleepingWaiter waiter;
  SystemClock clock;
  return acme::issue_certificate(client, signer, request, solver, waiter, clock, nullptr);
}

void refuse_with(ReplacesCa& ca, const std::string& status, const std::string& type,
                 const std::string& detail) {
  ca.refusal_body = json{{"type", "urn:ietf:params:acme:error:" + type}, {"detail", detail}}.dump();
  ca.refusal = "HTTP/1.1 " + status + "\r\nContent-Type: application/problem+json\r\n" +
               "Content-Length: " + std::to_string(ca.refusal_body.size()) +
               "\r\nConnection: close\r\n";
}

}  // namespace

TEST_CASE("RFC 9773 §5: an order refused for its `replaces` is placed once more without it") {
  const std::pair<std::string, std::string> refusals[] = {
      {"409 Conflict", "alreadyReplaced"},
      {"403 Forbidden", "unauthorized"},
  };
  for (const auto& [status, type] : refusals) {
    CAPTURE(type);
    ReplacesCa ca;
    refuse_with(ca, status, type, "the certificate to replace was replaced already");
    auto issued = order_replacing(ca);
    REQUIRE_FALSE(issued);
    CHECK(issued.error().acme_problem == "rejectedIdentifier");  // the second order's answer
    std::lock_guard lock(ca.mutex);
    REQUIRE(ca.orders.size() == 2);
    CHECK(ca.orders[0].contains("replaces"));
    CHECK_FALSE(ca.orders[1].contains("replaces"));
  }
}

TEST_CASE("bad: any other refusal of an order with `replaces` is not retried without it") {
  ReplacesCa ca;
  refuse_with(ca, "403 Forbidden", "unauthorized", "this account may not order these names");
  auto issued = order_replacing(ca);
  REQUIRE_FALSE(issued);
  CHECK(issued.error().acme_problem == "unauthorized");
  std::lock_guard lock(ca.mutex);
  CHECK(ca.orders.size() == 1);
}

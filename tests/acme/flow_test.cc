// The pure parts of the ACME client: problem documents, the directory, and
// the decisions of the issuance state machine.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "acme/ari.h"
#include "acme/client.h"
#include "acme/csr.h"
#include "acme/issuance.h"
#include "acme/tls_alpn01.h"
#include "core/keys.h"

using namespace ck;
using namespace ck::acme;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("problem documents keep type, detail, status and subproblems") {
  auto p = parse_problem(R"({
    "type": "urn:ietf:params:acme:error:rejectedIdentifier",
    "detail": "Some of the identifiers requested were rejected",
    "status": 400,
    "subproblems": [
      {"type": "urn:ietf:params:acme:error:malformed", "detail": "Invalid underscore in DNS name \"_example.org\"",
       "identifier": {"type": "dns", "value": "_example.org"}},
      {"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "This CA will not issue for \"example.net\"",
       "identifier": {"type": "dns", "value": "example.net"}}
    ]})");  // RFC 8555 §6.7.1
  REQUIRE(p);
  CHECK(p->short_type() == "rejectedIdentifier");
  CHECK(p->status == 400);
  REQUIRE(p->subproblems.size() == 2);
  CHECK(p->subproblems[1].identifier == Identifier{"dns", "example.net"});
  CHECK(p->describe() ==
        "rejectedIdentifier: Some of the identifiers requested were rejected (status 400); "
        "dns:_example.org: malformed: Invalid underscore in DNS name \"_example.org\"; "
        "dns:example.net: rejectedIdentifier: This CA will not issue for \"example.net\"");
  CHECK_FALSE(problem_error(*p, "u").retryable);
}

TEST_CASE("retryable problems are the ones RFC 8555 lets a client retry") {
  for (const char* type : {"badNonce", "rateLimited", "serverInternal"}) {
    Problem p{std::string("urn:ietf:params:acme:error:") + type, "", 0, {}, {}};
    CHECK(problem_error(p, "u").retryable);
  }
  Problem unauthorized{"urn:ietf:params:acme:error:unauthorized", "", 403, {}, {}};
  CHECK_FALSE(problem_error(unauthorized, "u").retryable);
}

TEST_CASE("problems about the request itself are told apart from the CA's own trouble") {
  for (const char* type : {"badCSR", "badPublicKey", "malformed", "rejectedIdentifier",
                           "invalidContact", "unsupportedContact", "badRevocationReason"}) {
    CAPTURE(type);
    Problem p{std::string("urn:ietf:params:acme:error:") + type, "", 400, {}, {}};
    CHECK(p.is_about_request());
    CHECK(problem_error(p, "u").code == Errc::rejected);
  }
  for (const char* type : {"rateLimited", "serverInternal", "caa", "connection", "unauthorized",
                           "badNonce", "userActionRequired"}) {
    CAPTURE(type);
    Problem p{std::string("urn:ietf:params:acme:error:") + type, "", 400, {}, {}};
    CHECK_FALSE(p.is_about_request());
    CHECK(problem_error(p, "u").code == Errc::protocol);
  }
  CHECK_FALSE(Problem{"about:blank#malformed", "", 400, {}, {}}.is_about_request());
}

TEST_CASE("tls-alpn-01 names an IP identifier by its reverse DNS name (RFC 8738 §6)") {
  CHECK(reverse_dns_name("192.0.2.1").value() == "1.2.0.192.in-addr.arpa");
  CHECK(reverse_dns_name("2001:db8::567:89ab").value() ==
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  CHECK_FALSE(reverse_dns_name("example.com"));
  CHECK_FALSE(reverse_dns_name("192.0.2.256"));
}

TEST_CASE("bad problem documents are not mistaken for problems") {
  for (const char* text : {"", "garbage", "[]", "{}", R"({"type": 7})", "{\"type\": \"x\""}) {
    CAPTURE(std::string(text));
    CHECK_FALSE(parse_problem(text));
  }
}

TEST_CASE("a problem's members of the wrong type are left out, not thrown on") {
  // A CA's JSON is outside input: json::value() on a number aborted the process
  // (found by fuzz_acme_json).
  const auto p = parse_problem(
      R"({"type": "urn:ietf:params:acme:error:rateLimited", "detail": 429,
          "subproblems": [{"type": 1, "detail": [], "identifier": {"type": {}, "value": 2}}]})");
  REQUIRE(p);
  CHECK(p->short_type() == "rateLimited");
  CHECK(p->detail.empty());
  REQUIRE(p->subproblems.size() == 1);
  CHECK(p->subproblems[0].type.empty());
  REQUIRE(p->subproblems[0].identifier);
  CHECK(p->subproblems[0].identifier->value.empty());
}

// Inputs that made fuzz/fuzz_acme_json.cc fail, replayed as it reads them.
TEST_CASE("acme json: the fuzzer's findings stay fixed") {
  int replayed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(CERTKEEPER_SOURCE_DIR) / "fuzz/regressions/acme_json")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    static_cast<void>(parse_directory(json));
    static_cast<void>(parse_problem(json));
    static_cast<void>(parse_renewal_info(json));
    ++replayed;
  }
  CHECK(replayed > 0);
}

TEST_CASE("the directory's resources and meta are read") {
  auto d = parse_directory(R"({
    "newNonce": "https://ca/nonce", "newAccount": "https://ca/acct", "newOrder": "https://ca/order",
    "revokeCert": "https://ca/revoke", "keyChange": "https://ca/key", "renewalInfo": "https://ca/ari",
    "meta": {"termsOfService": "https://ca/tos", "externalAccountRequired": true,
             "profiles": {"classic": "the usual", "shortlived": "6 days"}}})");
  REQUIRE(d);
  CHECK(d->renewal_info == "https://ca/ari");
  CHECK(d->external_account_required);
  CHECK(d->profiles.size() == 2);
  CHECK(d->profiles.at("shortlived") == "6 days");
  CHECK_FALSE(parse_directory(R"({"newNonce": "x"})"));
  CHECK_FALSE(parse_directory("<html>"));
}

TEST_CASE("a CA session keeps the directory for its life, and fresh nonces, newest first") {
  CaSession session;
  const auto t0 = CaSession::Clock::time_point{} + std::chrono::hours(100);
  CHECK_FALSE(session.directory(t0));
  Directory directory;
  directory.new_order = "https://ca.test/order";
  session.keep_directory(directory, t0);
  REQUIRE(session.directory(t0 + CaSession::kDirectoryLife - seconds(1)));
  CHECK(session.directory(t0)->new_order == "https://ca.test/order");
  CHECK_FALSE(session.directory(t0 + CaSession::kDirectoryLife));

  CHECK_FALSE(session.take_nonce(t0));
  session.keep_nonce("old", t0);
  session.keep_nonce("new", t0 + seconds(1));
  CHECK(session.take_nonce(t0 + seconds(2)) == "new");
  CHECK(session.take_nonce(t0 + seconds(2)) == "old");
  CHECK_FALSE(session.take_nonce(t0 + seconds(2)));  // each is used once

  session.keep_nonce("stale", t0);
  CHECK_FALSE(session.take_nonce(t0 + CaSession::kNonceLife));

  for (std::size_t i = 0; i < CaSession::kMaxNonces + 5; ++i) {
    session.keep_nonce("n" + std::to_string(i), t0);
  }
  std::size_t kept = 0;
  std::string last;
  while (auto nonce = session.take_nonce(t0)) {
    ++kept;
    last = *nonce;
  }
  CHECK(kept == CaSession::kMaxNonces);
  CHECK(last == "n5");  // the oldest went first
}

TEST_CASE("one CA session per directory URL and trust") {
  CaSessions sessions;
  auto a = sessions.of("https://ca.test/dir", "");
  CHECK(sessions.of("https://ca.test/dir", "") == a);
  CHECK(sessions.of("https://ca.test/dir", "/etc/private-root.pem") != a);
  CHECK(sessions.of("https://other.test/dir", "") != a);
}

TEST_CASE("the next order step follows RFC 8555 §7.1.6") {
  auto order = [](std::string status, std::string certificate = "") {
    Order o;
    o.status = std::move(status);
    o.certificate = std::move(certificate);
    return o;
  };
  CHECK(next_order_step(order("pending")) == OrderStep::authorize);
  CHECK(next_order_step(order("ready")) == OrderStep::finalize);
  CHECK(next_order_step(order("processing")) == OrderStep::wait);
  CHECK(next_order_step(order("valid", "https://ca/cert/1")) == OrderStep::download);
  CHECK(next_order_step(order("valid")) == OrderStep::failed);  // valid but no certificate URL
  CHECK(next_order_step(order("invalid")) == OrderStep::failed);
  CHECK(next_order_step(order("weird")) == OrderStep::failed);
}

TEST_CASE("the next authorization step") {
  Authorization a;
  a.challenges = {{"dns-01", "u1", "pending", "t", {}}, {"http-01", "u2", "pending", "t", {}}};
  a.status = "valid";
  CHECK(next_authorization_step(a, "http-01") == AuthorizationStep::done);
  a.status = "pending";
  CHECK(next_authorization_step(a, "http-01") == AuthorizationStep::solve);
  a.challenges[1].status = "processing";
  CHECK(next_authorization_step(a, "http-01") == AuthorizationStep::wait);
  for (const char* status : {"invalid", "deactivated", "expired", "revoked"}) {
    a.status = status;
    CHECK(next_authorization_step(a, "http-01") == AuthorizationStep::failed);
  }
}

TEST_CASE("polling honours Retry-After within bounds and backs off otherwise") {
  CHECK(poll_delay(0, seconds(3)) == milliseconds(3000));
  CHECK(poll_delay(0, seconds(0)) == milliseconds(100));
  CHECK(poll_delay(0, seconds(86400)) == milliseconds(60'000));
  CHECK(poll_delay(0, std::nullopt) < poll_delay(3, std::nullopt));
  CHECK(poll_delay(100, std::nullopt) == poll_delay(1000, std::nullopt));
  CHECK(parse_retry_after("120") == seconds(120));
  CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"));
  CHECK_FALSE(parse_retry_after(std::nullopt));
  CHECK_FALSE(parse_retry_after("-5"));
}

TEST_CASE("CSRs carry every identifier, and user CSRs are read back") {
  auto key = generate_key(KeyType::ecdsa_p256).value();
  std::vector<Identifier> ids{
      {"dns", "a.example"}, {"dns", "b.example"}, {"ip", "192.0.2.7"}, {"ip", "2001:db8::1"}};
  auto der = build_csr(*key, ids);
  REQUIRE(der);
  CHECK(csr_identifiers(*der).value() == ids);
  std::string tampered = *der;
  tampered[tampered.size() / 2] ^= 1;
  CHECK_FALSE(csr_identifiers(tampered));
  CHECK_FALSE(build_csr(*key, {}));
}

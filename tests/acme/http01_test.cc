// The built-in http-01 responder answers only the tokens in flight (SECURITY.md):
// a token it was not given, one already cleaned up, or any other path is 404.

#include "acme/http01.h"

#include <doctest/doctest.h>

#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::test;

namespace {

RunResult get(int port, const std::string& path) {
  return run({"curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5",
              "http://127.0.0.1:" + std::to_string(port) + path});
}

}  // namespace

TEST_CASE("http-01: only the tokens in flight are answered, and only until cleaned up") {
  require_program("curl");
  auto responder = acme::Http01Responder::start("127.0.0.1:" + std::to_string(free_port()));
  REQUIRE(responder);
  const int port = (*responder)->port();
  const acme::Identifier name{"dns", "www.example.test"};
  const acme::Challenge challenge{"http-01", "https://ca/chall/1", "pending", "tok-en_1", {}};
  REQUIRE((*responder)->present(name, challenge, "tok-en_1.thumbprint"));

  CHECK(get(port, "/.well-known/acme-challenge/tok-en_1").out == "tok-en_1.thumbprint\n200");
  for (const char* other :
       {"/.well-known/acme-challenge/other", "/.well-known/acme-challenge/",
        "/.well-known/acme-challenge/tok-en_1/../../etc/passwd", "/", "/tok-en_1"}) {
    CAPTURE(other);
    CHECK(get(port, other).out.ends_with("404"));
  }
  (*responder)->cleanup(name, challenge);
  CHECK(get(port, "/.well-known/acme-challenge/tok-en_1").out.ends_with("404"));
}

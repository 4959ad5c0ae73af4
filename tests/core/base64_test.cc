#include <doctest/doctest.h>

#include "core/base64.h"

using namespace ck;

TEST_CASE("base64 encodes the RFC 4648 §10 test vectors") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded).value() == plain);
    std::string url = encoded;
    url.erase(url.find_last_not_of('=') + 1);
    CHECK(base64url_encode(plain) == url);
    CHECK(base64url_decode(url).value() == plain);
  }
}

TEST_CASE("base64url uses - and _ and never pads") {
  const std::string bytes("\xfb\xff\xbf", 3);
  CHECK(base64url_encode(bytes) == "-_-_");
  CHECK(base64_encode(bytes) == "+/+/");
  CHECK(base64url_decode("-_-_").value() == bytes);
}

TEST_CASE("base64url rejects what RFC 8555 forbids") {
  struct Case {
    std::string name;
    const char* text;
  };
  const Case cases[] = {
      {"bad_padding", "Zg=="},
      {"bad_standard_alphabet", "+/+/"},
      {"bad_whitespace", "Zm9v Yg"},
      {"bad_impossible_length", "Zm9vY"},
      {"bad_nonzero_trailing_bits", "Zh"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto decoded = base64url_decode(c.text);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == Errc::parse);
  }
}

TEST_CASE("base64 skips PEM line breaks and rejects garbage") {
  CHECK(base64_decode("Zm9v\nYmFy\r\n").value() == "foobar");
  CHECK_FALSE(base64_decode("Zm9v!mFy"));
  CHECK_FALSE(base64_decode("Zm9vYg=x"));
  CHECK_FALSE(base64_decode("Zg==="));
}

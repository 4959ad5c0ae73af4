#include <doctest/doctest.h>

#include <random>

#include "acme/ari.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::acme;
using namespace ck::test;

namespace {

// A leaf whose AKI keyIdentifier and serial are chosen: the issuer gets that
// subject key identifier, so keyid:always copies it into the leaf.
Issued leaf_with(const std::string& issuer_ski_hex, const std::string& serial_hex) {
  CertificateSpec ca;
  ca.common_name = "ARI Test CA";
  ca.is_ca = true;
  ca.not_before = kT0;
  ca.not_after = kT0 + 365 * kDay;
  ca.subject_key_id_hex = issuer_ski_hex;
  Issued issuer = TestPki::make(ca, nullptr);
  CertificateSpec spec;
  spec.dns_names = {"ari.example.test"};
  spec.not_before = kT0;
  spec.not_after = kT0 + 90 * kDay;
  spec.serial_hex = serial_hex;
  return TestPki::make(spec, &issuer);
}

}  // namespace

TEST_CASE("the certificate identifier of the RFC 9773 §4.1 example") {
  Issued leaf = leaf_with("69885B6B87464041E1B37B847BA0AE2CDE01C8D4", "87654321");
  CHECK(certificate_identifier(*leaf.cert).value() == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
}

TEST_CASE("serials without the high bit carry no leading zero") {
  Issued leaf = leaf_with("0102030405060708090A0B0C0D0E0F1011121314", "0A1B");
  CHECK(certificate_identifier(*leaf.cert).value() == "AQIDBAUGBwgJCgsMDQ4PEBESExQ.Chs");
}

TEST_CASE("bad: a certificate without an Authority Key Identifier has no identifier") {
  Issued leaf = leaf_with("0102030405060708090A0B0C0D0E0F1011121314", "01");
  X509_EXTENSION* aki = X509_delete_ext(
      leaf.cert.get(), X509_get_ext_by_NID(leaf.cert.get(), NID_authority_key_identifier, -1));
  ossl::X509ExtensionPtr owner(aki);
  auto id = certificate_identifier(*leaf.cert);
  REQUIRE_FALSE(id);
  CHECK(id.error().message.find("no Authority Key Identifier") != std::string::npos);
}

TEST_CASE("renewal info objects are parsed and checked") {
  auto good = parse_renewal_info(R"({"suggestedWindow": {"start": "2025-01-02T04:00:00Z",
      "end": "2025-01-03T04:00:00Z"}, "explanationURL": "https://acme.example.com/docs/ari"})");
  REQUIRE(good);
  CHECK(good->start == 1735790400);
  CHECK(good->end == 1735790400 + kDay);
  CHECK(good->explanation_url == "https://acme.example.com/docs/ari");
  CHECK(parse_renewal_info(R"({"suggestedWindow": {"start": "2025-01-02T04:00:00.123Z",
      "end": "2025-01-03T04:00:00Z"}})"));
  struct Case {
    std::string name;
    std::string json;
  };
  for (
      const Case& c : {
          Case{"bad_garbage", "not json"},
          Case{"bad_no_window", R"({"explanationURL": "x"})"},
          Case{
              "bad_end_before_start",
              R"({"suggestedWindow": {"start": "2025-01-03T04:00:00Z", "end": "2025-01-02T04:00:00Z"}})"},
          Case{
              "bad_empty_window",
              R"({"suggestedWindow": {"start": "2025-01-03T04:00:00Z", "end": "2025-01-03T04:00:00Z"}})"},
          Case{"bad_time",
               R"({"suggestedWindow": {"start": "tomorrow", "end": "2025-01-03T04:00:00Z"}})"},
          Case{
              "bad_offset",
              R"({"suggestedWindow": {"start": "2025-01-02T04:00:00+02:00", "end": "2025-01-03T04:00:00Z"}})"},
      }) {
    CAPTURE(c.name);
    CHECK_FALSE(parse_renewal_info(c.json));
  }
}

TEST_CASE("the renewal time is uniform within the window, and now once it has passed") {
  const RenewalWindow window{kT0, kT0 + kDay, ""};
  CHECK(choose_renewal_time(window, kT0 - kDay, 0) == kT0);
  CHECK(choose_renewal_time(window, kT0 - kDay, kDay - 1) == kT0 + kDay - 1);
  CHECK(choose_renewal_time(window, kT0 + 2 * kDay, 12345) == kT0 + 2 * kDay);
  // A window half gone: the time is chosen from the half still ahead.
  for (std::uint64_t r : {0ull, 1ull, 12345ull, ~0ull}) {
    const auto t = choose_renewal_time(window, kT0 + kDay / 2, r);
    CHECK(t >= kT0 + kDay / 2);
    CHECK(t < kT0 + kDay);
  }
  std::mt19937_64 random(42);  // fixed seed: the check is deterministic
  double sum = 0;
  int outside = 0;
  constexpr int kSamples = 20000;
  for (int i = 0; i < kSamples; ++i) {
    const auto t = choose_renewal_time(window, kT0 - kDay, random());
    outside += (t < window.start || t >= window.end) ? 1 : 0;
    sum += static_cast<double>(t - window.start);
  }
  CHECK(outside == 0);
  CHECK(sum / kSamples == doctest::Approx(kDay / 2.0).epsilon(0.02));
}

TEST_CASE("a chosen time is kept while it fits the window") {
  const RenewalWindow window{kT0, kT0 + kDay, ""};
  CHECK(keep_or_choose_renewal_time(window, kT0 + 100, kT0 - kDay, 999) == kT0 + 100);
  const RenewalWindow moved{kT0 - 10 * kDay, kT0 - 9 * kDay, ""};  // e.g. after a mass revocation
  CHECK(keep_or_choose_renewal_time(moved, kT0 + 100, kT0, 999) == kT0);
  CHECK(keep_or_choose_renewal_time(window, std::nullopt, kT0 - kDay, 7) == kT0 + 7);
}

TEST_CASE("the next check follows Retry-After within bounds") {
  using std::chrono::seconds;
  CHECK(next_renewal_info_check(kT0, seconds(21600)) == kT0 + 21600);
  CHECK(next_renewal_info_check(kT0, seconds(1)) == kT0 + 60);
  CHECK(next_renewal_info_check(kT0, seconds(30 * kDay)) == kT0 + kDay / 2);  // twice a day
  CHECK(next_renewal_info_check(kT0, std::nullopt) == kT0 + 6 * 3600);
}

// CRL parsing and lookup (RFC 5280 §5) and the DER reader beneath it: every
// entry found, absent serials not, reasons kept, and truncated or tampered
// input refused without a crash.

#include <doctest/doctest.h>

#include "tests/support/test_support.h"
#include "validator/crl.h"
#include "validator/der.h"

using namespace ck;
using namespace ck::test;
using namespace ck::validator;

TEST_CASE("DER times: UTCTime's century rule and GeneralizedTime (RFC 5280 §4.1.2.5)") {
  struct Case {
    const char* name;
    unsigned char tag;
    const char* text;
    std::int64_t expected;  // -1: refused
  };
  for (const Case& c : {
           Case{"good_utc_2049", der::kUtcTime, "491231235959Z", 2524607999},
           Case{"good_utc_1950", der::kUtcTime, "500101000000Z", -631152000},
           Case{"good_generalized", der::kGeneralizedTime, "20260101000000Z", kT0},
           Case{"bad_no_z", der::kUtcTime, "2601010000000", -1},
           Case{"bad_month_13", der::kUtcTime, "261301000000Z", -1},
           Case{"bad_fraction", der::kGeneralizedTime, "20260101000000.5Z", -1},
           Case{"bad_digits", der::kUtcTime, "26010100x000Z", -1},
       }) {
    CAPTURE(c.name);
    auto t = der::parse_time({c.tag, c.text, {}});
    if (c.expected == -1) {
      CHECK_FALSE(t);
    } else {
      REQUIRE(t);
      CHECK(*t == c.expected);
    }
  }
}

TEST_CASE("a CRL of many entries: each found with its reason, absent ones not") {
  const Issued ca = TestPki::root("CRL Unit CA");
  std::vector<TestPki::Revoked> revoked;
  for (int i = 1; i <= 1000; ++i) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%X%08X", i, i * 2654435761u);
    revoked.push_back({hex, i % 11 == 7 ? -1 : i % 6, kT0 - i});
  }
  auto crl = Crl::parse(TestPki::crl(ca, revoked, kT0 - kDay, kT0 + 6 * kDay));
  REQUIRE(crl);
  CHECK((*crl)->size() == revoked.size());
  CHECK((*crl)->this_update() == kT0 - kDay);
  CHECK((*crl)->next_update() == kT0 + 6 * kDay);
  CHECK((*crl)->verify_issued_by(*ca.cert));
  for (const auto& r : revoked) {
    CAPTURE(r.serial_hex);
    const RevokedEntry* entry = (*crl)->find(serial_octets(r.serial_hex));
    REQUIRE(entry);
    CHECK(entry->reason == r.reason);
    CHECK(entry->revocation_date == r.at);
  }
  CHECK_FALSE((*crl)->find(serial_octets("0ABCDEF012345")));
  CHECK((*crl)->find(std::string("\0\0", 2) + serial_octets(revoked[3].serial_hex)));

  const Issued other = TestPki::root("CRL Unit CA");  // same name, other key
  CHECK_FALSE((*crl)->verify_issued_by(*other.cert));
}

TEST_CASE("bad: every truncation and a flipped byte are refused cleanly") {
  const Issued ca = TestPki::root("CRL Unit CA");
  const std::string der =
      TestPki::crl(ca, {{"01", 1}, {"02", -1}, {"0A0B0C", 4}}, kT0 - kDay, kT0 + kDay);
  for (std::size_t n = 0; n < der.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(Crl::parse(der.substr(0, n)));
  }
  CHECK_FALSE(Crl::parse(der + std::string(1, '\0')));
  for (std::size_t i = 0; i < der.size(); ++i) {
    std::string tampered = der;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    auto crl = Crl::parse(tampered);
    // Either it no longer parses, or its signature no longer verifies.
    CHECK((!crl || !(*crl)->verify_issued_by(*ca.cert)));
  }
}

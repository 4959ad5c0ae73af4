#include <doctest/doctest.h>

#include "daemon/lifecycle/inventory_view.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::daemon;
using ck::test::kDay;
using ck::test::kT0;

TEST_CASE("days left round down and go negative after expiry") {
  CHECK(days_left(kT0 + 30 * kDay, kT0) == 30);
  CHECK(days_left(kT0 + 30 * kDay - 1, kT0) == 29);
  CHECK(days_left(kT0, kT0) == 0);
  CHECK(days_left(kT0 - 1, kT0) == -1);
  CHECK(days_left(kT0 - kDay, kT0) == -1);
  CHECK(days_left(kT0 - kDay - 1, kT0) == -2);
}

TEST_CASE("a certificate is expired only after its notAfter second") {
  store::CertificateRecord r;
  r.not_after = kT0;
  CHECK(effective_status(r, kT0) == "active");  // RFC 5280: notAfter is inclusive
  CHECK(effective_status(r, kT0 + 1) == "expired");
  r.status = store::CertificateStatus::superseded;
  CHECK(effective_status(r, kT0 + 1) == "superseded");
  auto json = certificate_json(r, kT0 + 1);
  CHECK(json["expired"] == true);
  CHECK(json["not_after"] == "2026-01-01T00:00:00Z");
}

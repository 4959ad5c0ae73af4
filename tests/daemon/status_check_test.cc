// When a certificate's staples and revocation are checked again, pure.

#include "daemon/lifecycle/status_check.h"

#include <doctest/doctest.h>

#include "tests/support/test_support.h"

using namespace ck::daemon;
using ck::test::kDay;
using ck::test::kT0;

TEST_CASE("status checks: the soonest of staple refresh and nextUpdate, at least twice a day") {
  StatusCheck good;
  good.revocation = "good";
  CHECK(next_status_check(good, {}, 0, kT0) == kT0 + kDay / 2);
  CHECK(next_status_check(good, {kT0 + 3600}, kT0 + kDay, kT0) == kT0 + 3600);
  CHECK(next_status_check(good, {}, kT0 + 7200, kT0) == kT0 + 7200);
  // Never sooner than five minutes, even for an answer already stale.
  CHECK(next_status_check(good, {kT0 - 10}, 0, kT0) == kT0 + 300);
}

TEST_CASE("status checks: after a failure, again within the hour") {
  StatusCheck unavailable;
  unavailable.revocation = "unavailable";
  CHECK(next_status_check(unavailable, {}, 0, kT0) == kT0 + 3600);
  StatusCheck staple_failed;
  staple_failed.revocation = "good";
  staple_failed.staples = {{"/etc/www.ocsp", "", "connection refused", 0}};
  CHECK(next_status_check(staple_failed, {}, kT0 + kDay, kT0) == kT0 + 3600);
}

TEST_CASE(
    "status checks: the staple files are the staple path and the .ocsp beside a combined PEM") {
  CertificateConfig cert;
  CHECK(staple_paths(cert).empty());
  cert.staple = "/etc/nginx/www.ocsp";
  cert.deploy.combined = "/etc/haproxy/www.pem";
  CHECK(staple_paths(cert) ==
        std::vector<std::string>{"/etc/nginx/www.ocsp", "/etc/haproxy/www.pem.ocsp"});
}

// A CA's certificate is installed only when it is what was ordered: the CSR's
// key and exactly the ordered names (SECURITY.md: what a hostile CA can do).

#include "daemon/lifecycle/install.h"

#include <doctest/doctest.h>

#include "acme/csr.h"
#include "core/keys.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::daemon;
using namespace ck::test;

TEST_CASE("issued: the leaf must carry the CSR's key and exactly the ordered names") {
  const Issued ca = TestPki::root("Install Test CA");
  CertificateSpec spec;
  spec.common_name = "www.example.test";
  spec.dns_names = {"WWW.example.test", "example.test"};
  spec.ip_addresses = {"2001:db8::1"};
  spec.not_before = kT0;
  spec.not_after = kT0 + 90 * kDay;
  const Issued leaf = TestPki::make(spec, &ca);
  auto csr_of = [](EVP_PKEY& key) {
    return acme::build_csr(
               key, {{"dns", "www.example.test"}, {"dns", "example.test"}, {"ip", "2001:db8:0::1"}})
        .value();
  };
  const std::vector<std::string> names{"DNS:www.example.test", "DNS:example.test",
                                       "IP:2001:db8:0::1"};
  CHECK(check_issued(*leaf.cert, {csr_of(*leaf.key), names}));

  auto other_key = generate_key(KeyType::ecdsa_p256).value();
  auto wrong_key = check_issued(*leaf.cert, {csr_of(*other_key), names});
  REQUIRE_FALSE(wrong_key);
  CHECK(wrong_key.error().code == Errc::protocol);
  CHECK(wrong_key.error().message.find("another public key") != std::string::npos);

  auto fewer = check_issued(*leaf.cert, {csr_of(*leaf.key), {"DNS:www.example.test"}});
  REQUIRE_FALSE(fewer);
  CHECK(fewer.error().message.find("other names than ordered") != std::string::npos);
  auto more = names;
  more.push_back("DNS:mail.example.test");
  CHECK_FALSE(check_issued(*leaf.cert, {csr_of(*leaf.key), more}));
}

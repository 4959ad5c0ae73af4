#include <doctest/doctest.h>

#include "daemon/renewal_policy.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::daemon;
using ck::test::kDay;
using ck::test::kT0;

TEST_CASE("renewal is due by ARI first, then renew_before, then a third of the lifetime") {
  const std::int64_t nb = kT0;
  const std::int64_t na = kT0 + 90 * kDay;
  struct Case {
    std::string name;
    std::optional<std::int64_t> ari;
    std::optional<std::chrono::seconds> before;
    std::int64_t now;
    bool due;
    std::int64_t at;
  };
  const Case cases[] = {
      {"third_not_yet", {}, {}, kT0 + 59 * kDay, false, kT0 + 60 * kDay},
      {"third_due", {}, {}, kT0 + 60 * kDay, true, kT0 + 60 * kDay},
      {"renew_before_not_yet", {}, std::chrono::days(10), kT0 + 70 * kDay, false, kT0 + 80 * kDay},
      {"renew_before_due", {}, std::chrono::days(10), kT0 + 80 * kDay, true, kT0 + 80 * kDay},
      {"ari_overrides_early", kT0 + 20 * kDay, std::chrono::days(10), kT0 + 21 * kDay, true,
       kT0 + 20 * kDay},
      {"ari_overrides_late", kT0 + 85 * kDay, {}, kT0 + 61 * kDay, false, kT0 + 85 * kDay},
      {"expired", {}, {}, kT0 + 100 * kDay, true, kT0 + 60 * kDay},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto d = renewal_due(nb, na, c.ari, c.before, c.now);
    CHECK(d.due == c.due);
    CHECK(d.at == c.at);
    CHECK_FALSE(d.reason.empty());
  }
  CHECK(renewal_due(nb, na, kT0, {}, kT0).reason.find("ARI") != std::string::npos);
}

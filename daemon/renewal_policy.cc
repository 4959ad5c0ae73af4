#include "daemon/renewal_policy.h"

#include "core/clock.h"
#include "core/duration.h"

namespace ck::daemon {

RenewalDecision renewal_due(std::int64_t not_before, std::int64_t not_after,
                            std::optional<std::int64_t> ari_selected_time,
                            std::optional<std::chrono::seconds> renew_before, std::int64_t now) {
  std::int64_t at = 0;
  std::string rule;
  if (ari_selected_time) {
    at = *ari_selected_time;
    rule = "the time chosen in the CA's renewal window (ARI)";
  } else if (renew_before) {
    at = not_after - renew_before->count();
    rule = "renew_before " + format_duration(*renew_before) + " ahead of notAfter";
  } else {
    at = not_after - (not_after - not_before) / 3;
    rule = "a third of the lifetime left";
  }
  return RenewalDecision{now >= at, at, rule + " (" + format_rfc3339(at) + ")"};
}

}  // namespace ck::daemon

#include "daemon/lifecycle/renewal_policy.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "core/clock.h"
#include "core/duration.h"
#include "core/ip_address.h"

namespace ck::daemon {
namespace {

constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;

// The wait after the Nth renewal failure in a row (the last entry repeats):
// short at first, for a transient fault; hours once the CA is plainly down. A
// tenth of the time left caps each (retry_delay), so near expiry they shrink.
constexpr std::int64_t kRetryTable[] = {
    1 * kMinute, 5 * kMinute, 15 * kMinute, 1 * kHour, 3 * kHour, 6 * kHour, 12 * kHour, 24 * kHour,
};

struct BaseTime {
  std::int64_t at = 0;
  RenewalRule rule = RenewalRule::lifetime;
  std::string reason;
};

// Rule 3: ARI, else renew_before, else the lifetime fraction.
BaseTime base_time(const RenewalInputs& in, std::int64_t now) {
  if (in.ari && in.ari->fetched_at >= in.issued_at) {
    const AriAnswer& a = *in.ari;
    const std::string window =
        "ARI window " + format_rfc3339(a.window_start) + " to " + format_rfc3339(a.window_end);
    if (a.window_end <= now || a.window_start < in.not_before) {
      return {std::min(a.selected_time, now), RenewalRule::ari,
              window + (a.window_end <= now ? " has passed" : " opens before notBefore") +
                  ": renew now"};
    }
    return {a.selected_time, RenewalRule::ari,
            window + ", chosen " + format_rfc3339(a.selected_time)};
  }
  if (in.renew_before) {
    const std::int64_t at = in.not_after - in.renew_before->count();
    return {at, RenewalRule::renew_before,
            "renew_before " + format_duration(*in.renew_before) + " ahead of notAfter (" +
                format_rfc3339(at) + ")"};
  }
  const std::int64_t lifetime = in.not_after - in.not_before;
  const bool short_lived = lifetime < 10 * kDay;
  const std::int64_t at = in.not_before + (short_lived ? lifetime / 2 : lifetime * 2 / 3);
  return {at, RenewalRule::lifetime,
          std::string(short_lived ? "1/2" : "2/3") + " of the lifetime passed (" +
              format_rfc3339(at) + ")"};
}

// A name as compared: "dns:" and the lower-cased name, or "ip:" and the bytes.
std::string identity_key(const std::string& kind, const std::string& value) {
  if (kind == "ip") {
    return "ip:" + ip_address_bytes(value).value_or(value);
  }
  std::string lower = value;
  std::ranges::transform(lower, lower.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return "dns:" + lower;
}

}  // namespace

std::string identity_change(const std::vector<std::string>& domains,
                            const std::vector<std::string>& ips, const std::string& key_type,
                            const std::vector<std::string>& current_sans,
                            const std::string& current_key_type) {
  std::set<std::string> wanted;
  std::set<std::string> have;
  for (const auto& d : domains) {
    wanted.insert(identity_key("dns", d));
  }
  for (const auto& ip : ips) {
    wanted.insert(identity_key("ip", ip));
  }
  for (const auto& san : current_sans) {
    if (san.starts_with("DNS:")) {
      have.insert(identity_key("dns", san.substr(4)));
    } else if (san.starts_with("IP:")) {
      have.insert(identity_key("ip", san.substr(3)));
    }
  }
  std::string change;
  if (wanted != have) {
    change = "names";
  }
  if (key_type != current_key_type) {
    change +=
        (change.empty() ? "" : ", ") + std::string("key ") + current_key_type + " to " + key_type;
  }
  return change;
}

std::string_view to_string(RenewalRule rule) {
  switch (rule) {
    case RenewalRule::revoked: return "revoked";
    case RenewalRule::config_changed: return "config_changed";
    case RenewalRule::ari: return "ari";
    case RenewalRule::renew_before: return "renew_before";
    case RenewalRule::lifetime: return "lifetime";
    case RenewalRule::emergency: return "emergency";
    case RenewalRule::first_issue: return "first_issue";
    default: return "lifetime";
  }
}

std::chrono::seconds retry_delay(int failures, std::int64_t now, std::int64_t not_after,
                                 std::uint64_t random) {
  const auto index = static_cast<std::size_t>(
      std::clamp<int>(failures - 1, 0, static_cast<int>(std::size(kRetryTable)) - 1));
  const std::int64_t cap = std::max(kMinute, (not_after - now) / 10);
  const std::int64_t wait = std::min(kRetryTable[index], cap);
  const std::int64_t half = wait / 2;
  return std::chrono::seconds(
      half + static_cast<std::int64_t>(random % static_cast<std::uint64_t>(wait - half + 1)));
}

RenewalDecision decide_renewal(const RenewalInputs& in, std::int64_t now, std::uint64_t random) {
  RenewalDecision d;
  if (in.revoked) {
    d = {true, now, RenewalRule::revoked, 0, "the certificate is revoked: re-issue now"};
  } else if (!in.config_change.empty()) {
    d = {true, now, RenewalRule::config_changed, 0,
         "the configuration changed (" + in.config_change + "): re-issue now"};
  } else {
    BaseTime base = base_time(in, now);
    const std::int64_t floor = in.not_after - (in.not_after - in.not_before) / 6;
    if (floor < base.at) {
      base = {floor, RenewalRule::emergency,
              "1/6 of the lifetime left (" + format_rfc3339(floor) + "), the floor under " +
                  std::string(to_string(base.rule))};
    }
    d = {false, base.at, base.rule, 0, std::move(base.reason)};
  }
  hold_after_failures(d, in.failures, in.operator_asked, in.not_after, now, random);
  return d;
}

void hold_after_failures(RenewalDecision& d, const FailureStreak& failures, bool operator_asked,
                         std::optional<std::int64_t> not_after, std::int64_t now,
                         std::uint64_t random) {
  if (failures.count > 0 && !operator_asked) {
    // Without a certificate, nothing shortens the table's wait.
    const std::int64_t until = not_after.value_or(failures.last_at + 10 * 24 * kHour);
    const std::int64_t retry_at =
        failures.last_at + retry_delay(failures.count, failures.last_at, until, random).count();
    if (retry_at > d.at) {
      d.at = d.held_until = retry_at;
      d.reason += "; " + std::to_string(failures.count) + " failure" +
                  (failures.count == 1 ? "" : "s") + " in a row: retry at " +
                  format_rfc3339(retry_at);
    }
  }
  d.due = d.at <= now;
}

}  // namespace ck::daemon

#include "daemon/service/alert_policy.h"

#include <algorithm>
#include <set>

#include "core/clock.h"

namespace ck::daemon {
namespace {

// When a threshold is crossed, or none when it does not apply to this lifetime.
std::optional<std::int64_t> crossing_time(const ExpiryThreshold& t, std::int64_t not_before,
                                          std::int64_t not_after) {
  const std::int64_t lifetime = not_after - not_before;
  if (t.before) {
    if (lifetime <= 3 * t.before->count()) {
      return std::nullopt;
    }
    return not_after - t.before->count();
  }
  return not_after - lifetime * t.percent_left / 100;
}

void add_expiry(const AlertFacts& f, const AlertsConfig& config, std::int64_t now,
                AlertEvaluation& out) {
  if (!f.not_before || !f.not_after || f.revoked) {
    return;  // nothing to expire yet; a revoked one has its own alert
  }
  const std::int64_t not_after = *f.not_after;
  const std::string until = " (notAfter " + format_rfc3339(not_after) + ")";
  if (now > not_after) {
    out.firing.push_back({"expiry:" + f.name + ":expired", f.name, "expiry", "critical",
                          "certificate " + f.name + " has expired" + until});
    return;
  }
  out.next_change = not_after + 1;
  const ExpiryThreshold* tightest = nullptr;
  std::int64_t tightest_at = 0;
  for (const auto& t : config.before_expiry) {
    auto at = crossing_time(t, *f.not_before, not_after);
    if (!at) {
      continue;
    }
    if (*at > now) {
      out.next_change = std::min(*out.next_change, *at);
    } else if (!tightest || *at > tightest_at) {
      tightest = &t;
      tightest_at = *at;
    }
  }
  if (!tightest) {
    return;
  }
  // Under the renewal policy's emergency floor (1/6 of the lifetime) even the
  // last renewal attempts are failing: critical.
  const std::int64_t lifetime = not_after - *f.not_before;
  const bool past_floor = (not_after - now) * 6 < lifetime;
  out.firing.push_back({"expiry:" + f.name + ":" + tightest->label, f.name, "expiry",
                        past_floor ? "critical" : "warning",
                        "certificate " + f.name + " expires within " + tightest->label +
                            (tightest->before ? "" : " of its lifetime") +
                            " and has not been renewed" + until});
}

void add_failures(const AlertFacts& f, const AlertsConfig& config, AlertEvaluation& out) {
  if (f.failures.count <= 0) {
    return;
  }
  const std::string last = ": " + f.failures.last_error;
  if (f.failures.count >= config.failure_streak) {
    out.firing.push_back(
        {"renewal_failed:" + f.name + ":streak", f.name, "renewal_failed", "critical",
         "renewal of " + f.name + " failed " + std::to_string(config.failure_streak) +
             " or more times in a row; the latest" + last});
    return;
  }
  out.firing.push_back({"renewal_failed:" + f.name, f.name, "renewal_failed", "warning",
                        "renewal of " + f.name + " failed" + last});
}

}  // namespace

AlertEvaluation evaluate_alerts(const AlertFacts& facts, const AlertsConfig& config,
                                std::int64_t now) {
  AlertEvaluation out;
  add_expiry(facts, config, now, out);
  add_failures(facts, config, out);
  if (facts.revoked) {
    out.firing.push_back({"revoked:" + facts.name, facts.name, "revoked", "critical",
                          "certificate " + facts.name + " is revoked; it is being re-issued"});
  }
  if (facts.staple_expired) {
    out.firing.push_back(
        {"staple:" + facts.name + ":expired", facts.name, "staple", "critical",
         "the OCSP staple of " + facts.name + " is past its nextUpdate" +
             (facts.staple_error.empty() ? "" : "; refreshing failed: " + facts.staple_error)});
  } else if (!facts.staple_error.empty()) {
    out.firing.push_back(
        {"staple:" + facts.name + ":failing", facts.name, "staple", "warning",
         "the OCSP staple of " + facts.name +
             " could not be refreshed (the one on disk is still valid): " + facts.staple_error});
  }
  if (!facts.revocation_unavailable_by.empty()) {
    const bool crl = facts.revocation_unavailable_by == "crl";
    out.firing.push_back({std::string(crl ? "crl_unreachable:" : "ocsp_unreachable:") + facts.name,
                          facts.name, crl ? "crl_unreachable" : "ocsp_unreachable", "warning",
                          "the revocation status of " + facts.name + " could not be learned by " +
                              (crl ? "its CRL: " : "OCSP: ") + facts.revocation_error});
  }
  for (const auto& e : facts.endpoints) {
    if (!e.error.empty()) {
      out.firing.push_back(
          {"probe_failed:" + facts.name + ":" + e.endpoint, facts.name, "probe_failed", "warning",
           "probing " + e.endpoint + " for " + facts.name + " failed: " + e.error});
    } else if (!e.drift.empty()) {
      out.firing.push_back({"drift:" + facts.name + ":" + e.endpoint, facts.name, "drift",
                            "warning", e.endpoint + " " + e.drift});
    }
  }
  if (!facts.deploy_error.empty()) {
    out.firing.push_back({"deploy_failed:" + facts.name, facts.name, "deploy_failed", "warning",
                          "deploy of " + facts.name + " failed: " + facts.deploy_error});
  }
  return out;
}

AlertChanges compare_alerts(const std::vector<AlertCondition>& firing,
                            const std::vector<store::AlertRecord>& open,
                            const std::vector<std::string>& names) {
  AlertChanges out;
  const std::set<std::string> configured(names.begin(), names.end());
  for (const auto& condition : firing) {
    auto same = std::ranges::find(open, condition.key, &store::AlertRecord::dedup_key);
    if (same == open.end()) {
      out.open.push_back(condition);
    } else if (same->message != condition.message || same->severity != condition.severity) {
      out.refresh.push_back(condition);
    }
  }
  for (const auto& alert : open) {
    if (std::ranges::find(firing, alert.dedup_key, &AlertCondition::key) != firing.end()) {
      continue;
    }
    if (!configured.contains(alert.certificate_name)) {
      out.close.push_back({alert.dedup_key, "unconfigured"});
      continue;
    }
    const bool superseded = std::ranges::any_of(firing, [&](const AlertCondition& c) {
      return c.name == alert.certificate_name && c.kind == alert.kind;
    });
    out.close.push_back({alert.dedup_key, superseded ? "superseded" : "recovered"});
  }
  return out;
}

}  // namespace ck::daemon

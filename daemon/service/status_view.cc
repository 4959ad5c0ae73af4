#include "daemon/service/status_view.h"

#include <fmt/core.h>

#include <algorithm>
#include <random>
#include <tuple>
#include <unordered_set>

#include "core/clock.h"
#include "daemon/lifecycle/inventory_view.h"
#include "daemon/lifecycle/issue.h"

namespace ck::daemon {
namespace {

nlohmann::json time_or_null(std::int64_t t) {
  return t > 0 ? nlohmann::json(format_rfc3339(t)) : nlohmann::json(nullptr);
}

// The served against the stored fingerprint, from the latest probe of each endpoint.
Result<nlohmann::json> served_status(store::Inventory& inventory, const CertificateConfig& cert,
                                     const std::string& stored) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& endpoint : cert.probe) {
    CK_TRY(latest, inventory.probes().latest(endpoint));
    if (!latest) {
      out.push_back({{"endpoint", endpoint}, {"probed_at", nullptr}});
      continue;
    }
    out.push_back({{"endpoint", endpoint},
                   {"probed_at", format_rfc3339(latest->probed_at)},
                   {"served_sha256", latest->leaf_sha256},
                   {"matches", !stored.empty() && latest->leaf_sha256 == stored},
                   {"error", latest->error}});
  }
  return out;
}

Result<nlohmann::json> row(const CertificateConfig& cert, const Config& config,
                           store::Inventory& inventory, std::int64_t now,
                           const LiveCertificate* live) {
  nlohmann::json r{{"name", cert.name}};
  RenewalDecision decision;
  std::optional<store::CertificateRecord> current;
  if (live) {
    decision = live->state.renewal;
  } else {
    CK_TRY(check, check_renewal(cert, config, inventory, now, {}, false, std::random_device{}()));
    decision = check.decision;
    current = check.current;
  }
  if (!current) {
    CK_TRY(active, current_version(inventory, cert.name));
    current = std::move(active);
  }
  r["names"] = current ? nlohmann::json(current->sans) : nlohmann::json::array();
  r["sha256"] = current ? current->sha256 : "";
  r["not_after"] = time_or_null(current ? current->not_after : 0);
  r["days_left"] = current ? nlohmann::json((current->not_after - now) / 86400) : nullptr;
  r["next_action"] = {{"kind", "renew"},
                      {"at", format_rfc3339(decision.at)},
                      {"due", decision.due},
                      {"rule", to_string(decision.rule)},
                      {"reason", decision.reason}};
  if (current) {
    CK_TRY(ari, inventory.renewal_info().find(current->id));
    r["ari_window"] = ari ? nlohmann::json{{"start", format_rfc3339(ari->window_start)},
                                           {"end", format_rfc3339(ari->window_end)},
                                           {"fetched_at", format_rfc3339(ari->fetched_at)}}
                          : nlohmann::json(nullptr);
    CK_TRY(staple, inventory.staples().find(current->id));
    r["staple"] =
        staple
            ? nlohmann::json{{"path", staple->path},
                             {"status", staple->cert_status},
                             {"fetched_at", time_or_null(staple->fetched_at)},
                             {"age_seconds", staple->fetched_at > 0 ? now - staple->fetched_at : 0},
                             {"next_update", time_or_null(staple->next_update)},
                             {"error", staple->last_error}}
            : nlohmann::json(nullptr);
  }
  CK_TRY(served, served_status(inventory, cert, current ? current->sha256 : ""));
  r["served"] = std::move(served);
  if (live && live->status && live->status->sha256 == r["sha256"].get_ref<const std::string&>()) {
    const StatusCheck& c = *live->status;
    r["revocation"] = {{"status", c.revocation},
                       {"method", c.method},
                       {"source", c.source},
                       {"error", c.error},
                       {"checked_at", time_or_null(live->status_checked_at)},
                       {"next_check", time_or_null(c.next_check)}};
  } else if (live) {
    r["revocation"] = {{"status", live->status_error.empty() ? "not_checked_yet" : "check_failed"},
                       {"error", live->status_error}};
  }
  // Without the service, what the inventory alone tells.
  r["state"] = live                                    ? certificate_state(*live, now)
               : decision.rule == RenewalRule::revoked ? "revoked"
               : !current                              ? "pending"
               : current->not_after < now              ? "expired"
                                                       : "ok";
  if (live) {
    r["running"] = live->running ? nlohmann::json(to_string(*live->running)) : nullptr;
    r["last_attempt"] = {
        {"at", time_or_null(live->last_attempt_at)},
        {"result", live->last_result},
        {"error", live->failures.count > 0 || live->deploy_error.empty() ? live->failures.last_error
                                                                         : live->deploy_error},
        {"failures_in_a_row", live->failures.count}};
  }
  return r;
}

}  // namespace

std::string_view certificate_state(const LiveCertificate& live, std::int64_t now) {
  const bool drifted = std::ranges::any_of(
      live.probes, [](const EndpointProbe& p) { return !p.error.empty() || !p.matches; });
  if (live.revoked) {
    return "revoked";
  }
  if (live.not_after && *live.not_after < now) {
    return "expired";
  }
  if (live.failures.count > 0 || !live.deploy_error.empty()) {
    return "failing";  // while it retries, too
  }
  if (live.running == JobKind::renew) {
    return "renewing";
  }
  if (drifted) {
    return "drifted";
  }
  return live.not_after ? "ok" : "pending";
}

std::string last_error(const LiveCertificate& live) {
  if (!live.failures.last_error.empty() && live.failures.count > 0) {
    return live.failures.last_error;
  }
  if (!live.deploy_error.empty()) {
    return "deploy: " + live.deploy_error;
  }
  for (const auto& p : live.probes) {
    if (!p.error.empty() || !p.matches) {
      return p.endpoint + ": " + p.message;
    }
  }
  if (!live.status_error.empty()) {
    return "status check: " + live.status_error;
  }
  if (live.status && !live.status->error.empty()) {
    return "revocation: " + live.status->error;
  }
  return "";
}

namespace {

// The worst first: what an operator must look at before what is fine.
int urgency(std::string_view state) {
  static constexpr std::string_view kWorstFirst[] = {"expired", "failing",  "revoked", "drifted",
                                                     "pending", "renewing", "ok"};
  return static_cast<int>(std::ranges::find(kWorstFirst, state) - std::begin(kWorstFirst));
}

struct Ranked {
  std::size_t index;  // in the configuration, or in the service's records
  std::string_view state;
  std::int64_t next_renewal;
};

// The indexes of the `limit` most urgent (0: all), in configuration order.
std::vector<std::size_t> most_urgent(std::vector<Ranked> ranked, std::size_t limit) {
  if (limit > 0 && ranked.size() > limit) {
    const auto before = [](const Ranked& a, const Ranked& b) {
      return std::tuple(urgency(a.state), a.next_renewal, a.index) <
             std::tuple(urgency(b.state), b.next_renewal, b.index);
    };
    std::ranges::nth_element(ranked, ranked.begin() + static_cast<std::ptrdiff_t>(limit), before);
    ranked.resize(limit);
  }
  std::vector<std::size_t> kept;
  kept.reserve(ranked.size());
  for (const auto& r : ranked) {
    kept.push_back(r.index);
  }
  std::ranges::sort(kept);
  return kept;
}

nlohmann::json summary(const std::vector<Ranked>& ranked, std::size_t shown) {
  nlohmann::json states = nlohmann::json::object();
  for (const auto& r : ranked) {
    auto& count = states[std::string(r.state)];
    count = count.is_null() ? 1 : count.get<std::size_t>() + 1;
  }
  return {{"certificates", ranked.size()}, {"shown", shown}, {"states", std::move(states)}};
}

}  // namespace

bool is_problem_state(std::string_view state) {
  return state == "pending" || state == "expired" || state == "revoked" || state == "failing";
}

Result<nlohmann::json> certificates_status(const Config& config, store::Inventory& inventory,
                                           std::int64_t now,
                                           const std::map<std::string, LiveCertificate>* live,
                                           std::size_t limit, std::string_view only) {
  const auto& certs = config.certificates;
  std::vector<Ranked> ranked;
  ranked.reserve(certs.size());
  nlohmann::json rows = nlohmann::json::array();
  if (live) {
    // The service knows every state: ranked from its records (no lookup by
    // name for each of 100,000), rows built for the kept ones only.
    std::vector<const std::string*> names;
    names.reserve(live->size());
    for (const auto& [name, l] : *live) {
      ranked.push_back({names.size(), certificate_state(l, now), l.state.renewal.at});
      names.push_back(&name);
    }
    std::unordered_set<std::string_view> kept;
    if (!only.empty()) {
      kept.insert(only);
    } else {
      for (const std::size_t i : most_urgent(ranked, limit)) {
        kept.insert(*names[i]);
      }
    }
    for (const auto& cert : certs) {  // in configuration order
      const auto record = live->find(cert.name);
      if (kept.contains(cert.name) && record != live->end()) {
        CK_TRY(r, row(cert, config, inventory, now, &record->second));
        rows.push_back(std::move(r));
      }
    }
  } else {
    // Alone, a state is learned by building the row.
    std::vector<nlohmann::json> all;
    all.reserve(certs.size());
    for (std::size_t i = 0; i < certs.size(); ++i) {
      CK_TRY(r, row(certs[i], config, inventory, now, nullptr));
      all.push_back(std::move(r));
    }
    for (std::size_t i = 0; i < certs.size(); ++i) {
      ranked.push_back({i, all[i]["state"].get_ref<const std::string&>(),
                        parse_rfc3339(all[i]["next_action"]["at"].get<std::string>()).value_or(0)});
    }
    std::vector<std::size_t> kept;
    if (!only.empty()) {
      for (std::size_t i = 0; i < certs.size(); ++i) {
        if (certs[i].name == only) {
          kept.push_back(i);
        }
      }
    } else {
      kept = most_urgent(ranked, limit);
    }
    nlohmann::json counted = summary(ranked, kept.size());  // before the rows move out
    for (const std::size_t i : kept) {
      rows.push_back(std::move(all[i]));
    }
    return nlohmann::json{{"summary", std::move(counted)}, {"certificates", std::move(rows)}};
  }
  return nlohmann::json{{"summary", summary(ranked, rows.size())},
                        {"certificates", std::move(rows)}};
}

Result<nlohmann::json> alerts_view(store::Inventory& inventory, const AlertQuery& query) {
  std::vector<store::AlertRecord> alerts;
  if (query.open_only) {
    CK_TRY(open, inventory.alerts().open_alerts());
    for (auto& a : open) {
      if (!query.name || a.certificate_name == *query.name) {
        alerts.push_back(std::move(a));
      }
    }
    std::ranges::reverse(alerts);  // newest first, as the history
  } else {
    CK_TRY(history, inventory.alerts().history(query.limit, query.name));
    alerts = std::move(history);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : alerts) {
    CK_TRY(notices, inventory.alerts().notices_of(a.id));
    nlohmann::json sent = nlohmann::json::array();
    for (const auto& n : notices) {
      sent.push_back(
          {{"notice", n.notice},
           {"sink", n.sink},
           {"state", n.delivered_at  ? "delivered"
                     : n.given_up_at ? "given_up"
                                     : "pending"},
           {"attempts", n.attempts},
           {"delivered_at", time_or_null(n.delivered_at.value_or(0))},
           {"next_attempt_at", n.delivered_at || n.given_up_at ? nlohmann::json(nullptr)
                                                               : time_or_null(n.next_attempt_at)},
           {"last_error", n.last_error}});
    }
    out.push_back({{"id", a.id},
                   {"key", a.dedup_key},
                   {"state", a.resolved_at ? "resolved" : "open"},
                   {"certificate", a.certificate_name},
                   {"kind", a.kind},
                   {"severity", a.severity},
                   {"message", a.message},
                   {"first_fired_at", time_or_null(a.first_fired_at)},
                   {"last_fired_at", time_or_null(a.last_fired_at)},
                   {"resolved_at", time_or_null(a.resolved_at.value_or(0))},
                   {"resolution", a.resolution},
                   {"notices", std::move(sent)}});
  }
  return out;
}

std::string alerts_table(const nlohmann::json& alerts) {
  std::string out = fmt::format("{:>5} {:<10} {:<8} {:<20} {:<20} {:<20} {}\n", "ID", "STATE",
                                "SEVERITY", "CERTIFICATE", "KIND", "FIRED", "MESSAGE");
  for (const auto& a : alerts) {
    std::string state = a["state"].get<std::string>();
    if (!a["resolution"].get<std::string>().empty()) {
      state = a["resolution"].get<std::string>();
    }
    std::string message = a["message"].get<std::string>();
    for (const auto& n : a["notices"]) {
      if (n["state"] != "delivered") {
        message += " [" + n["notice"].get<std::string>() + " by " + n["sink"].get<std::string>() +
                   ": " + n["state"].get<std::string>() +
                   (n["last_error"].get<std::string>().empty()
                        ? ""
                        : ", " + n["last_error"].get<std::string>()) +
                   "]";
      }
    }
    out +=
        fmt::format("{:>5} {:<10} {:<8} {:<20} {:<20} {:<20} {}\n", a["id"].get<std::int64_t>(),
                    state, a["severity"].get<std::string>(), a["certificate"].get<std::string>(),
                    a["kind"].get<std::string>(), a["first_fired_at"].get<std::string>(), message);
  }
  return out;
}

namespace {

// SGR colours of the states on a terminal.
std::string_view state_colour(std::string_view state) {
  static constexpr std::pair<std::string_view, std::string_view> kColours[] = {
      {"ok", "\x1b[32m"},        {"renewing", "\x1b[34m"}, {"failing", "\x1b[1;31m"},
      {"expired", "\x1b[1;31m"}, {"drifted", "\x1b[33m"},  {"revoked", "\x1b[1;35m"}};
  for (const auto& [name, sgr] : kColours) {
    if (name == state) {
      return sgr;
    }
  }
  return "\x1b[2m";  // pending: dim
}

}  // namespace

std::string status_summary(const nlohmann::json& summary) {
  const std::size_t total = summary.value("certificates", std::size_t{0});
  const std::size_t shown = summary.value("shown", total);
  std::string counts;
  const nlohmann::json states = summary.value("states", nlohmann::json::object());
  for (const auto& [state, count] : states.items()) {
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", count.get<std::size_t>(), state);
  }
  std::string out = fmt::format("{} certificate{}{}{}\n", total, total == 1 ? "" : "s",
                                counts.empty() ? "" : ": ", counts);
  if (shown < total) {
    out += fmt::format(
        "{} not shown: the rows are the {} most urgent (--limit N for more, --all for every one)\n",
        total - shown, shown);
  }
  return out;
}

std::string status_table(const nlohmann::json& rows, std::int64_t, bool colour) {
  std::string out = fmt::format("{:<24} {:<9} {:<20} {:>5} {:<20} {:<8} {}\n", "NAME", "STATE",
                                "NOT AFTER", "DAYS", "NEXT RENEWAL", "RULE", "LAST ERROR");
  for (const auto& r : rows) {
    const auto text = [](const nlohmann::json& v) {
      return v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump();
    };
    std::string error = "-";
    if (r.contains("last_attempt") && !r["last_attempt"]["error"].get<std::string>().empty()) {
      error = r["last_attempt"]["error"].get<std::string>();
    }
    const std::string state = r.value("state", "");
    // Padded before colouring: escape codes take no columns.
    std::string state_cell = fmt::format("{:<9}", state);
    if (colour) {
      state_cell = std::string(state_colour(state)) + state_cell + "\x1b[0m";
    }
    out += fmt::format("{:<24} {} {:<20} {:>5} {:<20} {:<8} {}\n", r["name"].get<std::string>(),
                       state_cell, text(r["not_after"]), text(r["days_left"]),
                       r["next_action"]["due"] == true ? "due now" : text(r["next_action"]["at"]),
                       text(r["next_action"]["rule"]), error);
  }
  return out;
}

}  // namespace ck::daemon

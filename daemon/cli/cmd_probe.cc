// certkeeper probe HOST[:PORT] [--sni NAME] [--connect ADDR] [--starttls smtp|imap|pop3]
//   [--expect NAME | --expect-fingerprint SHA256] [--trace] [--scan] [--timeout DURATION]
//   [--early-data[=empty]] [--allow-early-data] [--handshakes [--repeat N]] [--ca-file FILE]
//   [--json]
// certkeeper probe --targets FILE [--concurrency N] [--sni NAME] [--json]

#include <fmt/core.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/duration.h"
#include "core/host_port.h"
#include "daemon/cli/cli.h"
#include "daemon/cli/verification.h"
#include "daemon/lifecycle/deployment_check.h"
#include "daemon/service/control_client.h"
#include "validator/probe/handshake_costs.h"
#include "validator/probe/probe.h"
#include "validator/probe/scan.h"
#include "validator/public_suffix.h"

namespace ck::daemon {
namespace {

struct ProbeOptions {
  std::string target;
  std::string certificate;  // --certificate NAME: its configured endpoints
  std::string sni;
  std::string connect;
  std::string starttls;
  std::string expect;
  std::string expect_fingerprint;
  std::string timeout = "10s";
  std::string ca_file;
  int warn_days = 14;
  std::string targets_file;
  std::size_t concurrency = 64;
  bool trace = false;
  bool scan = false;
  std::string early_data;  // set: --early-data ("head"), or --early-data=empty
  bool allow_early_data = false;
  bool handshakes = false;
  int repeat = 5;
  bool json = false;
};

// A target as given: HOST[:PORT], port 443 by default.
std::expected<std::pair<std::string, int>, CommandFailure> parse_target(const std::string& text) {
  auto target = parse_host_port(text, 443);
  if (!target) {
    return std::unexpected(CommandFailure{kExitUsage, target.error().message});
  }
  return std::pair(target->host, target->port);
}

std::string normalized_fingerprint(std::string text) {
  std::erase(text, ':');
  std::ranges::transform(text, text.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

nlohmann::json scan_json(const validator::ScanReport& scan) {
  nlohmann::json versions = nlohmann::json::array();
  for (const auto& v : scan.versions) {
    nlohmann::json ciphers = nlohmann::json::array();
    for (const auto& c : v.ciphers) {
      ciphers.push_back(
          {{"name", c.name},
           {"openssl", c.openssl.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.openssl)}});
    }
    nlohmann::json row = {{"version", v.version},
                          {"state", v.state},
                          {"ciphers", std::move(ciphers)},
                          {"undecided", v.undecided}};
    row["server_preference"] =
        v.preference_undecided ? nlohmann::json(nullptr) : nlohmann::json(v.server_preference);
    versions.push_back(std::move(row));
  }
  return {{"versions", std::move(versions)},
          {"groups", scan.groups},
          {"groups_from",
           scan.groups_from.empty() ? nlohmann::json(nullptr) : nlohmann::json(scan.groups_from)},
          {"preferred_group", scan.preferred_group.empty() ? nlohmann::json(nullptr)
                                                           : nlohmann::json(scan.preferred_group)},
          {"complete", scan.complete},
          {"handshakes", scan.handshakes},
          {"elapsed_ms", scan.elapsed_ms}};
}

std::string scan_text(const validator::ScanReport& scan) {
  std::string out =
      fmt::format("  scan      {} handshakes in {:.1f} ms{}\n", scan.handshakes, scan.elapsed_ms,
                  scan.complete ? "" : ", INCOMPLETE: some offers went unanswered");
  for (const auto& v : scan.versions) {
    const std::string order = v.preference_undecided ? "undecided"
                              : v.server_preference  ? "server"
                                                     : "client";
    const std::string detail =
        v.ciphers.empty() ? "" : fmt::format(" ({} suites, {} order)", v.ciphers.size(), order);
    out += fmt::format("    {:<8} {}{}\n", v.version, v.state, detail);
    for (const auto& c : v.ciphers) {
      out += fmt::format("      {}{}\n", c.name, c.openssl.empty() ? "" : " (" + c.openssl + ")");
    }
    for (const auto& c : v.undecided) {
      out += fmt::format("      {} (undecided)\n", c);
    }
  }
  if (!scan.groups.empty()) {
    std::string groups;
    for (const auto& g : scan.groups) {
      groups += (groups.empty() ? "" : ", ") + g;
    }
    out += fmt::format("    groups   {} ({}; {} first)\n", groups, scan.groups_from,
                       scan.preferred_group.empty() ? "-" : scan.preferred_group);
  }
  return out;
}

// With --early-data: what the ticket allowed, what was sent, whether the server
// took it, and the time to the answer's first byte with and without 0-RTT
// (null when none came); null without --early-data.
nlohmann::json early_data_json(const validator::EarlyDataReport& e) {
  if (!e.tried) {
    return nullptr;
  }
  auto ms = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nullptr; };
  return {{"max_bytes", e.max_bytes},
          {"sent", e.sent},
          {"status", e.status},
          {"first_byte_ms_0rtt", ms(e.first_byte_ms_0rtt)},
          {"first_byte_ms_1rtt", ms(e.first_byte_ms_1rtt)}};
}

// What was offered for resumption and whether it was taken; the ticket's
// lifetime hint when there was a ticket, whether TLS 1.2 negotiated the
// extended master secret (null for TLS 1.3, which always binds it).
nlohmann::json resumption_json(const validator::ProbeReport& r) {
  const auto& f = r.resumption_facts;
  return {{"offered", r.resumption},
          {"accepted", r.resumption_accepted},
          {"ticket_lifetime_s", f.ticket ? nlohmann::json(f.ticket_lifetime_s) : nullptr},
          {"extended_master_secret",
           f.protocol == "TLSv1.3" ? nullptr : nlohmann::json(f.extended_master_secret)}};
}

nlohmann::json trace_json(const std::vector<validator::TraceMessage>& messages) {
  nlohmann::json trace = nlohmann::json::array();
  for (const auto& m : messages) {
    trace.push_back({{"direction", m.sent ? "sent" : "received"},
                     {"message", m.what},
                     {"bytes", m.bytes},
                     {"at_ms", m.at_ms}});
  }
  return trace;
}

std::string trace_text(const std::vector<validator::TraceMessage>& messages,
                       std::string_view indent) {
  std::string out;
  for (const auto& m : messages) {
    out += fmt::format("{}{:>8.2f} ms  {}  {} ({} bytes)\n", indent, m.at_ms, m.sent ? "->" : "<-",
                       m.what, m.bytes);
  }
  return out;
}

// --handshakes: each kind, measured (its median sample, with its trace under
// --trace) or with the reason it was not.
nlohmann::json costs_json(const std::vector<validator::HandshakeCost>& costs, bool trace) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : costs) {
    nlohmann::json row = {{"kind", validator::to_string(c.kind)},
                          {"measured", c.unmeasured.empty()}};
    if (!c.unmeasured.empty()) {
      row["reason"] = c.unmeasured;
      out.push_back(std::move(row));
      continue;
    }
    auto or_null = [](const std::string& text) {
      return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
    };
    row["samples"] = c.samples;
    row["round_trips"] = c.round_trips;
    row["round_trips_before_data"] = c.round_trips_before_data;
    row["median_ms"] = c.median_ms;
    row["server_ms"] = c.server_ms;
    row["bytes_sent"] = c.bytes_sent;
    row["bytes_received"] = c.bytes_received;
    row["group"] = c.group;
    row["key_share"] = or_null(c.key_share);
    row["early_data"] = or_null(c.early_data);
    if (trace) {
      row["trace"] = trace_json(c.trace);
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::string costs_text(const std::vector<validator::HandshakeCost>& costs, bool trace) {
  std::string out =
      fmt::format("  {:<26} {:>3} {:>9} {:>9} {:>9} {:>8} {:>8}  {}\n", "handshake", "RTT",
                  "data RTT", "median ms", "server ms", "bytes >", "bytes <", "group");
  for (const auto& c : costs) {
    if (!c.unmeasured.empty()) {
      out += fmt::format("  {:<26} not measured: {}\n", validator::describe(c.kind), c.unmeasured);
      continue;
    }
    std::string group = c.key_share.empty() ? c.group : c.key_share + " -> " + c.group;
    if (!c.early_data.empty()) {
      group += ", early data " + c.early_data;
    }
    out += fmt::format("  {:<26} {:>3} {:>9} {:>9.2f} {:>9.2f} {:>8} {:>8}  {}\n",
                       validator::describe(c.kind), c.round_trips, c.round_trips_before_data,
                       c.median_ms, c.server_ms, c.bytes_sent, c.bytes_received, group);
    if (trace) {
      out += trace_text(c.trace, "    ");
    }
  }
  return out;
}

nlohmann::json report_json(const validator::ProbeReport& r) {
  const auto& h = r.handshake;
  nlohmann::json chain = nlohmann::json::array();
  for (const auto& c : r.served) {
    chain.push_back({{"subject", c.facts.info.subject},
                     {"issuer", c.facts.info.issuer},
                     {"not_after", format_rfc3339(c.facts.info.not_after)},
                     {"sha256", c.facts.info.sha256},
                     {"key", c.facts.info.key_type}});
  }
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : r.findings) {
    findings.push_back(
        {{"severity", validator::to_string(f.severity)}, {"code", f.code}, {"message", f.message}});
  }
  return {{"target", r.target},
          {"address", r.address},
          {"sni", r.sni},
          {"timings_ms",
           {{"resolve", r.resolve_ms},
            {"connect", h.connect_ms},
            {"handshake", h.handshake_ms},
            {"total", r.total_ms}}},
          {"round_trips", h.round_trips},
          {"protocol", h.protocol},
          {"cipher", h.cipher},
          {"group", h.group},
          {"signature_algorithm", h.signature_algorithm},
          {"alpn", h.alpn},
          {"chain", std::move(chain)},
          {"chain_valid", r.validation.valid()},
          {"chain_error", validator::to_string(r.validation.code)},
          {"staple",
           {{"present", r.staple.present},
            {"verified", r.staple.verified},
            {"status", r.staple.status},
            {"next_update", r.staple.next_update ? format_rfc3339(r.staple.next_update) : ""}}},
          {"resumption", resumption_json(r)},
          {"early_data", early_data_json(r.early_data)},
          {"same_certificate_without_sni", r.same_certificate_without_sni
                                               ? nlohmann::json(*r.same_certificate_without_sni)
                                               : nlohmann::json(nullptr)},
          {"findings", std::move(findings)},
          {"trace", trace_json(h.trace)}};
}

std::string report_text(const validator::ProbeReport& r) {
  const auto& h = r.handshake;
  std::string out = fmt::format("{} ({}){}\n", r.target, r.address,
                                r.sni.empty() ? ", no SNI" : ", SNI " + r.sni);
  out += fmt::format(
      "  timings   resolve {:.1f} ms, connect {:.1f} ms, handshake {:.1f} ms ({} round "
      "trip{}), total {:.1f} ms\n",
      r.resolve_ms, h.connect_ms, h.handshake_ms, h.round_trips, h.round_trips == 1 ? "" : "s",
      r.total_ms);
  out += fmt::format("  tls       {} {}, group {}, signature {}, ALPN {}\n", h.protocol, h.cipher,
                     h.group.empty() ? "-" : h.group,
                     h.signature_algorithm.empty() ? "-" : h.signature_algorithm,
                     h.alpn.empty() ? "-" : h.alpn);
  for (std::size_t i = 0; i < r.served.size(); ++i) {
    const auto& info = r.served[i].facts.info;
    out += fmt::format("  served {}  {}  until {}  sha256 {}\n", i, info.subject,
                       format_rfc3339(info.not_after), info.sha256.substr(0, 16));
  }
  out += fmt::format("  chain     {}\n",
                     r.validation.valid()
                         ? std::string("valid")
                         : fmt::format("invalid ({})", validator::to_string(r.validation.code)));
  out += fmt::format("  staple    {}\n",
                     !r.staple.present ? std::string("none")
                     : r.staple.verified
                         ? r.staple.status + ", next update " + format_rfc3339(r.staple.next_update)
                         : "invalid: " + r.staple.error);
  out += fmt::format("  resume    {}\n",
                     r.resumption.empty()
                         ? std::string("nothing to resume")
                         : r.resumption + (r.resumption_accepted ? " accepted" : " not accepted"));
  if (const auto& e = r.early_data; e.tried) {
    auto ms = [](const std::optional<double>& v) {
      return v ? fmt::format("{:.1f} ms", *v) : std::string("-");
    };
    out += fmt::format("  0-RTT     {} ({} bytes allowed), first byte {} with 0-RTT, {} without\n",
                       e.status, e.max_bytes, ms(e.first_byte_ms_0rtt), ms(e.first_byte_ms_1rtt));
  }
  out += fmt::format("  no SNI    {}\n", !r.same_certificate_without_sni   ? "handshake failed"
                                         : *r.same_certificate_without_sni ? "same certificate"
                                                                           : "another certificate");
  out += trace_text(h.trace, "  ");
  for (const auto& f : r.findings) {
    out += fmt::format("  {}: {}: {}\n", validator::to_string(f.severity), f.code, f.message);
  }
  return out;
}

std::expected<validator::TrustStore, CommandFailure> load_anchors(const std::string& ca_file) {
  auto roots = load_certificates(trust_anchor_file(ca_file), "trust anchors");
  if (!roots) {
    return std::unexpected(roots.error());
  }
  return validator::TrustStore(std::move(*roots), ca_file.empty()
                                                      ? validator::AnchorSource::system_store
                                                      : validator::AnchorSource::operator_given);
}

// --targets FILE: "HOST[:PORT] [SNI]" per line; blank lines and # comments skipped.
// A line without SNI gets --sni when given.
std::expected<std::vector<validator::ProbeRequest>, CommandFailure> read_targets(
    const ProbeOptions& o, const validator::ProbeRequest& defaults) {
  auto text = read_file(o.targets_file, 64u << 20);
  if (!text) {
    return std::unexpected(CommandFailure{kExitUsage, "--targets: " + text.error().describe()});
  }
  std::vector<validator::ProbeRequest> requests;
  std::istringstream lines(*text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string target_text;
    std::string sni;
    if (!(words >> target_text)) {
      continue;
    }
    words >> sni;
    auto target = parse_target(target_text);
    if (!target) {
      return std::unexpected(CommandFailure{
          kExitUsage,
          o.targets_file + ":" + std::to_string(number) + ": " + target.error().message});
    }
    validator::ProbeRequest request = defaults;
    request.host = target->first;
    request.port = target->second;
    if (!sni.empty()) {
      request.sni = sni;  // else --sni, else the host
    }
    requests.push_back(std::move(request));
  }
  return requests;
}

// Bulk: JSON lines (or a line of text) per target as each completes; a
// progress line on a terminal. Exit 3 if any target was unreachable, else 1
// if any had an error finding.
int run_bulk(const validator::Prober& prober, const std::vector<validator::ProbeRequest>& requests,
             const ProbeOptions& o) {
  const bool progress = ::isatty(STDERR_FILENO) == 1;
  std::size_t finished = 0;
  std::size_t unreachable = 0;
  std::size_t with_errors = 0;
  prober.probe_many(requests, o.concurrency, [&](std::size_t index, auto result) {
    ++finished;
    const auto& request = requests[index];
    const std::string target = request.host + ":" + std::to_string(request.port);
    if (!result) {
      ++unreachable;
      if (o.json) {
        fmt::print("{}\n", nlohmann::json{{"target", target},
                                          {"error",
                                           {{"code", to_string(result.error().code)},
                                            {"message", result.error().describe()}}}}
                               .dump());
      } else {
        fmt::print("{}: unreachable: {}\n", target, result.error().describe());
      }
    } else {
      with_errors += result->has_error() ? 1 : 0;
      if (o.json) {
        nlohmann::json j = report_json(*result);
        j.erase("trace");
        fmt::print("{}\n", j.dump());
      } else {
        fmt::print("{} (SNI {}): {} {}, chain {}, {} finding(s)\n", target,
                   result->sni.empty() ? "none" : result->sni, result->handshake.protocol,
                   result->handshake.cipher,
                   result->validation.valid()
                       ? "valid"
                       : std::string(validator::to_string(result->validation.code)),
                   result->findings.size());
      }
    }
    if (progress) {
      fmt::print(stderr, "\rprobed {}/{}, {} unreachable, {} with errors", finished,
                 requests.size(), unreachable, with_errors);
    }
  });
  if (progress) {
    fmt::print(stderr, "\n");
  }
  return unreachable > 0 ? kExitRuntime : with_errors > 0 ? kExitProblem : kExitOk;
}

// --certificate NAME: the configured endpoints, each against the current
// version. The running service probes them (recording the result, raising or
// recovering the drift alert) and its status is followed until it has; with
// no service they are probed here, the same way. Exit 1 when one is wrong.
int run_certificate_probe(const CliContext& context, const ProbeOptions& o) {
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  auto cert =
      std::ranges::find(session->config.certificates, o.certificate, &CertificateConfig::name);
  if (cert == session->config.certificates.end() || cert->probe.empty()) {
    return report_failure(CommandFailure{
        kExitUsage, cert == session->config.certificates.end()
                        ? "no [[certificate]] named \"" + o.certificate + "\""
                        : "certificate " + o.certificate + " has no probe endpoints"});
  }
  const std::int64_t asked_at = context.clock().unix_seconds();
  const std::string& socket = session->config.daemon.socket;
  std::vector<EndpointProbe> probes;
  auto asked = ask_service(socket, "probe", {{"name", o.certificate}}, std::chrono::seconds(10));
  if (asked && !asked->ok) {
    return report_failure(
        CommandFailure{kExitRuntime, "the service says: " + asked->code + ": " + asked->message});
  }
  if (asked) {
    // Followed in the service's status until each endpoint has been probed since.
    for (int i = 0; i < 4 * 120 && probes.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      const nlohmann::json row = service_row(socket, o.certificate);
      const auto served =
          row.is_object() ? row.value("served", nlohmann::json::array()) : nlohmann::json::array();
      bool all_new = !served.empty();
      for (const nlohmann::json& e : served) {
        const nlohmann::json probed = e.value("probed_at", nlohmann::json());
        auto at = probed.is_string() ? parse_rfc3339(probed.get<std::string>())
                                     : std::optional<std::int64_t>();
        all_new = all_new && at && *at >= asked_at;
      }
      for (const auto& e : all_new ? served : nlohmann::json::array()) {
        const std::string error = e.value("error", "");
        const bool matches = e.value("matches", false);
        probes.push_back({e.value("endpoint", ""), error, matches, e.value("served_sha256", ""),
                          !error.empty() ? error
                          : matches      ? "serves the current version of " + o.certificate
                                         : "serves another certificate than the current version"});
      }
    }
    if (probes.empty()) {
      return report_failure(
          CommandFailure{kExitRuntime, "the service did not probe " + o.certificate +
                                           " within 2 minutes (see certkeeper status)"});
    }
  } else {
    auto anchors = load_anchors(o.ca_file);
    const validator::PublicSuffixList suffixes;
    auto prober = anchors ? validator::Prober::create(*anchors, suffixes, context.clock())
                          : Result<validator::Prober>(std::unexpected(Error{}));
    if (!anchors || !prober) {
      return report_failure(!anchors ? anchors.error() : failure_from(prober.error()));
    }
    auto probed = probe_deployment(*cert, *session->inventory, *prober, asked_at);
    if (!probed) {
      return report_failure(failure_from(probed.error()));
    }
    probes = std::move(*probed);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : probes) {
    if (o.json) {
      out.push_back({{"endpoint", p.endpoint},
                     {"matches", p.error.empty() && p.matches},
                     {"served_sha256", p.served_sha256},
                     {"error", p.error},
                     {"message", p.message}});
    } else {
      fmt::print("{}: {}\n", p.endpoint, p.message);
    }
  }
  if (o.json) {
    fmt::print("{}\n", out.dump(2));
  }
  const bool wrong = std::ranges::any_of(
      probes, [](const EndpointProbe& p) { return !p.error.empty() || !p.matches; });
  return wrong ? kExitProblem : kExitOk;
}

int run_probe(const CliContext& context, const ProbeOptions& o) {
  if (!o.certificate.empty()) {
    return run_certificate_probe(context, o);
  }
  if (o.target.empty() == o.targets_file.empty()) {
    return report_failure(
        CommandFailure{kExitUsage, "name one HOST[:PORT], or --targets FILE for many"});
  }
  auto target = o.targets_file.empty() ? parse_target(o.target) : std::pair(std::string(), 0);
  auto timeout = parse_duration(o.timeout);
  if (!target || !timeout || timeout->count() <= 0) {
    return report_failure(!target ? target.error()
                                  : CommandFailure{kExitUsage, "--timeout: not a duration"});
  }
  auto anchors = load_anchors(o.ca_file);
  if (!anchors) {
    return report_failure(anchors.error());
  }
  const validator::PublicSuffixList suffixes;
  auto prober = validator::Prober::create(*anchors, suffixes, context.clock());
  if (!prober) {
    return report_failure(failure_from(prober.error()));
  }
  validator::ProbeRequest request;
  request.host = target->first;
  request.port = target->second;
  request.sni = o.sni;
  request.connect_address = o.connect;
  auto starttls = validator::parse_starttls(o.starttls);
  if (!starttls) {
    return report_failure(CommandFailure{kExitUsage, "--starttls: " + starttls.error().message});
  }
  request.starttls = *starttls;
  request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
  request.trace = o.trace;
  request.now = context.clock().unix_seconds();
  request.expiring_days = o.warn_days;
  if (!o.early_data.empty() && o.early_data != "head" && o.early_data != "empty") {
    return report_failure(
        CommandFailure{kExitUsage, "--early-data=" + o.early_data + ": give nothing or empty"});
  }
  request.early_data = !o.early_data.empty();
  request.early_data_empty = o.early_data == "empty";
  request.allow_early_data = o.allow_early_data;
  if (!o.targets_file.empty()) {
    auto requests = read_targets(o, request);
    if (!requests) {
      return report_failure(requests.error());
    }
    return run_bulk(*prober, *requests, o);
  }
  auto report = prober->probe(request);
  if (!report) {
    return report_failure(CommandFailure{kExitRuntime, report.error().describe()});
  }
  std::optional<nlohmann::json> expectation;    // --expect NAME: what the inventory says
  std::unique_ptr<store::Inventory> inventory;  // opened for --expect only
  if (!report->served.empty()) {
    const std::string& served = report->served.front().facts.info.sha256;
    if (!o.expect.empty()) {
      auto session = context.open_session();
      if (!session) {
        return report_failure(session.error());
      }
      auto drift = check_drift(*session->inventory, o.expect, served);
      if (!drift) {
        return report_failure(drift.error().code == Errc::not_found
                                  ? CommandFailure{kExitUsage, "--expect: " + drift.error().message}
                                  : failure_from(drift.error()));
      }
      if (auto finding = drift_finding(*drift)) {
        report->findings.push_back(*finding);
      }
      expectation = nlohmann::json{{"name", o.expect},
                                   {"matches", drift->matches},
                                   {"current_sha256", drift->current.sha256},
                                   {"message", drift->message}};
      inventory = std::move(session->inventory);
    } else if (!o.expect_fingerprint.empty() &&
               normalized_fingerprint(o.expect_fingerprint) != served) {
      report->findings.push_back({validator::Severity::error, "drift",
                                  "serves " + served.substr(0, 16) + ", not the expected " +
                                      normalized_fingerprint(o.expect_fingerprint).substr(0, 16)});
    }
  }
  // Probes of a managed certificate's deployment are kept for status.
  if (inventory) {
    if (auto kept = record_probe(*inventory, report->target, report, report_json(*report).dump(),
                                 context.clock().unix_seconds());
        !kept) {
      return report_failure(failure_from(kept.error()));
    }
  }
  // After the probe, not alongside it: the probe's timings must not include
  // the server's work on the scan's handshakes.
  std::optional<validator::ScanReport> scan;
  if (o.scan) {
    auto scanned =
        validator::scan_endpoint(prober->connection_of(request, *report), prober->clock());
    if (!scanned) {
      return report_failure(failure_from(scanned.error()));
    }
    scan = std::move(*scanned);
    report->findings.insert(report->findings.end(), scan->findings.begin(), scan->findings.end());
  }
  std::vector<validator::HandshakeCost> costs;
  if (o.handshakes) {
    validator::HandshakeCostRequest asked{o.repeat,
                                          request.starttls == validator::StarttlsProtocol::none
                                              ? validator::head_request(request, *report)
                                              : "",
                                          o.trace};
    costs = validator::measure_handshake_costs(prober->connection_of(request, *report), asked,
                                               prober->clock());
  }
  if (o.json) {
    nlohmann::json j = report_json(*report);
    if (scan) {
      j["scan"] = scan_json(*scan);
    }
    if (o.handshakes) {
      j["handshake_costs"] = costs_json(costs, o.trace);
    }
    if (expectation) {
      j["expect"] = *expectation;
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}{}{}", report_text(*report), scan ? scan_text(*scan) : "",
               o.handshakes ? costs_text(costs, o.trace) : "");
    if (expectation && (*expectation)["matches"] == true) {
      fmt::print("  expect    {}\n", (*expectation)["message"].get<std::string>());
    }
  }
  return report->has_error() ? kExitProblem : kExitOk;
}

}  // namespace

void add_probe_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<ProbeOptions>();
  CLI::App* cmd = add_command(
      app, "probe", "Probe a live TLS endpoint: what is really deployed, and how it behaves",
      "Performs a full TLS handshake with HOST[:PORT] (443 by default) and reports timings and "
      "round trips, the negotiated protocol, cipher, group, signature algorithm and ALPN, the "
      "served chain verified with the SNI name as host name, the stapled OCSP response, whether "
      "a second handshake resumes the session, and whether the server sends the same "
      "certificate without SNI. --expect NAME reports `drift` when the server does not serve "
      "the inventory's current certificate for NAME. Exit 1 when a finding is an error "
      "(invalid chain, expired, drift...), 3 when the endpoint cannot be reached or completes no "
      "TLS handshake.");
  auto* target = cmd->add_option("target", o->target, "HOST[:PORT]");
  cmd->add_option("--certificate", o->certificate,
                  "probe the configured `probe` endpoints of this certificate against its "
                  "current version (through the running service, which records the result and "
                  "its drift alert; else here)")
      ->excludes(target);
  cmd->add_option("--targets", o->targets_file,
                  "probe every \"HOST[:PORT] [SNI]\" line of FILE concurrently; one result per "
                  "line (JSON lines with --json)");
  cmd->add_option("--concurrency", o->concurrency, "connections open at once with --targets")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--sni", o->sni, "server name to send (default: HOST unless it is an address)");
  cmd->add_option("--connect", o->connect, "connect to this address instead of resolving HOST");
  cmd->add_option("--starttls", o->starttls,
                  "speak smtp, imap or pop3 until STARTTLS, then TLS (e.g. HOST:25, :143, :110)")
      ->check(CLI::IsMember({"smtp", "imap", "pop3"}));
  auto* expect = cmd->add_option("--expect", o->expect,
                                 "the inventory name whose current certificate must be served");
  cmd->add_option("--expect-fingerprint", o->expect_fingerprint,
                  "the SHA-256 fingerprint the served leaf must have")
      ->excludes(expect);
  cmd->add_flag("--trace", o->trace, "print the handshake message by message");
  cmd->add_flag("--scan", o->scan,
                "also find the protocol versions (SSL 2.0 to TLS 1.3), cipher suites (any of "
                "the IANA registry) and TLS 1.3 groups the server accepts, its preference, and "
                "weak or legacy ones");
  cmd->add_option("--timeout", o->timeout, "bound on the whole handshake, e.g. 5s")
      ->capture_default_str();
  cmd->add_option("--ca-file", o->ca_file, "trust anchors (default: the system store)");
  cmd->add_option("--warn-days", o->warn_days, "warn when the leaf expires within N days")
      ->capture_default_str();
  auto* early = cmd->add_option("--early-data", o->early_data,
                                "TLS 1.3 0-RTT: resume with the first handshake's ticket sending a "
                                "bare HEAD / as early data (=empty: no bytes), and compare the "
                                "time to the answer's first byte with and without it")
                    ->expected(0, 1)
                    ->default_str("head")
                    ->excludes("--targets")
                    ->excludes("--certificate");
  cmd->add_flag("--allow-early-data", o->allow_early_data,
                "the server is meant to accept 0-RTT: report it as information, not a warning")
      ->needs(early);
  auto* handshakes =
      cmd->add_flag("--handshakes", o->handshakes,
                    "also measure what each kind of handshake the server supports costs (TLS 1.3 "
                    "full, with a HelloRetryRequest, resumed, 0-RTT; TLS 1.2 full, resumed by "
                    "session ID and by ticket): round trips, median time, the server's share of "
                    "it and the bytes each way")
          ->excludes("--targets")
          ->excludes("--certificate");
  cmd->add_option("--repeat", o->repeat, "handshakes of each kind measured with --handshakes")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000))
      ->needs(handshakes);
  cmd->add_flag("--json", o->json, "print the report as JSON");
  cmd->callback([&context, &exit_code, o] { exit_code = run_probe(context, *o); });
}

}  // namespace ck::daemon

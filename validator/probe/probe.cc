#include "validator/probe/probe.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>

#include "core/clock.h"
#include "core/ip_address.h"

namespace ck::validator {
namespace {

bool is_ip_literal(const std::string& host) {
  return ip_address_bytes(host).has_value();
}

std::string address_text(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
  ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

std::optional<double> first_byte(const HandshakeOutcome& outcome) {
  return outcome.answered ? std::optional(outcome.first_byte_ms) : std::nullopt;
}

std::string resumption_kind(const HandshakeOutcome& first) {
  if (!first.session) {
    return "";
  }
  if (first.protocol == "TLSv1.3") {
    return "TLS 1.3 PSK";
  }
  return SSL_SESSION_has_ticket(first.session.get()) == 1 ? "session ticket" : "session id";
}

}  // namespace

std::string head_request(const ProbeRequest& request, const ProbeReport& report) {
  const std::string host = report.sni.empty() ? request.host : report.sni;
  return "HEAD / HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
}

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::error: return "error";
    default: return "error";
  }
}

// `zero`, the handshake that offered early data with `offered` (the setup
// that resumed the first session); then the same request after a resumed
// handshake without it, for the time to compare.
EarlyDataReport Prober::early_data_report(const HandshakeSetup& base, const HandshakeSetup& offered,
                                          const HandshakeOutcome& zero,
                                          const ProbeRequest& request) const {
  EarlyDataReport out;
  out.tried = true;
  out.max_bytes = offered.resume ? SSL_SESSION_get_max_early_data(offered.resume) : 0;
  out.sent = request.early_data_empty ? "" : "HEAD /";
  out.status = zero.completed ? zero.early_data : "not_sent";
  if (out.status == "accepted") {
    out.first_byte_ms_0rtt = first_byte(zero);
  }
  if (!request.early_data_empty) {
    HandshakeSetup later = base;
    later.wait_for_ticket = false;
    later.trace = false;
    later.resume = zero.session ? zero.session.get() : offered.resume;
    later.send_request = true;
    later.request = offered.request;
    Handshake one_rtt(later, clock_);
    Handshake* only[] = {&one_rtt};
    run_handshakes(only, 1, clock_);
    out.first_byte_ms_1rtt = first_byte(one_rtt.outcome());
  }
  return out;
}

void Prober::add_early_data_finding(ProbeReport& report, const ProbeRequest& request) {
  if (report.early_data.status != "accepted") {
    return;
  }
  report.findings.push_back(
      request.allow_early_data
          ? ProbeFinding{Severity::info, "early_data_accepted",
                         "the server accepts 0-RTT early data, which can be replayed (RFC 8446 "
                         "§8); allowed by --allow-early-data"}
          : ProbeFinding{Severity::warning, "early_data_accepted",
                         "the server accepts 0-RTT early data, which an attacker can replay (RFC "
                         "8446 §8): only idempotent requests belong in it"});
}

std::vector<ProbeFinding> resumption_findings(const ResumptionFacts& facts) {
  constexpr std::uint32_t kWeek = 7 * 24 * 3600;
  std::vector<ProbeFinding> out;
  const bool tls13 = facts.protocol == "TLSv1.3";
  if (tls13 && !facts.session) {
    out.push_back({Severity::info, "no_session_ticket",
                   "the server sends no session ticket: TLS 1.3 clients cannot resume"});
  }
  if (facts.ticket && !facts.accepted) {
    out.push_back({Severity::warning, "tickets_not_resumed",
                   "the server issues session tickets but did not resume one: every connection "
                   "pays for a full handshake"});
  }
  if (!tls13 && facts.accepted && !facts.extended_master_secret) {
    out.push_back({Severity::warning, "resumption_without_ems",
                   "TLS 1.2 sessions resume without the extended master secret (RFC 7627)"});
  }
  if (facts.ticket && facts.ticket_lifetime_s > kWeek) {
    out.push_back({Severity::warning, "long_ticket_lifetime",
                   "session tickets live " + std::to_string(facts.ticket_lifetime_s / 86400) +
                       " days (RFC 8446 §4.6.1: at most 7)"});
  }
  return out;
}

bool ProbeReport::has_error() const {
  return std::ranges::any_of(findings,
                             [](const ProbeFinding& f) { return f.severity == Severity::error; });
}

HostPort destination_of(const ProbeRequest& request) {
  return {request.connect_address.empty() ? request.host : request.connect_address, request.port};
}

Result<Prober> Prober::create(const TrustStore& anchors, const PublicSuffixes& suffixes,
                              const Clock& clock) {
  CK_TRY(context, make_probe_context());
  return Prober(std::move(context), anchors, suffixes, clock);
}

Result<Prober::Started> Prober::begin(const ProbeRequest& request,
                                      const Result<Endpoints>& endpoints, double resolve_ms,
                                      MonoTime since) const {
  Started started;
  ProbeReport& report = started.report;
  report.target = request.host + ":" + std::to_string(request.port);
  report.sni = !request.sni.empty() ? request.sni : is_ip_literal(request.host) ? "" : request.host;
  started.begin = since;
  if (!endpoints) {
    return fail(endpoints.error().within(report.target));
  }
  if (endpoints->empty()) {
    return fail(Errc::network, "the name has no address", report.target);
  }
  const Endpoint& endpoint = endpoints->front();
  started.untried.assign(endpoints->begin() + 1, endpoints->end());
  report.resolve_ms = resolve_ms;
  report.address = address_text(endpoint.address);
  report.endpoint = endpoint;
  started.setup = connection_of(request, report);
  started.setup.trace = request.trace;
  return started;
}

HandshakeSetup Prober::connection_of(const ProbeRequest& request, const ProbeReport& report) const {
  HandshakeSetup setup;
  setup.context = context_.get();
  setup.address = report.endpoint.address;
  setup.address_length = report.endpoint.length;
  setup.sni = report.sni;
  setup.timeout = request.timeout;
  setup.starttls = request.starttls;
  return setup;
}

bool Prober::next_address(Started& started, const HandshakeOutcome& outcome) {
  // A timeout spent the probe's budget; only a quick refusal moves on.
  if (outcome.connected || outcome.error.code != Errc::network || started.untried.empty()) {
    return false;
  }
  const Endpoint next = started.untried.front();
  started.untried.erase(started.untried.begin());
  ProbeReport& report = started.report;
  const std::string address = address_text(next.address);
  report.findings.push_back({Severity::warning, "address_unreachable",
                             report.address + ": " + outcome.error.message + "; tried " + address});
  report.address = address;
  report.endpoint = next;
  started.setup.address = next.address;
  started.setup.address_length = next.length;
  return true;
}

Result<ProbeReport> Prober::finish(Started started, HandshakeOutcome outcome,
                                   const ProbeRequest& request) const {
  ProbeReport& report = started.report;
  if (!outcome.completed) {
    return fail(outcome.error.within(report.target + " (" + report.address + ")"));
  }
  report.handshake = std::move(outcome);
  report.total_ms =
      std::chrono::duration<double, std::milli>(clock_.monotonic() - started.begin).count();
  for (auto& cert : report.handshake.chain) {
    X509_up_ref(cert.get());
    auto prepared = prepare(ossl::X509Ptr(cert.get()));
    if (!prepared) {
      report.findings.push_back(
          {Severity::error, "malformed",
           "a served certificate does not parse: " + prepared.error().message});
      return std::move(report);
    }
    report.served.push_back(std::move(*prepared));
  }
  assess(report, request);
  return std::move(report);
}

Result<ProbeReport> Prober::probe(const ProbeRequest& request) const {
  const auto resolving = clock_.monotonic();
  const HostPort destination = destination_of(request);
  const auto endpoints = resolve_all(std::span(&destination, 1), request.timeout, clock_);
  const double resolve_ms =
      std::chrono::duration<double, std::milli>(clock_.monotonic() - resolving).count();
  // The total includes name resolution.
  CK_TRY(started, begin(request, endpoints.front(), resolve_ms, resolving));
  started.setup.wait_for_ticket = true;
  std::optional<Handshake> connected;
  do {
    Handshake* one[] = {&connected.emplace(started.setup, clock_)};
    run_handshakes(one, 1, clock_);
  } while (next_address(started, connected->outcome()));
  Handshake& first = *connected;
  // Resumption and the no-SNI certificate, at once.
  HandshakeSetup again = started.setup;
  again.resume = first.outcome().session.get();
  again.wait_for_ticket = false;
  again.trace = false;
  HandshakeSetup bare = again;
  bare.resume = nullptr;
  bare.sni.clear();
  if (request.early_data) {  // the resumption offers early data
    again.send_request = true;
    again.early_data = true;
    again.wait_for_ticket = true;  // a fresh ticket for the comparison below
    again.request = request.early_data_empty ? "" : head_request(request, started.report);
  }
  Handshake resumed(again, clock_);
  Handshake without_sni(bare, clock_);
  const bool first_completed = first.outcome().completed;
  if (first_completed) {
    Handshake* both[] = {&resumed, &without_sni};
    run_handshakes(first.outcome().session ? std::span<Handshake* const>(both)
                                           : std::span<Handshake* const>(both).subspan(1),
                   2, clock_);
  }
  const std::string resumption = resumption_kind(first.outcome());
  X509* leaf = first.outcome().chain.empty() ? nullptr : first.outcome().chain.front().get();
  const HandshakeOutcome& bare_outcome = without_sni.outcome();
  std::optional<bool> same;
  if (leaf && bare_outcome.completed && !bare_outcome.chain.empty()) {
    same = X509_cmp(bare_outcome.chain.front().get(), leaf) == 0;
  }
  const SSL_SESSION* session = first.outcome().session.get();
  ResumptionFacts facts{
      first.outcome().protocol,
      session != nullptr,
      session && (SSL_SESSION_has_ticket(session) == 1 || first.outcome().protocol == "TLSv1.3"),
      session ? static_cast<std::uint32_t>(SSL_SESSION_get_ticket_lifetime_hint(session)) : 0,
      first.outcome().extended_master_secret,
      resumed.outcome().completed && resumed.outcome().resumed};
  EarlyDataReport early;
  if (request.early_data && first_completed) {
    early = early_data_report(started.setup, again, resumed.outcome(), request);
  }
  CK_TRY(report, finish(std::move(started), std::move(first.outcome()), request));
  report.resumption = resumption;
  report.resumption_accepted = facts.accepted;
  if (first_completed) {
    for (auto& f : resumption_findings(facts)) {
      report.findings.push_back(std::move(f));
    }
  }
  report.resumption_facts = std::move(facts);
  report.early_data = std::move(early);
  add_early_data_finding(report, request);
  report.same_certificate_without_sni = same;
  if (same == false) {
    report.findings.push_back(
        {Severity::info, "sni_dependent", "without SNI the server sends another certificate"});
  }
  return report;
}

void Prober::probe_many(
    std::span<const ProbeRequest> requests, std::size_t concurrency,
    const std::function<void(std::size_t, Result<ProbeReport>)>& on_report) const {
  struct Job {
    std::size_t index;
    Started started;
    std::unique_ptr<Handshake> handshake;
  };
  std::map<Handshake*, Job> jobs;
  std::deque<Job> retries;
  std::size_t next = 0;
  // Every name first, at once and bounded: a slow resolver cannot stall the loop.
  const auto resolving = clock_.monotonic();
  std::vector<HostPort> destinations;
  for (const auto& r : requests) {
    destinations.push_back(destination_of(r));
  }
  const auto endpoints = resolve_all(
      destinations, requests.empty() ? std::chrono::milliseconds(0) : requests.front().timeout,
      clock_);
  const double resolve_ms =
      std::chrono::duration<double, std::milli>(clock_.monotonic() - resolving).count();
  run_handshakes(
      [&]() -> Handshake* {
        if (!retries.empty()) {
          Job job = std::move(retries.front());
          retries.pop_front();
          job.handshake = std::make_unique<Handshake>(job.started.setup, clock_);
          Handshake* raw = job.handshake.get();
          jobs.emplace(raw, std::move(job));
          return raw;
        }
        while (next < requests.size()) {
          const std::size_t index = next++;
          auto started = begin(requests[index], endpoints[index], resolve_ms, clock_.monotonic());
          if (!started) {
            on_report(index, std::unexpected(started.error()));
            continue;
          }
          auto handshake = std::make_unique<Handshake>(started->setup, clock_);
          Handshake* raw = handshake.get();
          jobs.emplace(raw, Job{index, std::move(*started), std::move(handshake)});
          return raw;
        }
        return nullptr;
      },
      concurrency,
      [&](Handshake& done) {
        auto node = jobs.extract(&done);
        Job& job = node.mapped();
        if (next_address(job.started, done.outcome())) {
          retries.push_back(std::move(job));  // started again by the loop, at the next address
          return;
        }
        on_report(job.index,
                  finish(std::move(job.started), std::move(done.outcome()), requests[job.index]));
      },
      clock_);
}

// Verifies what was served and turns it into findings.
void Prober::assess(ProbeReport& report, const ProbeRequest& request) const {
  if (report.served.empty()) {
    report.findings.push_back(
        {Severity::error, "no_certificate", "the server sent no certificate"});
    return;
  }
  VerifyOptions options;
  options.at = request.now;
  options.hostname = report.sni;
  if (report.sni.empty() && is_ip_literal(request.host)) {
    options.ip = request.host;
  }
  const PreparedCertificate& leaf = report.served.front();
  report.validation = verifier_.verify(
      leaf, std::span<const PreparedCertificate>(report.served).subspan(1), options);
  for (const auto& f : report.validation.findings) {
    const bool incomplete = f.code == VerifyCode::missing_intermediate;
    report.findings.push_back(
        {Severity::error, incomplete ? "incomplete_chain" : std::string(to_string(f.code)),
         incomplete ? "incomplete chain: the server does not send the intermediate for " +
                          report.validation.path.back()->facts.info.issuer
                    : f.message});
  }
  for (std::size_t i = 1; i < report.served.size(); ++i) {
    if (report.served[i].facts.info.self_issued) {
      report.findings.push_back({Severity::info, "root_sent",
                                 "the server sends a root certificate (" +
                                     report.served[i].facts.info.subject +
                                     "), which clients ignore"});
    }
  }
  const std::int64_t left = leaf.facts.info.not_after - request.now;
  if (left >= 0 && left < request.expiring_days * 86400LL) {
    report.findings.push_back({Severity::warning, "expiring",
                               "expires in " + std::to_string(left / 86400) + " days (" +
                                   format_rfc3339(leaf.facts.info.not_after) + ")"});
  }
  StapleReport& staple = report.staple;
  staple.present = !report.handshake.stapled_ocsp.empty();
  const X509* issuer =
      report.validation.path.size() > 1 ? report.validation.path[1]->cert.get() : nullptr;
  if (staple.present && issuer) {
    auto answer =
        verify_ocsp_response(report.handshake.stapled_ocsp, *leaf.cert, *issuer, request.now);
    staple.verified = answer.has_value();
    staple.status = answer ? std::string(to_string(answer->status)) : "";
    staple.next_update = answer ? answer->next_update : 0;
    staple.error = answer ? "" : answer.error().message;
    if (!answer || answer->status != OcspCertStatus::good) {
      report.findings.push_back({Severity::error, "bad_staple",
                                 answer
                                     ? "the stapled OCSP response says " + staple.status
                                     : "the stapled OCSP response is not valid: " + staple.error});
    }
  }
  if (!staple.present && leaf.facts.must_staple) {
    report.findings.push_back(
        {Severity::error, "must_staple_without_staple",
         "the certificate requires a staple (must-staple) but none was sent"});
  } else if (!staple.present && !leaf.facts.ocsp_urls.empty()) {
    // Information only: clients then ask the responder themselves. A
    // certificate without an OCSP URL (Let's Encrypt's since 2025) has nothing
    // to staple.
    report.findings.push_back({Severity::info, "no_staple",
                               "the certificate names an OCSP responder (" +
                                   leaf.facts.ocsp_urls.front() +
                                   ") but the server staples no response"});
  }
}

}  // namespace ck::validator

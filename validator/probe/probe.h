#pragma once
// A live probe of one TLS endpoint: a full handshake, then a resumption attempt
// and a handshake without SNI (both at once, through the handshake engine), the
// served chain verified by ChainVerifier with the SNI name as host name, and
// the stapled OCSP response verified. Findings carry a severity; the caller
// decides what to do with them (exit codes, alerts).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "validator/chain_verifier.h"
#include "validator/ocsp.h"
#include "validator/probe/handshake.h"
#include "validator/probe/resolver.h"

namespace ck::validator {

struct ProbeRequest {
  std::string host;
  int port = 443;
  std::string sni;              // "" = host, unless host is an IP address
  std::string connect_address;  // connect here instead of resolving host
  StarttlsProtocol starttls = StarttlsProtocol::none;
  std::chrono::milliseconds timeout{10'000};
  bool trace = false;
  std::int64_t now = 0;  // wall clock, Unix seconds, for validity
  int expiring_days = 14;
  // 0-RTT (TLS 1.3): resume with the first handshake's ticket and send a bare
  // HEAD / (or, with early_data_empty, no bytes) as early data; then resume
  // again and send it after the handshake, to compare.
  bool early_data = false;
  bool early_data_empty = false;
  bool allow_early_data = false;  // the operator means to accept it: a finding of information
};

struct EarlyDataReport {
  bool tried = false;
  std::uint32_t max_bytes = 0;  // what the first handshake's ticket allows (max_early_data)
  std::string sent;             // "HEAD /", or "" for no bytes
  std::string status;           // accepted, rejected, not_sent (the ticket allows none)
  std::optional<double> first_byte_ms_0rtt;  // since the TCP connection; nullopt: no answer,
                                             // or the early data was not taken
  std::optional<double> first_byte_ms_1rtt;  // the same request after a resumed handshake
};

enum class Severity { info, warning, error };
[[nodiscard]] std::string_view to_string(Severity severity);

struct ProbeFinding {
  Severity severity = Severity::info;
  std::string code;  // stable: "expired", "hostname_mismatch", "incomplete_chain", "drift"...
  std::string message;
};

struct StapleReport {
  bool present = false;
  bool verified = false;
  std::string status;  // good, revoked, unknown
  std::int64_t next_update = 0;
  std::string error;
};

// What the two handshakes of a probe showed of session resumption.
struct ResumptionFacts {
  std::string protocol;                 // of the first handshake
  bool session = false;                 // the server gave something to resume
  bool ticket = false;                  // as a session ticket (or TLS 1.3 PSK)
  std::uint32_t ticket_lifetime_s = 0;  // the ticket's lifetime hint
  bool extended_master_secret = false;  // TLS 1.2: negotiated (RFC 7627)
  bool accepted = false;                // the second handshake resumed
};

// Its findings: a TLS 1.3 server that sends no ticket (info); tickets issued
// but not resumed, TLS 1.2 resumption without the extended master secret, and
// tickets that live longer than 7 days (RFC 8446 §4.6.1) (warnings).
[[nodiscard]] std::vector<ProbeFinding> resumption_findings(const ResumptionFacts& facts);

struct ProbeReport {
  std::string target;   // host:port as asked
  std::string address;  // the address connected to
  Endpoint endpoint;    // the same, for later connections (a scan)
  std::string sni;
  double resolve_ms = 0;
  double total_ms = 0;
  HandshakeOutcome handshake;               // the first, full handshake
  std::vector<PreparedCertificate> served;  // as served, leaf first
  ChainResult validation;                   // points into `served` and the trust anchors
  StapleReport staple;
  bool resumption_accepted = false;
  std::string resumption;  // "TLS 1.3 PSK", "session ticket", "session id", "" when none offered
  ResumptionFacts resumption_facts;
  EarlyDataReport early_data;
  std::optional<bool> same_certificate_without_sni;  // nullopt: that handshake failed
  std::vector<ProbeFinding> findings;

  [[nodiscard]] bool has_error() const;
};

class Prober {
 public:
  // `anchors`, `suffixes` and `clock` must outlive the prober and its reports.
  // The clock's monotonic time bounds and measures every probe.
  [[nodiscard]] static Result<Prober> create(const TrustStore& anchors,
                                             const PublicSuffixes& suffixes, const Clock& clock);
  [[nodiscard]] const Clock& clock() const { return clock_; }
  // Fails only when the endpoint cannot be reached or does not complete a TLS
  // handshake; everything else is a finding.
  [[nodiscard]] Result<ProbeReport> probe(const ProbeRequest& request) const;

  // How `report`'s probe connected (context, address reached, SNI, STARTTLS,
  // timeout), for further connections to the same endpoint: a scan.
  [[nodiscard]] HandshakeSetup connection_of(const ProbeRequest& request,
                                             const ProbeReport& report) const;

  // Many endpoints from one poll loop, at most `concurrency` connections open:
  // one full handshake each (no resumption or no-SNI attempts), verified and
  // assessed. `on_report` gets each result as it completes, with its index.
  void probe_many(std::span<const ProbeRequest> requests, std::size_t concurrency,
                  const std::function<void(std::size_t, Result<ProbeReport>)>& on_report) const;

 private:
  struct Started {
    ProbeReport report;
    HandshakeSetup setup;
    MonoTime begin;
    Endpoints untried;  // the name's further addresses, for when this one cannot be reached
  };
  // The early-data probe's report: `zero` offered it with `offered`, a
  // resumption of the first handshake; the same request is then timed after a
  // resumed handshake without it.
  [[nodiscard]] EarlyDataReport early_data_report(const HandshakeSetup& base,
                                                  const HandshakeSetup& offered,
                                                  const HandshakeOutcome& zero,
                                                  const ProbeRequest& request) const;
  static void add_early_data_finding(ProbeReport& report, const ProbeRequest& request);
  // `endpoints` are the request's addresses, resolved (resolver.h) in
  // `resolve_ms`; `since` is when the probe began, for its total time.
  [[nodiscard]] Result<Started> begin(const ProbeRequest& request,
                                      const Result<Endpoints>& endpoints, double resolve_ms,
                                      MonoTime since) const;
  // When `outcome` could not reach the server and the name has another
  // address, moves `started` on to it (the failure becomes a finding).
  static bool next_address(Started& started, const HandshakeOutcome& outcome);
  [[nodiscard]] Result<ProbeReport> finish(Started started, HandshakeOutcome outcome,
                                           const ProbeRequest& request) const;
  Prober(ossl::SslCtx context, const TrustStore& anchors, const PublicSuffixes& suffixes,
         const Clock& clock)
      : context_(std::move(context)), verifier_(anchors, suffixes), clock_(clock) {}
  void assess(ProbeReport& report, const ProbeRequest& request) const;

  ossl::SslCtx context_;
  ChainVerifier verifier_;
  const Clock& clock_;
};

// The harmless request of early data: a bare HEAD / for the probed name (no
// Connection: close, so that a server answering it early still sends its ticket).
[[nodiscard]] std::string head_request(const ProbeRequest& request, const ProbeReport& report);

// Where a request connects: connect_address when given, else host; and its port.
[[nodiscard]] HostPort destination_of(const ProbeRequest& request);

}  // namespace ck::validator

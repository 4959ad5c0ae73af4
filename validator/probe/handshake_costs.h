#pragma once
// `probe --handshakes`: what each kind of handshake an endpoint supports costs,
// measured one handshake at a time so that none shares the server with
// another: TLS 1.3 full, with a HelloRetryRequest, resumed and in 0-RTT;
// TLS 1.2 full and resumed by session ID and by ticket. Each kind's round
// trips, time (median of the repeats), the server's share of it and the bytes
// each way come from the handshake engine's message callback, the same events
// --trace shows.

#include <optional>
#include <string>
#include <vector>

#include "validator/probe/handshake.h"

namespace ck::validator {

enum class HandshakeKind {
  tls13_full,
  tls13_hello_retry,
  tls13_resumed,
  tls13_early_data,
  tls12_full,
  tls12_resumed_session_id,
  tls12_resumed_ticket,
};
[[nodiscard]] std::string_view to_string(HandshakeKind kind);
[[nodiscard]] std::string_view describe(HandshakeKind kind);  // "TLS 1.3 resumed"...

struct HandshakeSample {
  int round_trips = 0;
  double exchange_ms = 0;
  double server_ms = 0;
  std::size_t bytes_sent = 0;
  std::size_t bytes_received = 0;
  bool early_data_accepted = false;
  std::vector<TraceMessage> trace;  // with HandshakeCostRequest::trace
};

struct HandshakeCost {
  HandshakeKind kind = HandshakeKind::tls13_full;
  std::string unmeasured;  // why the kind was not measured; "" when it was
  std::string group;       // the key exchange's group ("" for TLS 1.2 without ECDHE)
  std::string key_share;   // the group of the first ClientHello's key share, when it differs
  std::string early_data;  // 0-RTT: "accepted" or "rejected"
  int samples = 0;
  int round_trips = 0;              // of the handshake, as the trace shows its flights
  int round_trips_before_data = 0;  // before the client may send data: 0 with 0-RTT taken
  // All of the median sample: the middle one by time (the lower middle one
  // of an even count), so that every figure agrees with its trace.
  double median_ms = 0;        // first ClientHello to last handshake message
  double server_ms = 0;        // of that, waiting for the server's answers
  std::size_t bytes_sent = 0;  // TLS records, early data included
  std::size_t bytes_received = 0;
  std::vector<TraceMessage> trace;
};

// Pure: a measured kind from its samples (at least one), as its median sample.
[[nodiscard]] HandshakeCost summarize(HandshakeKind kind, std::vector<HandshakeSample> samples);

struct HandshakeCostRequest {
  int repeat = 5;          // samples per kind
  std::string early_data;  // what 0-RTT sends (e.g. HEAD /); "" = no bytes
  bool trace = false;      // keep each kind's median trace
};

// Measures the endpoint `connection` reaches (a probe's, from
// Prober::connection_of); what each handshake offers is set here. Every kind
// is in the result, in HandshakeKind order, measured or with the reason it
// was not. `clock` bounds and measures the handshakes.
[[nodiscard]] std::vector<HandshakeCost> measure_handshake_costs(
    const HandshakeSetup& connection, const HandshakeCostRequest& request, const Clock& clock);

}  // namespace ck::validator

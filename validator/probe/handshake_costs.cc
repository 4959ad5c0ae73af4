#include "validator/probe/handshake_costs.h"

#include <algorithm>
#include <functional>

namespace ck::validator {
namespace {

// Key shares offered, one at a time beside the server's own group, to draw a
// HelloRetryRequest: the first the server does not take.
constexpr const char* kKeyShareGroups[] = {"x25519", "secp256r1", "secp384r1", "secp521r1", "x448"};

HandshakeOutcome run_alone(const HandshakeSetup& setup, const Clock& clock) {
  Handshake handshake(setup, clock);
  Handshake* one[] = {&handshake};
  run_handshakes(one, 1, clock);
  return std::move(handshake.outcome());
}

HandshakeSample sample_of(HandshakeOutcome& o) {
  return {o.round_trips,     o.exchange_ms,    o.server_ms,
          o.bytes_sent,      o.bytes_received, o.early_data == "accepted",
          std::move(o.trace)};
}

HandshakeCost unmeasured(HandshakeKind kind, std::string why) {
  HandshakeCost cost;
  cost.kind = kind;
  cost.unmeasured = std::move(why);
  return cost;
}

// "" when the outcome is a handshake of the kind measured, else why not.
using Verdict = std::function<std::string(const HandshakeOutcome&)>;

std::string any_handshake(const HandshakeOutcome&) {
  return "";
}

Verdict resumed(std::string otherwise) {
  return [otherwise = std::move(otherwise)](const HandshakeOutcome& o) {
    return o.resumed ? "" : otherwise;
  };
}

struct Series {
  HandshakeCost cost;
  SessionPtr session;  // the last one the server gave, for a resumption
};

// `request.repeat` handshakes of one kind with `setup`, one after another.
// With `session`, each resumes the latest session the server gave (a ticket
// may serve once only); else none does, and the ticket of the last is waited
// for (it seeds the resumed kinds). Stops at the first handshake that is not
// of the kind, and early (fewer samples) when a spent ticket brought no new one.
Series measure(HandshakeKind kind, const HandshakeSetup& setup, SessionPtr session,
               const HandshakeCostRequest& request, const Verdict& verdict, const Clock& clock) {
  const bool resuming = session != nullptr;
  std::vector<HandshakeSample> samples;
  std::string group;
  for (int i = 0; i < request.repeat; ++i) {
    HandshakeSetup one = setup;
    one.resume = resuming ? session.get() : nullptr;
    one.trace = request.trace;
    one.wait_for_ticket = resuming || i + 1 == request.repeat;
    if (resuming && SSL_SESSION_is_resumable(session.get()) != 1) {
      break;  // a ticket spent, and no new one came with it: the samples so far
    }
    HandshakeOutcome o = run_alone(one, clock);
    const std::string wrong = !o.completed ? o.error.describe() : verdict(o);
    if (!wrong.empty()) {
      return {unmeasured(kind, wrong), std::move(session)};
    }
    group = o.group;
    if (o.session) {
      session = std::move(o.session);
    }
    samples.push_back(sample_of(o));
  }
  if (samples.empty()) {
    return {unmeasured(kind, "the server's ticket could not be offered again"), nullptr};
  }
  HandshakeCost cost = summarize(kind, std::move(samples));
  cost.group = group;
  return {std::move(cost), std::move(session)};
}

// A key share for another group than the server's, beside it: the first
// that the server answers with a HelloRetryRequest is measured.
HandshakeCost measure_hello_retry(const HandshakeSetup& tls13, const std::string& server_group,
                                  const HandshakeCostRequest& request, const Clock& clock) {
  std::string taken;
  for (const char* share : kKeyShareGroups) {
    if (share == server_group) {
      continue;
    }
    HandshakeSetup offer = tls13;
    offer.groups = std::string(share) + ":" + server_group;
    if (HandshakeOutcome o = run_alone(offer, clock); o.completed && o.round_trips < 2) {
      taken += (taken.empty() ? "" : ", ") + std::string(share);
      continue;
    }
    Series retried = measure(
        HandshakeKind::tls13_hello_retry, offer, nullptr, request,
        [](const HandshakeOutcome& o) {
          return o.round_trips >= 2 ? "" : "the server took the key share";
        },
        clock);
    retried.cost.key_share = share;
    return std::move(retried.cost);
  }
  return unmeasured(HandshakeKind::tls13_hello_retry,
                    "the server took a key share for every group offered beside " + server_group +
                        " (" + taken + "): it never asked for another");
}

void measure_tls13(const HandshakeSetup& connection, const HandshakeCostRequest& request,
                   const Clock& clock, std::vector<HandshakeCost>& costs) {
  HandshakeSetup tls13 = connection;
  tls13.min_version = tls13.max_version = TLS1_3_VERSION;
  // The library's usual offer first, to learn the group the server chooses:
  // the full handshakes then offer a key share for it, and need no retry.
  HandshakeOutcome first = run_alone(tls13, clock);
  if (!first.completed) {
    for (auto kind : {HandshakeKind::tls13_full, HandshakeKind::tls13_hello_retry,
                      HandshakeKind::tls13_resumed, HandshakeKind::tls13_early_data}) {
      costs.push_back(unmeasured(kind, "no TLS 1.3 handshake: " + first.error.describe()));
    }
    return;
  }
  HandshakeSetup full = tls13;
  full.groups = first.group;
  Series fulls = measure(HandshakeKind::tls13_full, full, nullptr, request, any_handshake, clock);
  costs.push_back(std::move(fulls.cost));
  costs.push_back(measure_hello_retry(tls13, first.group, request, clock));
  if (!fulls.session) {
    const std::string why = "the server sent no TLS 1.3 session ticket";
    costs.push_back(unmeasured(HandshakeKind::tls13_resumed, why));
    costs.push_back(unmeasured(HandshakeKind::tls13_early_data, why));
    return;
  }
  Series resumptions = measure(HandshakeKind::tls13_resumed, full, std::move(fulls.session),
                               request, resumed("the server did not resume its ticket"), clock);
  const bool resumes = resumptions.cost.unmeasured.empty();
  costs.push_back(std::move(resumptions.cost));
  const SSL_SESSION* ticket = resumptions.session.get();
  if (!resumes || ticket == nullptr || SSL_SESSION_get_max_early_data(ticket) == 0) {
    costs.push_back(unmeasured(HandshakeKind::tls13_early_data,
                               !resumes            ? "the server did not resume its ticket"
                               : ticket == nullptr ? "the server sent no ticket after resuming"
                                                   : "the server's tickets allow no early data"));
    return;
  }
  HandshakeSetup early = full;
  early.early_data = true;
  early.early_data_only = true;
  early.send_request = true;
  early.request = request.early_data;
  costs.push_back(measure(HandshakeKind::tls13_early_data, early, std::move(resumptions.session),
                          request, resumed("the server did not resume its ticket"), clock)
                      .cost);
}

void measure_tls12(const HandshakeSetup& connection, const HandshakeCostRequest& request,
                   const Clock& clock, std::vector<HandshakeCost>& costs) {
  HandshakeSetup tls12 = connection;
  tls12.min_version = tls12.max_version = TLS1_2_VERSION;
  Series fulls = measure(HandshakeKind::tls12_full, tls12, nullptr, request, any_handshake, clock);
  if (!fulls.cost.unmeasured.empty()) {
    const std::string why = "no TLS 1.2 handshake: " + fulls.cost.unmeasured;
    costs.push_back(unmeasured(HandshakeKind::tls12_full, why));
    costs.push_back(unmeasured(HandshakeKind::tls12_resumed_session_id, why));
    costs.push_back(unmeasured(HandshakeKind::tls12_resumed_ticket, why));
    return;
  }
  costs.push_back(std::move(fulls.cost));

  HandshakeSetup by_id = tls12;
  by_id.no_ticket = true;
  HandshakeOutcome seed = run_alone(by_id, clock);
  unsigned int id_length = 0;
  if (seed.session) {
    SSL_SESSION_get_id(seed.session.get(), &id_length);
  }
  costs.push_back(
      id_length == 0
          ? unmeasured(HandshakeKind::tls12_resumed_session_id,
                       "the server gives no session ID to resume")
          : measure(HandshakeKind::tls12_resumed_session_id, by_id, std::move(seed.session),
                    request,
                    resumed("the server did not resume its session ID (no session cache?)"), clock)
                .cost);

  const bool ticket = fulls.session && SSL_SESSION_has_ticket(fulls.session.get()) == 1;
  costs.push_back(ticket ? measure(HandshakeKind::tls12_resumed_ticket, tls12,
                                   std::move(fulls.session), request,
                                   resumed("the server did not resume its ticket"), clock)
                               .cost
                         : unmeasured(HandshakeKind::tls12_resumed_ticket,
                                      "the server issued no TLS 1.2 session ticket"));
}

}  // namespace

std::string_view to_string(HandshakeKind kind) {
  switch (kind) {
    case HandshakeKind::tls13_full: return "tls13_full";
    case HandshakeKind::tls13_hello_retry: return "tls13_hello_retry";
    case HandshakeKind::tls13_resumed: return "tls13_resumed";
    case HandshakeKind::tls13_early_data: return "tls13_0rtt";
    case HandshakeKind::tls12_full: return "tls12_full";
    case HandshakeKind::tls12_resumed_session_id: return "tls12_resumed_session_id";
    case HandshakeKind::tls12_resumed_ticket: return "tls12_resumed_ticket";
  }
  return "";
}

std::string_view describe(HandshakeKind kind) {
  switch (kind) {
    case HandshakeKind::tls13_full: return "TLS 1.3 full";
    case HandshakeKind::tls13_hello_retry: return "TLS 1.3 HelloRetryRequest";
    case HandshakeKind::tls13_resumed: return "TLS 1.3 resumed";
    case HandshakeKind::tls13_early_data: return "TLS 1.3 0-RTT";
    case HandshakeKind::tls12_full: return "TLS 1.2 full";
    case HandshakeKind::tls12_resumed_session_id: return "TLS 1.2 session ID";
    case HandshakeKind::tls12_resumed_ticket: return "TLS 1.2 ticket";
  }
  return "";
}

HandshakeCost summarize(HandshakeKind kind, std::vector<HandshakeSample> samples) {
  std::ranges::sort(samples, {}, &HandshakeSample::exchange_ms);
  HandshakeSample& median = samples[(samples.size() - 1) / 2];
  HandshakeCost cost;
  cost.kind = kind;
  cost.samples = static_cast<int>(samples.size());
  cost.round_trips = median.round_trips;
  cost.round_trips_before_data = median.early_data_accepted ? 0 : median.round_trips;
  if (kind == HandshakeKind::tls13_early_data) {
    cost.early_data = median.early_data_accepted ? "accepted" : "rejected";
  }
  cost.median_ms = median.exchange_ms;
  cost.server_ms = median.server_ms;
  cost.bytes_sent = median.bytes_sent;
  cost.bytes_received = median.bytes_received;
  cost.trace = std::move(median.trace);
  return cost;
}

std::vector<HandshakeCost> measure_handshake_costs(const HandshakeSetup& connection,
                                                   const HandshakeCostRequest& request,
                                                   const Clock& clock) {
  std::vector<HandshakeCost> costs;
  measure_tls13(connection, request, clock, costs);
  measure_tls12(connection, request, clock, costs);
  return costs;
}

}  // namespace ck::validator

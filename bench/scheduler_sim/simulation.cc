#include "bench/scheduler_sim/simulation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <queue>
#include <span>
#include <utility>

#include "acme/ari.h"
#include "daemon/lifecycle/renewal_policy.h"
#include "daemon/service/scheduler.h"
#include "daemon/service/service.h"

namespace ck::sim {
namespace {

using daemon::CertificateState;
using daemon::JobKind;

constexpr std::int64_t kStart = 1798761600;  // 2027-01-01T00:00:00Z, the simulated start
constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;
// An order to a CA that is down fails when the connection does.
constexpr std::int64_t kConnectTimeout = 10;

// splitmix64: fast, and the same run for the same seed.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)

 private:
  std::uint64_t state_;
};

// One certificate, as the inventory, the service and the CA each know it.
struct Cert {
  std::int64_t lifetime = 0;
  // The inventory's: the current version, its ARI answer, its failures.
  std::uint32_t serial = 0;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::optional<daemon::AriAnswer> ari;
  std::int64_t ari_next_check = 0;
  daemon::FailureStreak failures;
  bool revoked = false;  // revoked by the CA (its status check says so)
  // The service's, lost at a restart.
  CertificateState state;
  bool decision_stale = true;
  std::optional<std::int64_t> ari_failed_at;
  bool ari_unsupported = false;
  bool waiting = false;  // due, but the CA takes no more orders now
  // Events and orders planned before a restart, or before the latest plan, are stale.
  std::uint32_t generation = 0;
  // The order in flight: what the CA will answer.
  enum class Answer : std::uint8_t {
    issued,
    failed,
    unreachable,
    rate_limited
  } answer = Answer::issued;
  std::int64_t retry_after = 0;
  // The CA's, about the current version.
  std::optional<acme::RenewalWindow> moved_window;
  bool ever_expired = false;
};

// Boulder's RenewalInfoSimple: 2/3 of the way through the validity (1/2 below
// 10 days), with 1% of the validity either side.
acme::RenewalWindow suggested_window(const Cert& c) {
  const std::int64_t validity = c.not_after - c.not_before;
  const std::int64_t offset = validity < 10 * kDay ? validity / 2 : validity / 3;
  const std::int64_t ideal = c.not_after - offset;
  const std::int64_t margin = validity / 100;
  return {ideal - margin, ideal + margin, ""};
}

// The renewal interval the scheduler keeps in steady state (the window's middle).
std::int64_t renewal_interval(std::int64_t lifetime) {
  return lifetime < 10 * kDay ? lifetime / 2 : lifetime * 2 / 3;
}

class ModelCa {
 public:
  ModelCa(const Scenario& s, double steady_orders_per_second)
      : s_(s),
        rate_(s.rate_limit * steady_orders_per_second),
        burst_(std::max(1.0, rate_ * 10 * kMinute)),
        tokens_(burst_) {}

  [[nodiscard]] bool down(std::int64_t now) const {
    return std::ranges::any_of(
        s_.outages, [&](const Outage& o) { return now >= kStart + o.from && now < kStart + o.to; });
  }

  [[nodiscard]] acme::RenewalWindow window(const Cert& c) const {
    return c.moved_window ? *c.moved_window : suggested_window(c);
  }

  struct OrderAnswer {
    Cert::Answer answer = Cert::Answer::issued;
    std::int64_t done_at = 0;
    std::int64_t retry_after = 0;
  };

  OrderAnswer order(const Cert& c, std::int64_t now, Random& random) {
    if (down(now)) {
      return {Cert::Answer::unreachable, now + kConnectTimeout, 0};
    }
    const bool exempt = s_.ari && s_.ari_renewals_exempt && c.serial > 0 && now >= window(c).start;
    if (rate_ > 0 && !exempt) {
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - refilled_at_) * rate_);
      refilled_at_ = now;
      if (tokens_ < 1) {
        const auto wait = static_cast<std::int64_t>(std::ceil((1 - tokens_) / rate_));
        return {Cert::Answer::rate_limited, now + 1, std::max<std::int64_t>(1, wait)};
      }
      tokens_ -= 1;
    }
    const auto latency =
        static_cast<std::int64_t>(static_cast<double>(s_.order_latency) * (0.5 + random.unit()));
    const std::int64_t done_at = now + std::max<std::int64_t>(1, latency);
    if (random.unit() < s_.failure_rate) {
      return {Cert::Answer::failed, done_at, 0};
    }
    return {Cert::Answer::issued, done_at, 0};
  }

 private:
  const Scenario& s_;
  double rate_;
  double burst_;
  double tokens_;
  std::int64_t refilled_at_ = kStart;
};

enum class EventKind : std::uint8_t {
  wake,        // a certificate's planned time
  order_done,  // the CA answered an order
  restart,     // the daemon stops, losing what is in flight
  start,       // and starts again
  hold_over,   // the CA's rateLimited hold ends
  revocation,  // a mass revocation is announced
  deadline,    // and its deadline comes
};

struct Event {
  std::int64_t at = 0;
  std::uint32_t cert = 0;  // or the incident's index
  std::uint32_t generation = 0;
  EventKind kind = EventKind::wake;
};

// A calendar of events, one bucket per second over an epoch of 2^17 s
// (36 hours), later epochs in lists of their own: O(1) to add and to take,
// where a heap of 100,000 entries spent most of the run on cache misses.
class Calendar {
 public:
  explicit Calendar(std::int64_t seconds)
      : seconds_(seconds),
        buckets_(kEpoch),
        later_(static_cast<std::size_t>(seconds / kEpoch + 1)) {}

  void add(const Event& e) {
    const std::int64_t offset = e.at - kStart;
    if (offset >= seconds_) {
      return;  // after the end of the run
    }
    const auto epoch = static_cast<std::size_t>(offset / kEpoch);
    if (epoch == epoch_) {
      buckets_[static_cast<std::size_t>(offset % kEpoch)].push_back(e);
    } else {
      later_[epoch].push_back(e);
    }
  }

  // Calls `handle` for every event in time order (the order within one second
  // is the order they were added); `handle` may add more.
  template <typename Handle>
  void run(Handle&& handle) {
    for (epoch_ = 0; epoch_ < later_.size(); ++epoch_) {
      for (const Event& e : std::exchange(later_[epoch_], {})) {
        buckets_[static_cast<std::size_t>((e.at - kStart) % kEpoch)].push_back(e);
      }
      for (auto& bucket : buckets_) {
        for (std::size_t i = 0; i < bucket.size(); ++i) {
          handle(Event(bucket[i]));  // a copy: handle() may grow the bucket
        }
        bucket.clear();
      }
    }
  }

 private:
  static constexpr std::int64_t kEpoch = 1 << 17;
  std::int64_t seconds_;
  std::vector<std::vector<Event>> buckets_;
  std::vector<std::vector<Event>> later_;
  std::size_t epoch_ = 0;
};

class Simulation {
 public:
  Simulation(const Scenario& s, std::size_t certificates, std::int64_t days, std::uint64_t seed)
      : s_(s),
        end_(kStart + days * kDay),
        seed_(seed),
        random_(seed),
        certs_(certificates),
        ca_(s, steady_rate(s) * static_cast<double>(certificates)),
        calendar_(days * kDay),
        orders_per_minute_(static_cast<std::size_t>(days * kDay / kMinute) + 1) {
    results_.scenario = s.name;
    results_.certificates = certificates;
    results_.days = days;
    make_fleet();
    plan_restarts();
    for (const auto& o : s.outages) {
      disturbances_.push_back(kStart + o.from);
    }
    for (const auto& r : s.revocations) {
      disturbances_.push_back(kStart + r.at);
      disturbances_.push_back(kStart + r.at + r.deadline);
    }
    std::ranges::sort(disturbances_);
  }

  Results run() {
    const auto began = std::chrono::steady_clock::now();
    calendar_.add({kStart, 0, 0, EventKind::start});
    for (std::uint32_t i = 0; i < s_.revocations.size(); ++i) {
      calendar_.add({kStart + s_.revocations[i].at, i, 0, EventKind::revocation});
    }
    for (const auto& [stop, start] : restarts_) {
      calendar_.add({stop, 0, 0, EventKind::restart});
      calendar_.add({start, 0, 0, EventKind::start});
    }
    calendar_.run([&](const Event& e) { handle(e); });
    finish();
    results_.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    return results_;
  }

 private:
  // Orders per second and certificate in steady state: each renewed once per interval.
  static double steady_rate(const Scenario& s) {
    double rate = 0;
    double total = 0;
    for (const auto& l : s.lifetimes) {
      rate += l.share / static_cast<double>(renewal_interval(l.lifetime));
      total += l.share;
    }
    return total > 0 ? rate / total : 0;
  }

  // Certificates of each lifetime, issued at times spread over one renewal
  // interval before the start, as a fleet that has run for a while is.
  void make_fleet() {
    double total = 0;
    for (const auto& l : s_.lifetimes) {
      total += l.share;
    }
    for (auto& c : certs_) {
      double pick = random_.unit() * total;
      c.lifetime = s_.lifetimes.back().lifetime;
      for (const auto& l : s_.lifetimes) {
        if (pick < l.share) {
          c.lifetime = l.lifetime;
          break;
        }
        pick -= l.share;
      }
      const auto age = static_cast<std::int64_t>(random_.unit() *
                                                 static_cast<double>(renewal_interval(c.lifetime)));
      install(c, kStart - age);
    }
  }

  void install(Cert& c, std::int64_t issued_at) {
    ++c.serial;
    c.not_before = issued_at;
    c.not_after = issued_at + c.lifetime;
    c.ari.reset();
    c.moved_window.reset();
    c.revoked = false;
    c.failures = {};
    c.decision_stale = true;
  }

  void handle(const Event& e) {
    const std::int64_t now = e.at;
    switch (e.kind) {
      case EventKind::wake:
        if (!down_ && certs_[e.cert].generation == e.generation) {
          plan_and_start(certs_[e.cert], e.cert, now);
        }
        break;
      case EventKind::order_done:
        if (!down_ && certs_[e.cert].generation == e.generation) {
          order_done(certs_[e.cert], e.cert, now);
        }
        break;
      case EventKind::restart: restart(); break;
      case EventKind::start: start(now); break;
      case EventKind::hold_over:
        hold_event_at_.reset();
        if (!down_) {
          start_waiting(now);
        }
        break;
      case EventKind::revocation: announce_revocation(e.cert, now); break;
      case EventKind::deadline: revocation_deadline(e.cert, now); break;
      default: break;
    }
  }

  // The service's refresh_state(): the renewal decision, and when to ask ARI.
  void refresh(Cert& c, std::int64_t now) {
    // The decision is a function of its inputs; without a failure streak (whose
    // retry time takes fresh jitter) it changes only when they do.
    if (c.decision_stale || c.failures.count > 0) {
      daemon::RenewalInputs in;
      in.not_before = c.not_before;
      in.not_after = c.not_after;
      in.issued_at = c.not_before;
      in.ari = c.ari;
      in.revoked = c.revoked;
      in.failures = c.failures;
      c.state.renewal = daemon::decide_renewal(in, now, random_.next());
      c.decision_stale = false;
    }
    c.state.ari_check_at.reset();
    if (!c.ari_unsupported) {
      std::optional<std::int64_t> next;
      std::optional<std::int64_t> fetched;
      if (c.ari) {
        next = c.ari_next_check;
        fetched = c.ari->fetched_at;
      }
      c.state.ari_check_at = daemon::ari_check_time(next, fetched, now, c.ari_failed_at);
    }
    c.state.renew_by.reset();
    if (!c.revoked) {
      c.state.renew_by = c.ari ? std::min(c.not_after, c.ari->window_end) : c.not_after;
    }
  }

  // The service's schedule() for one certificate: its job now, or its next wake.
  void plan_and_start(Cert& c, std::uint32_t index, std::int64_t now) {
    ++c.generation;
    const CertificateState* one[] = {&c.state};
    const daemon::Plan p = daemon::plan(std::span<const CertificateState* const>(one), now);
    if (p.due.empty()) {
      if (p.next_wake) {
        calendar_.add({*p.next_wake, index, c.generation, EventKind::wake});
      }
      return;
    }
    if (p.due.front().kind == JobKind::check_ari) {
      if (check_ari(c, index, now) == AriOutcome::unchanged) {
        skip_identical_checks(c, now);
      }
      plan_and_start(c, index, now);
      return;
    }
    if (!daemon::may_send_order(in_flight_, orders_per_ca_, ca_throttle_, now)) {
      c.waiting = true;  // planned again when an order ends, or the hold does
      waiting_.push({p.due.front(), index, c.generation});
      wake_at_hold_over(now);
      return;
    }
    send_order(c, index, now);
  }

  void send_order(Cert& c, std::uint32_t index, std::int64_t now) {
    c.state.busy = true;
    ++in_flight_;
    ++results_.orders;
    ++orders_per_minute_[static_cast<std::size_t>((now - kStart) / kMinute)];
    const ModelCa::OrderAnswer answer = ca_.order(c, now, random_);
    c.answer = answer.answer;
    c.retry_after = answer.retry_after;
    calendar_.add({answer.done_at, index, c.generation, EventKind::order_done});
  }

  enum class AriOutcome { changed, unchanged, failed };

  // The ARI job (lifecycle/ari_check.h), instant: the window, the time kept in
  // it, and when to ask again.
  AriOutcome check_ari(Cert& c, std::uint32_t index, std::int64_t now) {
    ++results_.ari_checks;
    AriOutcome outcome = AriOutcome::failed;
    if (!s_.ari) {
      c.ari_unsupported = true;  // the directory has no renewalInfo: not asked again
    } else if (ca_.down(now)) {
      c.ari_failed_at = now;
    } else {
      const acme::RenewalWindow window = ca_.window(c);
      std::optional<std::int64_t> kept;
      if (c.ari) {
        kept = c.ari->selected_time;
      }
      // The random value is the version's own, so that a run with every
      // check repeated chooses the same times as one that skips them.
      const std::int64_t selected =
          acme::keep_or_choose_renewal_time(window, kept, now, version_random(index, c.serial));
      outcome = c.ari && c.ari->window_start == window.start && c.ari->window_end == window.end &&
                        c.ari->selected_time == selected
                    ? AriOutcome::unchanged
                    : AriOutcome::changed;
      c.decision_stale = c.decision_stale || outcome == AriOutcome::changed;
      c.ari = daemon::AriAnswer{window.start, window.end, selected, now};
      c.ari_next_check =
          acme::next_renewal_info_check(now, std::chrono::seconds(s_.ari_retry_after));
      c.ari_failed_at.reset();
    }
    refresh(c, now);
    return outcome;
  }

  // The checks that follow an unchanged answer, until the renewal or the next
  // event that can change an answer or the daemon (an outage, a mass
  // revocation or its deadline, a restart), would each find the same window
  // and keep the same time: they are counted, and the latest of them stands,
  // without running each (--every-ari-check runs them; the results agree).
  void skip_identical_checks(Cert& c, std::int64_t now) {
    if (!s_.skip_identical_ari_checks || !c.state.ari_check_at || c.failures.count > 0 ||
        c.state.held_until > now) {
      return;
    }
    const std::int64_t period = *c.state.ari_check_at - now;
    const std::int64_t limit = std::min(c.state.renewal.at, next_disturbance(now));
    if (period <= 0 || limit <= now) {
      return;
    }
    const std::int64_t skipped = (limit - now - 1) / period;
    if (skipped <= 0) {
      return;
    }
    results_.ari_checks += static_cast<std::size_t>(skipped);
    const std::int64_t last = now + skipped * period;
    c.ari->fetched_at = last;
    c.ari_next_check =
        acme::next_renewal_info_check(last, std::chrono::seconds(s_.ari_retry_after));
    refresh(c, last);
  }

  [[nodiscard]] std::int64_t next_disturbance(std::int64_t now) const {
    const auto next = std::ranges::upper_bound(disturbances_, now);
    return next == disturbances_.end() ? end_ : *next;
  }

  [[nodiscard]] std::uint64_t version_random(std::uint32_t index, std::uint32_t serial) const {
    return Random(seed_ ^ (std::uint64_t{index} << 32 | serial)).next();
  }

  void order_done(Cert& c, std::uint32_t index, std::int64_t now) {
    --in_flight_;
    c.state.busy = false;
    if (c.answer == Cert::Answer::issued) {
      if (c.not_after < now) {
        results_.expired_seconds += now - c.not_after;
        c.ever_expired = true;
      }
      install(c, now);
      ca_throttle_.order_succeeded();
    } else {
      ++results_.failed_orders;
      c.failures = {c.failures.count + 1, now, ""};
      if (c.answer == Cert::Answer::rate_limited) {
        ++results_.rate_limited;
        ca_throttle_.rate_limited(now, std::chrono::seconds(c.retry_after));
      } else if (c.answer == Cert::Answer::unreachable) {
        ++results_.unreachable;
        ca_throttle_.unreachable(now);
      }
    }
    refresh(c, now);
    plan_and_start(c, index, now);
    start_waiting(now);
  }

  // Renewals that were due while the CA took no more, in the order the
  // service's plan() gives them (runs_before).
  void start_waiting(std::int64_t now) {
    while (!waiting_.empty() &&
           daemon::may_send_order(in_flight_, orders_per_ca_, ca_throttle_, now)) {
      const Waiting w = waiting_.top();
      waiting_.pop();
      Cert& c = certs_[w.cert];
      if (c.generation == w.generation && c.waiting) {
        c.waiting = false;
        plan_and_start(c, w.cert, now);
      }
    }
    wake_at_hold_over(now);
  }

  void wake_at_hold_over(std::int64_t now) {
    const std::int64_t held = ca_throttle_.until();
    if (!waiting_.empty() && held > now && hold_event_at_ != held) {
      hold_event_at_ = held;
      calendar_.add({held, 0, 0, EventKind::hold_over});
    }
  }

  // When the daemon stops and starts again, drawn ahead (an ARI check skipped
  // past a restart would not have been asked).
  void plan_restarts() {
    if (s_.restart_every_days <= 0) {
      return;
    }
    Random random(seed_ + 1);
    const double mean = s_.restart_every_days * static_cast<double>(kDay);
    for (std::int64_t t = kStart;;) {
      t +=
          std::max<std::int64_t>(1, static_cast<std::int64_t>(-std::log(1 - random.unit()) * mean));
      const auto down_for = static_cast<std::int64_t>(kMinute + random.unit() * 2 * kHour);
      if (t + down_for >= end_) {
        break;
      }
      restarts_.emplace_back(t, t + down_for);
      disturbances_.push_back(t);
      t += down_for;
    }
  }

  // The process ends: orders in flight are lost, and all the service held in
  // memory (the CA's hold, ARI failures); the inventory stays.
  void restart() {
    ++results_.restarts;
    down_ = true;
    in_flight_ = 0;
    waiting_ = {};
    ca_throttle_ = {};
    hold_event_at_.reset();
    for (auto& c : certs_) {
      ++c.generation;
      // The decision is the inventory's to make again at start, and comes out
      // the same: it is kept (refresh() makes it again after failures).
      const daemon::RenewalDecision renewal = std::move(c.state.renewal);
      c.state = {};
      c.state.renewal = renewal;
      c.ari_failed_at.reset();
      c.ari_unsupported = false;
      c.waiting = false;
    }
  }

  // The service's start: every state from the inventory, overdue work spread.
  void start(std::int64_t now) {
    down_ = false;
    std::size_t overdue = 0;
    for (auto& c : certs_) {
      refresh(c, now);
      overdue += daemon::overdue_at_start(c.state, now) ? 1 : 0;
    }
    for (std::uint32_t i = 0; i < certs_.size(); ++i) {
      Cert& c = certs_[i];
      if (daemon::overdue_at_start(c.state, now)) {
        c.state.held_until = daemon::start_spread(now, overdue, random_.next());
      }
      plan_and_start(c, i, now);
    }
  }

  void announce_revocation(std::uint32_t incident, std::int64_t now) {
    const MassRevocation& r = s_.revocations[incident];
    std::vector<std::uint32_t> order(certs_.size());
    std::iota(order.begin(), order.end(), 0U);
    const auto count = static_cast<std::size_t>(r.share * static_cast<double>(certs_.size()));
    auto& marked = revoking_[incident];
    for (std::size_t i = 0; i < count && i < order.size(); ++i) {
      std::swap(order[i], order[i + random_.next() % (order.size() - i)]);
      Cert& c = certs_[order[i]];
      c.moved_window = acme::RenewalWindow{now - kHour, now, "mass revocation"};
      marked.emplace_back(order[i], c.serial);
      ++results_.revocations;
    }
    calendar_.add({now + r.deadline, incident, 0, EventKind::deadline});
  }

  // The CA revokes what is still unreplaced; the service's status check finds it.
  void revocation_deadline(std::uint32_t incident, std::int64_t now) {
    for (const auto& [index, serial] : revoking_[incident]) {
      Cert& c = certs_[index];
      if (c.serial != serial) {
        continue;  // replaced in time
      }
      ++results_.late_revocations;
      c.revoked = true;
      c.decision_stale = true;
      if (!down_ && !c.state.busy && !c.waiting) {
        refresh(c, now);
        plan_and_start(c, index, now);
      }
    }
    revoking_.erase(incident);
  }

  void finish() {
    for (const auto& c : certs_) {
      if (c.not_after < end_) {
        results_.expired_seconds += end_ - c.not_after;
      }
      results_.expired_certificates += c.ever_expired || c.not_after < end_ ? 1 : 0;
    }
    const auto minutes = orders_per_minute_.size() - 1;
    results_.mean_orders_per_minute =
        static_cast<double>(results_.orders) / static_cast<double>(minutes);
    std::size_t busiest_hour = 0;
    for (std::size_t hour = 0; hour + 60 <= minutes; hour += 60) {
      const auto begin = orders_per_minute_.begin() + static_cast<std::ptrdiff_t>(hour);
      busiest_hour = std::max<std::size_t>(busiest_hour, std::accumulate(begin, begin + 60, 0UL));
    }
    results_.peak_orders_per_minute = static_cast<double>(busiest_hour) / 60.0;
    results_.busiest_minute_orders = *std::ranges::max_element(orders_per_minute_);
  }

  struct Waiting {
    daemon::ScheduledJob job;
    std::uint32_t cert = 0;
    std::uint32_t generation = 0;
    // The queue's top is the one that runs first.
    bool operator<(const Waiting& o) const { return daemon::runs_before(o.job, job); }
  };

  const Scenario& s_;
  const std::int64_t end_;
  const std::uint64_t seed_;
  Random random_;
  std::vector<Cert> certs_;
  ModelCa ca_;
  Calendar calendar_;
  std::vector<std::uint32_t> orders_per_minute_;
  Results results_;
  // The service's.
  const std::size_t orders_per_ca_ = daemon::ServiceOptions{}.orders_per_ca;
  bool down_ = true;
  std::size_t in_flight_ = 0;
  daemon::CaThrottle ca_throttle_;
  std::optional<std::int64_t> hold_event_at_;
  std::priority_queue<Waiting> waiting_;
  // The CA's: each incident's certificates and the version it named.
  std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>> revoking_;
  std::vector<std::pair<std::int64_t, std::int64_t>> restarts_;  // stop, start
  std::vector<std::int64_t> disturbances_;  // when an answer or the daemon can change
};

std::vector<LifetimeShare> mixed_lifetimes() {
  // Let's Encrypt's 90-day and 6-day (160-hour) certificates, and the 45 days
  // the CA/Browser Forum's schedule reaches.
  return {{90 * kDay, 0.6}, {45 * kDay, 0.3}, {160 * kHour, 0.1}};
}

}  // namespace

std::vector<std::string> scenario_names() {
  return {"steady", "outage", "mass-revocation", "rate-limit", "restarts", "combined"};
}

std::optional<Scenario> scenario(std::string_view name, std::int64_t days) {
  Scenario s;
  s.name = std::string(name);
  s.lifetimes = mixed_lifetimes();
  const std::int64_t length = days * kDay;
  const Outage outage{length * 2 / 5, length * 2 / 5 + 72 * kHour};
  const std::vector<MassRevocation> revocations{{length * 3 / 10, 0.10, 24 * kHour},
                                                {length * 13 / 20, 0.30, 5 * kDay}};
  const bool all = name == "combined";
  if (name == "steady") {
    s.description = "mixed lifetimes (90, 45 and 6 days), 1% of orders failing";
  } else if (name == "outage" || all) {
    s.outages = {outage};
  }
  if (name == "mass-revocation" || all) {
    s.revocations = revocations;
  }
  if (name == "rate-limit" || all) {
    s.rate_limit = 2;
    // Let's Encrypt exempts renewals in their ARI window, and then nothing
    // here is ever limited; a CA that counts every order is the hard case.
    s.ari_renewals_exempt = all;
  }
  if (name == "restarts" || all) {
    s.restart_every_days = 3;
  }
  if (name == "outage") {
    s.description = "a 72-hour CA outage";
  } else if (name == "mass-revocation") {
    s.description = "10% revoked with 24 hours' notice, later 30% with 5 days'";
  } else if (name == "rate-limit") {
    s.description = "new orders capped at 2x the steady-state rate, ARI renewals counted too";
  } else if (name == "restarts") {
    s.description = "the daemon restarts every 3 days on average, down 1 minute to 2 hours";
  } else if (all) {
    s.description =
        "all at once (the rate limit exempting ARI renewals, as Let's Encrypt does: "
        "otherwise no client could replace 10% in 24 hours under a 2x cap)";
  } else if (name != "steady") {
    return std::nullopt;
  }
  return s;
}

Results simulate(const Scenario& scenario, std::size_t certificates, std::int64_t days,
                 std::uint64_t seed) {
  return Simulation(scenario, certificates, days, seed).run();
}

}  // namespace ck::sim

#include "daemon/service/service.h"

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "acme/issuance.h"
#include "core/atomic_file.h"
#include "core/deadline_stop.h"
#include "core/host_port.h"
#include "core/version.h"
#include "daemon/lifecycle/ari_check.h"
#include "daemon/lifecycle/deploy.h"
#include "daemon/lifecycle/inventory_view.h"
#include "daemon/lifecycle/issue.h"
#include "daemon/lifecycle/revoke.h"
#include "daemon/service/alert_outbox.h"
#include "daemon/service/alert_policy.h"
#include "daemon/service/control_server.h"
#include "daemon/service/http_listener.h"
#include "daemon/service/job_runner.h"
#include "daemon/service/jobs.h"
#include "daemon/service/journal_log.h"
#include "daemon/service/metrics.h"
#include "daemon/service/scheduler.h"
#include "daemon/service/status_page.h"
#include "daemon/service/status_view.h"

namespace ck::daemon {
namespace {

constexpr std::int64_t kProbeEvery = 3600;     // the endpoints, while all is well
constexpr std::int64_t kProbeAfterDeploy = 5;  // a reloaded server's moment to take it
constexpr std::int64_t kProbeConfirm = 30;     // a wrong endpoint probed again before an alert

// Reads the configuration as the CLI does: the given file, else the default
// file when present, else built-in defaults.
ConfigResult read_config(const std::string& given) {
  std::error_code ec;
  if (given.empty() && !std::filesystem::exists(kDefaultConfigPath, ec)) {
    return ConfigResult{};
  }
  return load_config(given.empty() ? std::string(kDefaultConfigPath) : given);
}

std::string describe_all(const ConfigResult& result) {
  std::string out;
  for (const auto& d : result.diagnostics) {
    out += (out.empty() ? "" : "; ") + d.describe();
  }
  return out;
}

void notify(const std::string& message) {
  sd_notify(0, message.c_str());
}

class Service {
 public:
  Service(ServiceOptions options, const Clock& clock)
      : options_(std::move(options)), clock_(clock), random_(std::random_device{}()) {}
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Exit code 0 when ready to run; else the code to exit with (logged).
  int start();
  int run();

 private:
  int open_signals();
  void clean_up_after_a_crash(const std::string& state_dir);
  void arm_timer(std::optional<std::int64_t> at);
  void rebuild_states(bool spread);
  void refresh_state(LiveCertificate& live, const CertificateConfig& cert);
  void schedule();
  void restore_from_events();
  void record_event(const std::string& name, const std::string& kind, const std::string& message);
  void evaluate_alerts_now(const std::set<std::string>* only = nullptr);
  std::set<std::string> due_now(std::int64_t now) const;
  void index_config();
  AlertFacts alert_facts(const std::string& name, const LiveCertificate& live, std::int64_t now);
  void record_deploy(const JobOutcome& done, LiveCertificate& live);
  void record_probes(const JobOutcome& done, LiveCertificate& live, std::int64_t now);
  void pace_after_failure(const std::string& name, const Error& error, std::int64_t now);
  bool may_start(const CertificateConfig& cert, JobKind kind) const;
  std::int64_t ca_hold(const CertificateConfig& cert) const;
  const CaThrottle& throttle_of(const CertificateConfig& cert) const;
  bool asked_by_operator(const std::string& name) const;
  void submit(const CertificateConfig& cert, JobKind kind, bool force);
  void on_signal();
  void on_jobs_done();
  void reload();
  void tell_status();
  void tell_progress();
  bool open_http_listener();
  std::optional<std::string> handle(const ControlRequest& request, const PendingReply& to);
  std::string revoke(const ControlRequest& request, const PendingReply& to);
  void answer_revoke(const JobOutcome& done);
  HttpResponse serve(const HttpRequest& request);
  std::string metrics_text();
  nlohmann::json status_result(std::size_t limit, const std::string& only);
  const CertificateConfig* configured(const std::string& name) const;

  ServiceOptions options_;
  const Clock& clock_;
  std::mt19937_64 random_;
  std::shared_ptr<const Config> config_;
  acme::CaSessions ca_sessions_;  // what the jobs asking one CA share (its directory, nonces)
  std::optional<store::StateLayout> layout_;
  std::unique_ptr<store::Inventory> inventory_;  // the loop's own connection
  std::unique_ptr<JobRunner> runner_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<HttpListener> http_;  // [metrics] listen; none when not configured
  std::string http_address_;            // what http_ listens on, as configured
  std::unique_ptr<AlertOutbox> outbox_;
  int signal_fd_ = -1;
  int timer_fd_ = -1;
  int watchdog_fd_ = -1;
  std::map<std::string, LiveCertificate> live_;
  // live_'s entries in a vector, rebuilt with it: the passes over all of them
  // after every job load independent addresses instead of walking the tree.
  std::vector<std::pair<const std::string, LiveCertificate>*> records_;
  // The configuration's certificates by name: looked up for every job that ends.
  std::unordered_map<std::string, const CertificateConfig*> by_name_;
  std::set<std::string> renewing_;  // a renewal runs for them (the per-CA and listener limits)
  // Revocations asked over the socket, by certificate name: who waits for the answer.
  struct WaitingRevoke {
    PendingReply to;
    nlohmann::json id;
  };
  std::map<std::string, WaitingRevoke> revoking_;
  std::size_t running_jobs_ = 0;
  std::map<std::string, std::int64_t> ari_failed_at_;
  std::map<std::string, bool> ari_unsupported_;
  std::map<std::string, bool> operator_asked_;     // renew over the socket: no backoff, once
  std::map<std::string, bool> forced_;             // renew with force: due or not
  std::set<std::string> interrupted_;              // forced at start: an order to finish
  std::map<std::string, CaThrottle> ca_throttle_;  // by issuer: how it pushed back
  std::vector<std::string> redeploy_;              // at start: deploys a crash interrupted
  std::optional<std::int64_t> next_wake_;
  std::optional<std::int64_t> next_alert_change_;  // an expiry threshold crossed
  std::string last_status_;                        // the last STATUS= told to systemd
  std::int64_t started_at_ = 0;
  std::int64_t config_loaded_at_ = 0;  // the latest load or reload attempt
  bool config_load_ok_ = true;
  JobMetrics job_metrics_;
  // A burst of jobs (from an idle queue to an idle queue), for the progress
  // line on a terminal: a start with many certificates due.
  std::size_t burst_submitted_ = 0;
  std::size_t burst_done_ = 0;
  MonoTime progress_told_at_{};
  bool stopping_ = false;
};

Service::~Service() {
  runner_.reset();  // joins the workers before their context goes
  outbox_.reset();
  for (int fd : {signal_fd_, timer_fd_, watchdog_fd_}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

int Service::open_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) {
    sigaddset(&set, s);
  }
  // Blocked before any worker starts, so that every thread inherits the mask
  // and the signals reach only the signalfd.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  return signal_fd_ >= 0 && timer_fd_ >= 0 ? 0 : 3;
}

int Service::start() {
  started_at_ = clock_.unix_seconds();
  config_loaded_at_ = started_at_;
  ConfigResult loaded = read_config(options_.config_path);
  if (!loaded.ok()) {
    setup_logging("info");
    spdlog::error("configuration refused: {}", describe_all(loaded));
    return 2;
  }
  setup_logging(loaded.config.daemon.log_level);
  config_ = std::make_shared<const Config>(std::move(loaded.config));
  index_config();
  if (open_signals() != 0) {
    spdlog::error("cannot set up signals and timers: {}", std::strerror(errno));
    return 3;
  }
  const std::string state_dir =
      options_.state_dir.empty() ? config_->daemon.state_dir : options_.state_dir;
  layout_.emplace(state_dir);
  auto inventory =
      layout_->prepare()
          ? store::open_inventory(layout_->database().string(), clock_)
          : Result<std::unique_ptr<store::Inventory>>(std::unexpected(layout_->prepare().error()));
  if (!inventory) {
    spdlog::error("state directory {}: {}", state_dir, inventory.error().describe());
    return 3;
  }
  inventory_ = std::move(*inventory);
  auto runner = JobRunner::create(options_.workers, layout_->database().string(), clock_);
  if (!runner) {
    spdlog::error("cannot start the job runner: {}", runner.error().describe());
    return 3;
  }
  runner_ = std::move(*runner);
  auto outbox = AlertOutbox::start(layout_->database().string(), clock_, config_->alerts);
  if (!outbox) {
    spdlog::error("cannot start the alert outbox: {}", outbox.error().describe());
    return 3;
  }
  outbox_ = std::move(*outbox);
  const int inherited = sd_listen_fds(1) >= 1 ? SD_LISTEN_FDS_START : -1;
  auto control = ControlServer::create(
      config_->daemon.socket, inherited, ServiceIdentity{::getuid(), ::getgid()}, clock_,
      [this](const ControlRequest& request, const PendingReply& to) {
        return handle(request, to);
      });
  if (!control) {
    spdlog::error("control socket: {}", control.error().describe());
    return 3;
  }
  control_ = std::move(*control);
  if (!open_http_listener()) {
    return 3;
  }
  std::uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
    watchdog_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    const auto half = static_cast<long>(watchdog_usec / 2);
    itimerspec every{{half / 1'000'000, half % 1'000'000 * 1000},
                     {half / 1'000'000, half % 1'000'000 * 1000}};
    timerfd_settime(watchdog_fd_, 0, &every, nullptr);
  }
  clean_up_after_a_crash(state_dir);
  restore_from_events();
  rebuild_states(true);
  evaluate_alerts_now();
  for (const auto& name : redeploy_) {
    if (const CertificateConfig* cert = configured(name)) {
      submit(*cert, JobKind::deploy, false);
    }
  }
  for (const auto& line : not_yet_built(*config_)) {
    spdlog::warn("{}", line);
  }
  spdlog::info("certkeeper {} started: {} certificates, state {}, socket {}{}", kVersion,
               config_->certificates.size(), state_dir,
               inherited >= 0 ? "(from systemd)" : config_->daemon.socket,
               config_->path.empty() ? ", no configuration file" : ", config " + config_->path);
  return 0;
}

// What a service killed mid-work left: temporary files of interrupted writes
// (in the state directory and the deploy folders; older than a few seconds, so
// that a command writing at this moment is left alone), and orders to finish:
// those are due at once.
void Service::clean_up_after_a_crash(const std::string& state_dir) {
  std::size_t removed = remove_stale_temporaries(state_dir, true, std::chrono::seconds(10));
  for (const auto& cert : config_->certificates) {
    const DeployConfig& d = cert.deploy;
    for (const std::string* file : {&d.fullchain, &d.cert, &d.chain, &d.key, &d.combined}) {
      if (!file->empty()) {
        removed += remove_stale_temporaries(std::filesystem::path(*file).parent_path(), false,
                                            std::chrono::seconds(10));
      }
    }
    if (has_interrupted_order(*inventory_, cert.name)) {
      forced_[cert.name] = true;
      interrupted_.insert(cert.name);
      spdlog::info("{}: an order was interrupted; finishing it", cert.name);
    }
    // Even with an order to finish: the current version goes out at once,
    // whether or not that order succeeds.
    if (!deployment_is_current(cert, *inventory_)) {
      redeploy_.push_back(cert.name);  // started once the states are built
      spdlog::info(
          "{}: what is deployed is not the current version with its key; deploying "
          "again",
          cert.name);
    }
  }
  if (removed > 0) {
    spdlog::info("removed {} temporary file(s) of writes a crash interrupted", removed);
  }
}

// Every configured certificate's state, from the inventory. At start,
// overdue work (renewals and ARI checks) is spread over a window instead of
// all starting at once.
void Service::rebuild_states(bool spread) {
  std::map<std::string, LiveCertificate> next;
  for (const auto& cert : config_->certificates) {
    LiveCertificate live;
    if (auto it = live_.find(cert.name); it != live_.end()) {
      live = it->second;  // failures and running jobs survive a reload
    }
    live.state.name = cert.name;
    refresh_state(live, cert);
    next[cert.name] = std::move(live);
  }
  live_ = std::move(next);
  records_.clear();
  records_.reserve(live_.size());
  for (auto& entry : live_) {
    records_.push_back(&entry);
  }
  if (!spread) {
    return;
  }
  const std::int64_t now = clock_.unix_seconds();
  const auto count = static_cast<std::size_t>(std::ranges::count_if(
      live_, [&](const auto& entry) { return overdue_at_start(entry.second.state, now); }));
  for (auto& [name, live] : live_) {
    if (overdue_at_start(live.state, now)) {
      live.state.held_until = start_spread(now, count, random_());
    }
  }
}

void Service::refresh_state(LiveCertificate& live, const CertificateConfig& cert) {
  const std::int64_t now = clock_.unix_seconds();
  auto check = check_renewal(cert, *config_, *inventory_, now, live.failures,
                             operator_asked_[cert.name] || forced_[cert.name], random_());
  if (!check) {
    spdlog::error("{}: cannot read the inventory: {}", cert.name, check.error().describe());
    live.state.renewal = {false, now + 60, RenewalRule::lifetime, 0, "inventory unreadable"};
    live.known = false;  // its alerts stay as they are
    return;
  }
  live.state.renewal = check->decision;
  live.known = true;
  live.not_before = check->current ? std::optional(check->current->not_before) : std::nullopt;
  live.not_after = check->current ? std::optional(check->current->not_after) : std::nullopt;
  live.sha256 = check->current ? check->current->sha256 : "";
  live.subject = check->current ? check->current->subject : "";
  live.issuer_cn = check->current ? check->current->issuer_cn : "";
  live.ari_window.reset();
  live.revoked = false;
  if (!check->current) {  // none active: revoked (the latest version says), or never issued
    auto versions = inventory_->certificates().versions(cert.name);
    live.revoked = versions && !versions->empty() &&
                   std::ranges::max(*versions, {}, &store::CertificateRecord::not_before).status ==
                       store::CertificateStatus::revoked;
  }
  if (forced_[cert.name]) {
    live.state.renewal.due = true;
    live.state.renewal.at = now;
    live.state.renewal.reason = interrupted_.contains(cert.name)
                                    ? "an order was interrupted: finishing it"
                                    : "asked over the control socket, with force";
  }
  // Staples and revocation: a version not checked yet at once, else when the
  // last check said (a check that could not run: an hour later).
  live.state.status_check_at.reset();
  if (check->current) {
    if (!live.status || live.status->sha256 != check->current->sha256) {
      live.state.status_check_at = live.status_error.empty() ? now : live.status_checked_at + 3600;
    } else if (live.status->next_check > 0) {
      live.state.status_check_at = live.status->next_check;
    }
  }
  live.state.probe_at.reset();
  if (check->current && !cert.probe.empty()) {
    live.state.probe_at = std::max(live.next_probe, now);
  }
  live.state.ari_check_at.reset();
  // Only a certificate an ACME CA issued has a CA to ask (not an imported one).
  if (check->current && check->current->source == "acme" && !ari_unsupported_[cert.name]) {
    auto ari = inventory_->renewal_info().find(check->current->id);
    std::optional<std::int64_t> next_check;
    std::optional<std::int64_t> fetched;
    if (ari && *ari) {
      next_check = (*ari)->next_check;
      fetched = (*ari)->fetched_at;
      live.ari_window = {(*ari)->window_start, (*ari)->window_end};
    }
    std::optional<std::int64_t> failed_at;
    if (auto failed = ari_failed_at_.find(cert.name); failed != ari_failed_at_.end()) {
      failed_at = failed->second;
    }
    live.state.ari_check_at = ari_check_time(next_check, fetched, now, failed_at);
  }
  live.state.renew_by = live.not_after;
  if (live.not_after && live.ari_window) {
    live.state.renew_by = std::min(*live.not_after, live.ari_window->second);
  }
  spdlog::debug("{}: renew at {} ({}: {})", cert.name, format_rfc3339(live.state.renewal.at),
                to_string(live.state.renewal.rule), live.state.renewal.reason);
}

// What the event log says of each configured certificate since the service
// last ran: its renewal failures in a row (back to its latest issue) and its
// latest deploy's error, so that a restart neither forgets a failing
// certificate nor reports its alert recovered.
void Service::restore_from_events() {
  constexpr std::size_t kLookBack = 200;
  for (const auto& cert : config_->certificates) {
    auto events = inventory_->events().recent(kLookBack, cert.name);
    if (!events) {
      spdlog::warn("{}: cannot read its events: {}", cert.name, events.error().describe());
      continue;
    }
    LiveCertificate& live = live_[cert.name];
    bool deploy_known = false;
    for (const auto& e : *events) {  // newest first
      if (!deploy_known && (e.kind == "deployed" || e.kind == "deploy_failed")) {
        live.deploy_error = e.kind == "deploy_failed" ? e.message : "";
        deploy_known = true;
      }
      if (e.kind == "issued") {
        break;
      }
      if (e.kind == "renewal_failed") {
        if (live.failures.count++ == 0) {
          live.failures.last_at = e.at;
          live.failures.last_error = e.message;
        }
      }
    }
    if (live.failures.count > 0) {
      live.last_result = "failed";
      spdlog::info("{}: {} renewal failure(s) in a row before this start; the latest: {}",
                   cert.name, live.failures.count, live.failures.last_error);
    }
  }
}

// A probe's findings: an endpoint found wrong (unreachable, or not serving the
// current version) is probed again shortly, and alerted when it still is, so
// that a reload still in progress is not an alert.
void Service::record_probes(const JobOutcome& done, LiveCertificate& live, std::int64_t now) {
  live.next_probe = now + kProbeEvery;
  if (!done.status) {
    spdlog::warn("{}: probe failed: {}", done.name, done.status.error().describe());
    return;
  }
  live.probes = done.probes;
  for (const auto& p : live.probes) {
    int& problems = live.probe_problems[p.endpoint];
    problems = p.error.empty() && p.matches ? 0 : problems + 1;
    if (problems == 1) {
      live.next_probe = now + kProbeConfirm;
    }
    spdlog::log(problems > 0 ? spdlog::level::warn : spdlog::level::info, "{}: {}: {}", done.name,
                p.endpoint, p.message);
  }
}

// A CA that answered rateLimited with a Retry-After gets no order from this
// service (for any certificate whose first issuer it is) until then; one that
// could not be reached, a short hold that grows while it stays so (only for a
// certificate with no other issuer: with one, the job has already moved on to
// it). Then one order at a time until one succeeds (CaThrottle).
void Service::pace_after_failure(const std::string& name, const Error& error, std::int64_t now) {
  const CertificateConfig* cert = configured(name);
  if (!cert || cert->issuers.empty()) {
    return;
  }
  const std::string& issuer = cert->issuers.front();
  if (error.acme_problem == "rateLimited" && error.retry_after) {
    CaThrottle& throttle = ca_throttle_[issuer];
    throttle.rate_limited(now, *error.retry_after);
    spdlog::warn(
        "issuer {} is rate limiting: no orders to it until {} (its Retry-After), then one at a "
        "time until one succeeds",
        issuer, format_rfc3339(throttle.held_until));
  } else if (cert->issuers.size() == 1 &&
             (error.code == Errc::network || error.code == Errc::timeout)) {
    CaThrottle& throttle = ca_throttle_[issuer];
    throttle.unreachable(now);
    spdlog::warn(
        "issuer {} cannot be reached ({} in a row): no orders to it until {}, then one at a "
        "time until one succeeds",
        issuer, throttle.unreachable_in_a_row, format_rfc3339(throttle.paused_until));
  }
}

// A deploy's outcome, kept (for alerts after a restart) when it changes
// anything: a failure, or a deploy that wrote files after one failed.
void Service::record_deploy(const JobOutcome& done, LiveCertificate& live) {
  if (done.deploy_error.empty()) {
    live.next_probe = clock_.unix_seconds() + kProbeAfterDeploy;  // does it serve the new one?
  }
  if (!done.deploy_error.empty()) {
    record_event(done.name, "deploy_failed", done.deploy_error);
  } else if (!live.deploy_error.empty()) {
    record_event(done.name, "deployed", done.summary);
  }
  live.deploy_error = done.deploy_error;
}

void Service::record_event(const std::string& name, const std::string& kind,
                           const std::string& message) {
  if (auto appended =
          inventory_->events().append({0, clock_.unix_seconds(), kind, name, message, ""});
      !appended) {
    spdlog::error("{}: cannot record the event {}: {}", name, kind, appended.error().describe());
  }
}

// What the alert policy is told of a certificate: the service's live state,
// its latest status check included (no inventory read on the loop).
AlertFacts Service::alert_facts(const std::string& name, const LiveCertificate& live,
                                std::int64_t now) {
  AlertFacts f{name,         live.not_before, live.not_after,
               live.revoked, live.failures,   live.deploy_error};
  for (const auto& p : live.probes) {
    auto problems = live.probe_problems.find(p.endpoint);
    if (problems != live.probe_problems.end() && problems->second >= 2) {
      f.endpoints.push_back({p.endpoint, p.error, p.error.empty() ? p.message : ""});
    }
  }
  const bool checked = live.status && live.not_after;
  if (!checked) {
    return f;
  }
  for (const auto& staple : live.status->staples) {
    if (f.staple_error.empty() && !staple.error.empty()) {
      f.staple_error = staple.error;
    }
    f.staple_expired = f.staple_expired || (staple.next_update > 0 && staple.next_update < now);
  }
  if (live.status->revocation == "unavailable") {
    f.revocation_unavailable_by = live.status->method;
    f.revocation_error = live.status->error;
  }
  return f;
}

// Every configured certificate's alerts against the open ones: new ones are
// opened with their notices, gone ones closed (recovered: with a notice), in
// one transaction; the outbox delivers. The log has each change.
void Service::evaluate_alerts_now(const std::set<std::string>* only) {
  const std::int64_t now = clock_.unix_seconds();
  auto open = inventory_->alerts().open_alerts();
  if (!open) {
    spdlog::error("alerts: cannot read the open alerts: {}", open.error().describe());
    return;
  }
  std::vector<AlertCondition> firing;
  std::vector<std::string> names;
  const auto evaluate = [&](const CertificateConfig& cert) {
    LiveCertificate& live = live_[cert.name];
    live.next_alert_change.reset();
    if (!live.known) {
      return;  // unreadable: its alerts stay as they are
    }
    names.push_back(cert.name);
    AlertEvaluation e = evaluate_alerts(alert_facts(cert.name, live, now), config_->alerts, now);
    std::ranges::move(e.firing, std::back_inserter(firing));
    live.next_alert_change = e.next_change;
  };
  if (only) {
    for (const auto& name : *only) {
      if (const CertificateConfig* cert = configured(name)) {
        evaluate(*cert);
      }
    }
  } else {
    for (const auto& cert : config_->certificates) {
      evaluate(cert);
    }
  }
  // An alert of a certificate no longer configured closes; one whose state is
  // unknown just now is kept (its name still configured, not in `names`), and
  // so is a staple or revocation alert until the first status check since start.
  const std::unordered_set<std::string_view> evaluated(names.begin(), names.end());
  std::vector<store::AlertRecord> considered;
  for (auto& alert : *open) {
    if (only && !only->contains(alert.certificate_name)) {
      continue;  // not looked at this time
    }
    const bool status_kind = alert.kind == "staple" || alert.kind == "crl_unreachable" ||
                             alert.kind == "ocsp_unreachable";
    const bool probe_kind = alert.kind == "drift" || alert.kind == "probe_failed";
    const CertificateConfig* cert = configured(alert.certificate_name);
    const bool known =
        evaluated.contains(alert.certificate_name) &&
        (!status_kind || live_.at(alert.certificate_name).status.has_value()) &&
        (!probe_kind || !live_.at(alert.certificate_name).probes.empty() || cert->probe.empty());
    if (known || !cert) {
      considered.push_back(std::move(alert));
    }
  }
  const AlertChanges changes = compare_alerts(firing, considered, names);
  if (changes.open.empty() && changes.refresh.empty() && changes.close.empty()) {
    return;
  }
  auto applied = apply_alert_changes(*inventory_, changes, config_->alerts, now);
  if (!applied) {
    spdlog::error("alerts: cannot record them: {}", applied.error().describe());
    return;
  }
  for (const auto& a : applied->opened) {
    const LogFields fields{{"CERTIFICATE", a.certificate_name},
                           {"ALERT_KEY", a.dedup_key},
                           {"ALERT_SEVERITY", a.severity}};
    const auto level = a.severity == "critical" ? spdlog::level::err : spdlog::level::warn;
    spdlog::log(level, "{}: ALERT {} ({}): {}", a.certificate_name, a.dedup_key, a.severity,
                a.message);
  }
  for (const auto& a : applied->recovered) {
    const LogFields fields{{"CERTIFICATE", a.certificate_name}, {"ALERT_KEY", a.dedup_key}};
    spdlog::info("{}: alert {} resolved", a.certificate_name, a.dedup_key);
  }
  if (!applied->opened.empty() || !applied->recovered.empty()) {
    outbox_->wake();
  }
}

const CertificateConfig* Service::configured(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

void Service::index_config() {
  by_name_.clear();
  by_name_.reserve(config_->certificates.size());
  for (const auto& cert : config_->certificates) {
    by_name_.emplace(cert.name, &cert);
  }
}

// A renewal asked for over the control socket (or forced): it waits for no
// backoff of ours, only for the CA's own word.
bool Service::asked_by_operator(const std::string& name) const {
  const auto flag = [&](const std::map<std::string, bool>& m) {
    const auto it = m.find(name);
    return it != m.end() && it->second;
  };
  return flag(operator_asked_) || flag(forced_);
}

// Until when no order goes to the certificate's first issuer (its
// rateLimited Retry-After, or our pause while it could not be reached); 0
// when nothing holds it (CaThrottle).
std::int64_t Service::ca_hold(const CertificateConfig& cert) const {
  return throttle_of(cert).until(asked_by_operator(cert.name));
}

// How the certificate's first issuer pushed back; nothing when it has not.
const CaThrottle& Service::throttle_of(const CertificateConfig& cert) const {
  static const CaThrottle kNone;
  const auto it =
      cert.issuers.empty() ? ca_throttle_.end() : ca_throttle_.find(cert.issuers.front());
  return it == ca_throttle_.end() ? kNone : it->second;
}

// One renewal at a time per built-in challenge listener (each binds its
// address), and at most orders_per_ca renewals in flight at one CA.
bool Service::may_start(const CertificateConfig& cert, JobKind kind) const {
  if (kind != JobKind::renew) {
    return true;
  }
  std::size_t same_ca = 0;
  for (const auto& name : renewing_) {
    const CertificateConfig* other = configured(name);
    if (!other) {
      continue;
    }
    if (!cert.challenge.listen.empty() && other->challenge.listen == cert.challenge.listen) {
      return false;
    }
    same_ca += !other->issuers.empty() && !cert.issuers.empty() &&
                       other->issuers.front() == cert.issuers.front()
                   ? 1
                   : 0;
  }
  return may_send_order(same_ca, options_.orders_per_ca, throttle_of(cert), clock_.unix_seconds(),
                        asked_by_operator(cert.name));
}

// The certificates with a job whose time has come, or an expiry threshold crossed.
std::set<std::string> Service::due_now(std::int64_t now) const {
  std::set<std::string> due;
  for (const auto* record : records_) {
    const auto& [name, live] = *record;
    const CertificateState& s = live.state;
    const auto reached = [&](std::optional<std::int64_t> at) {
      return at && std::max(*at, s.held_until) <= now;
    };
    const bool job = !s.busy && (reached(s.renewal.at) || reached(s.ari_check_at) ||
                                 reached(s.status_check_at) || reached(s.probe_at));
    if (job || (live.next_alert_change && *live.next_alert_change <= now)) {
      due.insert(name);
    }
  }
  return due;
}

void Service::schedule() {
  if (stopping_) {
    return;
  }
  std::vector<const CertificateState*> states;
  states.reserve(records_.size());
  next_alert_change_.reset();  // the soonest expiry threshold of all, in the same pass
  for (const auto* record : records_) {
    const LiveCertificate& live = record->second;
    states.push_back(&live.state);
    if (live.next_alert_change &&
        (!next_alert_change_ || *live.next_alert_change < *next_alert_change_)) {
      next_alert_change_ = live.next_alert_change;
    }
  }
  const std::int64_t now = clock_.unix_seconds();
  Plan p = plan(states, now);
  next_wake_ = p.next_wake;
  for (const ScheduledJob& job : p.due) {
    const CertificateConfig* cert = configured(states[job.index]->name);
    if (!cert || live_[cert->name].running) {
      continue;
    }
    if (!may_start(*cert, job.kind)) {
      // Planned again when the job in the way ends, or when the CA's hold does.
      if (const std::int64_t hold = ca_hold(*cert); hold > now) {
        next_wake_ = next_wake_ ? std::min(*next_wake_, hold) : hold;
      }
      continue;
    }
    submit(*cert, job.kind, forced_[cert->name]);
  }
  if (next_alert_change_ && (!next_wake_ || *next_alert_change_ < *next_wake_)) {
    next_wake_ = next_alert_change_;
  }
  arm_timer(next_wake_);
  tell_status();
}

void Service::arm_timer(std::optional<std::int64_t> at) {
  itimerspec when{};
  if (at) {
    when.it_value.tv_sec = static_cast<time_t>(std::max<std::int64_t>(*at, 1));
  }
  // Absolute wall time: a clock that is set (NTP step, suspend) cancels the
  // wait, and the loop plans again.
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &when, nullptr);
}

void Service::submit(const CertificateConfig& cert, JobKind kind, bool force) {
  if (runner_->pending() == 0) {
    burst_submitted_ = burst_done_ = 0;
  }
  ++burst_submitted_;
  LiveCertificate& live = live_[cert.name];
  live.running = kind;
  live.state.busy = true;
  ++running_jobs_;
  if (kind == JobKind::renew) {
    renewing_.insert(cert.name);
  }
  live.last_attempt_at = clock_.unix_seconds();
  const LogFields fields{{"CERTIFICATE", cert.name}, {"JOB", std::string(to_string(kind))}};
  spdlog::info("{}: {} ({})", cert.name, to_string(kind),
               kind == JobKind::renew          ? live.state.renewal.reason
               : kind == JobKind::check_ari    ? std::string("asking the CA")
               : kind == JobKind::check_status ? std::string("staples and revocation")
               : kind == JobKind::probe        ? std::string("probing its endpoints")
                                               : std::string("finishing an interrupted deploy"));
  runner_->submit([cert, kind, force, config = config_, layout = *layout_, &clock = clock_,
                   &sessions = ca_sessions_,
                   random = random_()](store::Inventory& inventory, std::stop_token stop) {
    const LogFields job_fields{{"CERTIFICATE", cert.name}, {"JOB", std::string(to_string(kind))}};
    switch (kind) {
      case JobKind::check_ari:
        return check_ari_job(cert, *config, inventory, clock, sessions, random, stop);
      case JobKind::check_status: return status_job(cert, layout, inventory, clock, stop);
      case JobKind::probe: return probe_job(cert, inventory, clock);
      case JobKind::deploy: return deploy_job(cert, inventory, stop);
      case JobKind::renew:
      default:
        return renew_job(cert, *config, layout, inventory, clock, sessions, random, force, stop);
    }
  });
}

void Service::on_jobs_done() {
  std::set<std::string> finished;
  for (JobOutcome& done : runner_->take_finished()) {
    burst_done_ = std::min(burst_done_ + 1, burst_submitted_);
    --running_jobs_;
    if (done.kind == JobKind::revoke) {
      answer_revoke(done);
    }
    if (done.kind == JobKind::renew) {
      renewing_.erase(done.name);
    }
    auto it = live_.find(done.name);
    if (it == live_.end()) {
      continue;  // no longer configured (a reload while it ran)
    }
    job_metrics_.record(done.kind, done.status && done.deploy_error.empty(), done.elapsed);
    LiveCertificate& live = it->second;
    live.running.reset();
    live.state.busy = false;
    const std::int64_t now = clock_.unix_seconds();
    const LogFields fields{
        {"CERTIFICATE", done.name},
        {"JOB", std::string(to_string(done.kind))},
        {"ORDER_URL", done.order_url},
        {"ERROR_CODE", done.status ? "" : std::string(to_string(done.status.error().code))},
        {"ACME_PROBLEM", done.status ? "" : done.status.error().acme_problem}};
    if (done.kind == JobKind::deploy) {
      if (done.deploy_error.empty()) {
        spdlog::info("{}: {}", done.name, done.summary);
      } else {
        live.last_result = "deploy_failed";
        spdlog::error("{}: the deploy failed: {}", done.name, done.deploy_error);
      }
      record_deploy(done, live);
    } else if (done.kind == JobKind::probe) {
      record_probes(done, live, now);
    } else if (done.kind == JobKind::check_status) {
      live.status_checked_at = now;
      if (!done.status) {
        live.status_error = done.status.error().describe();
        spdlog::warn("{}: status check failed: {}", done.name, live.status_error);
      } else {
        live.status_error.clear();
        live.status = done.status_check;
        const bool revoked = live.status && live.status->newly_revoked;
        spdlog::log(revoked ? spdlog::level::err : spdlog::level::info, "{}: {}", done.name,
                    done.summary);
      }
    } else if (done.kind == JobKind::revoke) {
      // Its state is read again below: a revoked configured certificate is re-issued at once.
    } else if (done.kind == JobKind::check_ari) {
      if (!done.status) {
        ari_failed_at_[done.name] = now;
        if (done.status.error().code == Errc::unsupported) {
          ari_unsupported_[done.name] = true;  // not asked again until a reload
          spdlog::info("{}: no ARI ({}); renewal times come from the lifetime", done.name,
                       done.status.error().describe());
        } else {
          spdlog::warn("{}: ARI check failed: {}", done.name, done.status.error().describe());
        }
      } else {
        ari_failed_at_.erase(done.name);
        spdlog::info("{}: {}", done.name, done.summary);
      }
    } else if (!done.status) {
      live.last_renewal_at = now;
      live.failures = {live.failures.count + 1, now, done.status.error().describe()};
      live.last_result = "failed";
      spdlog::error("{}: renewal failed ({} in a row): {}", done.name, live.failures.count,
                    done.status.error().describe());
      // The event is the lifecycle's (issue.h), with the order and the CA's words.
      pace_after_failure(done.name, done.status.error(), now);
    } else {
      const bool issued = !done.summary.starts_with("not due");
      live.last_renewal_at = now;
      live.failures = {};
      live.status_error.clear();  // the new version is checked at once
      live.last_result = issued ? "issued" : "not_due";
      if (const CertificateConfig* cert = configured(done.name);
          issued && cert && !cert->issuers.empty()) {
        if (auto throttle = ca_throttle_.find(cert->issuers.front());
            throttle != ca_throttle_.end()) {
          throttle->second.order_succeeded();
        }
      }
      spdlog::info("{}: {}", done.name, done.summary);
      if (!done.deploy_error.empty()) {
        live.last_result = "deploy_failed";
        spdlog::error("{}: issued, but the deploy failed: {}", done.name, done.deploy_error);
      }
      if (issued) {
        record_deploy(done, live);
      }
    }
    if (done.kind == JobKind::renew) {
      // The renewal asked for has run; another job's end leaves it queued.
      operator_asked_.erase(done.name);
      forced_.erase(done.name);
      interrupted_.erase(done.name);
    }
    if (const CertificateConfig* cert = configured(done.name)) {
      refresh_state(live, *cert);
    }
    finished.insert(done.name);
  }
  evaluate_alerts_now(&finished);
  schedule();
  tell_progress();
}

// On a terminal, a long burst of jobs (a start with many certificates due)
// says how far it has got, every few seconds and at its end.
void Service::tell_progress() {
  constexpr std::size_t kLongBurst = 20;
  static const bool terminal = ::isatty(STDERR_FILENO) == 1;
  if (!terminal || burst_submitted_ < kLongBurst) {
    return;
  }
  const bool finished = runner_->pending() == 0;
  if (!finished && clock_.monotonic() - progress_told_at_ < std::chrono::seconds(2)) {
    return;
  }
  progress_told_at_ = clock_.monotonic();
  spdlog::info("progress: {}/{} jobs done{}", burst_done_, burst_submitted_,
               finished ? "" : fmt::format(", {} running or queued", runner_->pending()));
}

void Service::reload() {
  notify("RELOADING=1\nMONOTONIC_USEC=" +
         std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count()));
  ConfigResult loaded = read_config(options_.config_path);
  config_loaded_at_ = clock_.unix_seconds();
  config_load_ok_ = loaded.ok();
  if (!loaded.ok()) {
    spdlog::error("reload refused, the running configuration is kept: {}", describe_all(loaded));
  } else {
    spdlog::get("certkeeper")->set_level(spdlog::level::from_str(loaded.config.daemon.log_level));
    config_ = std::make_shared<const Config>(std::move(loaded.config));
    index_config();
    outbox_->configure(config_->alerts);
    if (config_->metrics.listen != http_address_ && !open_http_listener()) {
      config_load_ok_ = false;  // the rest of it applies; the listener stays as it was
    }
    rebuild_states(false);
    evaluate_alerts_now();
    spdlog::info("configuration reloaded: {} certificates", config_->certificates.size());
    for (const auto& line : not_yet_built(*config_)) {
      spdlog::warn("{}", line);
    }
  }
  notify("READY=1");
  schedule();
}

void Service::on_signal() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGHUP) {
      reload();
    } else {
      spdlog::info("stopping (signal {}): {} job(s) told to stop", info.ssi_signo,
                   runner_->pending());
      notify("STOPPING=1");
      stopping_ = true;
    }
  }
}

void Service::tell_status() {
  std::string status =
      "STATUS=" + std::to_string(live_.size()) + " certificates, " + std::to_string(running_jobs_) +
      " job(s) running" +
      (next_wake_ ? ", next at " + format_rfc3339(*next_wake_) : ", nothing planned");
  if (status != last_status_) {  // only what changed: systemd keeps the last anyway
    notify(status);
    last_status_ = std::move(status);
  }
}

// Listens where [metrics] listen says (the configuration checked the address:
// loopback unless allowed otherwise), or stops listening when it says nothing.
// A listener that cannot bind is an error; at start, the service does not run.
bool Service::open_http_listener() {
  const std::string& wanted = config_->metrics.listen;
  if (wanted.empty()) {
    http_.reset();
    http_address_.clear();
    return true;
  }
  auto address = parse_host_port(wanted, 0);
  auto listener =
      address ? HttpListener::create(*address, clock_,
                                     [this](const HttpRequest& request) { return serve(request); })
              : Result<std::unique_ptr<HttpListener>>(std::unexpected(address.error()));
  if (!listener) {
    spdlog::error("metrics listener {}: {}", wanted, listener.error().describe());
    return false;
  }
  http_ = std::move(*listener);  // a reload that cannot bind keeps the old one
  http_address_ = wanted;
  const std::string where = format_host_port({address->host, http_->port()});
  spdlog::info("metrics at http://{}/metrics, status page at http://{}/", where, where);
  return true;
}

std::string Service::metrics_text() {
  const DaemonFacts facts{kVersion, started_at_, config_loaded_at_, config_load_ok_,
                          runner_->pending()};
  return render_metrics(live_, job_metrics_, facts, clock_.unix_seconds());
}

// The listener's pages: /metrics for Prometheus, / for people.
HttpResponse Service::serve(const HttpRequest& request) {
  if (request.path == "/metrics") {
    return {200, kMetricsContentType, metrics_text(), {}};
  }
  if (request.path != "/") {
    return {404, "text/plain; charset=utf-8", "not found: try / or /metrics\n", {}};
  }
  constexpr std::size_t kRecent = 20;
  StatusPageInput page{clock_.unix_seconds(), kVersion, started_at_, &live_, {}, {}};
  if (auto alerts = inventory_->alerts().history(kRecent); alerts) {
    page.alerts = std::move(*alerts);
  }
  if (auto events = inventory_->events().recent(kRecent); events) {
    page.events = std::move(*events);
  }
  // No script, no outside resource: a value that slipped its escaping could
  // still not run or fetch anything.
  return {200,
          "text/html; charset=utf-8",
          render_status_page(page),
          {{"Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"}}};
}

nlohmann::json Service::status_result(std::size_t limit, const std::string& only) {
  const std::int64_t now = clock_.unix_seconds();
  auto status = certificates_status(*config_, *inventory_, now, &live_, limit, only);
  nlohmann::json out =
      status ? std::move(*status)
             : nlohmann::json{{"summary", nullptr}, {"certificates", nlohmann::json::array()}};
  out["error"] = status ? "" : status.error().describe();
  out["daemon"] = {
      {"running", true},
      {"version", kVersion},
      {"pid", ::getpid()},
      {"started_at", format_rfc3339(started_at_)},
      {"config", config_->path},
      {"jobs_pending", runner_->pending()},
      {"next_wake", next_wake_ ? nlohmann::json(format_rfc3339(*next_wake_)) : nullptr}};
  return out;
}

// The revocation runs as a job (the CA may take a while); the peer gets its
// answer when it ends, and a configured certificate is re-issued at once.
std::string Service::revoke(const ControlRequest& r, const PendingReply& to) {
  RevokeRequest request{r.args.value("certificate", ""), r.args.value("server", ""),
                        r.args.value("ca_file", ""), r.args.value("reason", "unspecified"),
                        r.args.value("with_certificate_key", false)};
  if (!revocation_reason(request.reason)) {
    return error_response(r.id, "bad_request",
                          "reason " + request.reason + ": use " + std::string(kRevocationReasons));
  }
  const std::uint64_t timeout = r.args.value("timeout_seconds", std::uint64_t{60});
  if (timeout == 0 || timeout > std::uint64_t(kLongestTimeout.count())) {
    return error_response(
        r.id, "bad_request",
        "timeout_seconds must be 1 to " + std::to_string(kLongestTimeout.count()));
  }
  request.timeout = std::chrono::seconds(timeout);
  auto found = find_versions(*inventory_, request.certificate);
  if (!found) {
    return error_response(r.id, to_string(found.error().code), found.error().describe());
  }
  const std::string name = found->front().name;
  if (revoking_.contains(name)) {
    return error_response(r.id, "busy", "a revocation of " + name + " is already running");
  }
  revoking_[name] = {to, r.id};
  ++running_jobs_;
  spdlog::info("{}: revoke ({}), asked over the control socket", name, request.reason);
  runner_->submit([name, request, config = config_, layout = *layout_](store::Inventory& inventory,
                                                                       std::stop_token stop) {
    const LogFields fields{{"CERTIFICATE", name}, {"JOB", "revoke"}};
    JobOutcome out{name, JobKind::revoke, {}, ""};
    auto revoked = revoke_certificate(*config, layout, inventory, request, std::move(stop));
    if (!revoked) {
      out.status = std::unexpected(revoked.error());
      return out;
    }
    out.revoked = revoked_json(*revoked, request.reason);
    out.summary = "revoked " + revoked->sha256.substr(0, 16) + " (" + request.reason + ")";
    return out;
  });
  return {};
}

void Service::answer_revoke(const JobOutcome& done) {
  auto waiting = revoking_.find(done.name);
  if (waiting == revoking_.end()) {
    return;
  }
  if (done.status) {
    spdlog::warn("{}: {}", done.name, done.summary);
    control_->reply(waiting->second.to, ok_response(waiting->second.id, done.revoked));
  } else {
    spdlog::error("{}: revocation failed: {}", done.name, done.status.error().describe());
    control_->reply(waiting->second.to,
                    error_response(waiting->second.id, to_string(done.status.error().code),
                                   done.status.error().describe()));
  }
  revoking_.erase(waiting);
}

std::optional<std::string> Service::handle(const ControlRequest& r, const PendingReply& to) {
  if (r.cmd == "revoke") {
    std::string now = revoke(r, to);
    return now.empty() ? std::nullopt : std::optional(std::move(now));
  }
  if (r.cmd == "status") {  // the arguments' types are checked (control_protocol.h)
    return ok_response(
        r.id, status_result(r.args.value("limit", kDefaultStatusRows), r.args.value("name", "")));
  }
  if (r.cmd == "metrics") {
    return ok_response(r.id, {{"content_type", kMetricsContentType}, {"text", metrics_text()}});
  }
  if (r.cmd == "list") {
    nlohmann::json out = nlohmann::json::array();
    auto listed = inventory_->certificates().for_each({}, [&](const store::CertificateRecord& c) {
      out.push_back(certificate_json(c, clock_.unix_seconds()));
      return true;
    });
    if (!listed) {
      return error_response(r.id, to_string(listed.error().code), listed.error().describe());
    }
    return ok_response(r.id, out);
  }
  if (r.cmd == "renew") {
    const std::string name = r.args.value("name", "");
    if (!configured(name)) {
      return error_response(r.id, "not_found", "no configured certificate named \"" + name + "\"");
    }
    operator_asked_[name] = true;
    forced_[name] = r.args.value("force", false);
    refresh_state(live_[name], *configured(name));
    const bool due = live_[name].state.renewal.due;
    if (!due) {
      operator_asked_.erase(name);  // nothing queued: the backoff stands
      forced_.erase(name);
    }
    schedule();
    return ok_response(r.id, {{"name", name},
                              {"queued", due},
                              {"running", live_[name].running.has_value()},
                              {"reason", live_[name].state.renewal.reason}});
  }
  if (r.cmd == "probe") {
    // The certificate's endpoints probed now, as after a deploy: the result
    // is recorded, and a drift alert raised or recovered.
    const std::string name = r.args.value("name", "");
    const CertificateConfig* cert = configured(name);
    if (!cert) {
      return error_response(r.id, "not_found", "no configured certificate named \"" + name + "\"");
    }
    if (cert->probe.empty()) {
      return error_response(r.id, "bad_request", "certificate " + name + " has no probe endpoints");
    }
    LiveCertificate& live = live_[name];
    live.next_probe = 0;
    refresh_state(live, *cert);
    schedule();
    return ok_response(r.id, {{"name", name},
                              {"queued", live.state.probe_at.has_value()},
                              {"running", live.running.has_value()},
                              {"endpoints", cert->probe}});
  }
  if (r.cmd == "show") {
    const std::string query = r.args.value("certificate", "");
    auto view = show_view(*inventory_, query, clock_.unix_seconds());
    if (!view) {
      return error_response(r.id, to_string(view.error().code), view.error().describe());
    }
    return ok_response(r.id, *view);
  }
  if (r.cmd == "events") {
    std::optional<std::string_view> name;
    if (r.args.contains("name") && r.args["name"].is_string()) {
      name = r.args["name"].get_ref<const std::string&>();
    }
    std::size_t limit = 50;
    if (r.args.contains("limit") && r.args["limit"].is_number_unsigned()) {
      limit = std::clamp<std::size_t>(r.args["limit"].get<std::size_t>(), 1, 10'000);
    }
    auto events = inventory_->events().recent(limit, name);
    if (!events) {
      return error_response(r.id, to_string(events.error().code), events.error().describe());
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *events) {
      out.push_back(event_json(e));
    }
    return ok_response(r.id, out);
  }
  if (r.cmd == "alerts") {
    AlertQuery query;
    query.open_only = r.args.value("open", false);
    if (r.args.contains("name") && r.args["name"].is_string()) {
      query.name = r.args["name"].get<std::string>();
    }
    if (r.args.contains("limit") && r.args["limit"].is_number_unsigned()) {
      query.limit = std::clamp<std::size_t>(r.args["limit"].get<std::size_t>(), 1, 10'000);
    }
    auto view = alerts_view(*inventory_, query);
    if (!view) {
      return error_response(r.id, to_string(view.error().code), view.error().describe());
    }
    return ok_response(r.id, *view);
  }
  if (r.cmd == "reload") {
    reload();
    return ok_response(r.id, {{"certificates", config_->certificates.size()}});
  }
  return error_response(r.id, "internal", "no handler for \"" + r.cmd + "\"");
}

int Service::run() {
  notify("READY=1");
  schedule();
  std::vector<pollfd> fds;
  while (!stopping_) {
    fds.assign({{signal_fd_, POLLIN, 0}, {timer_fd_, POLLIN, 0}, {runner_->wake_fd(), POLLIN, 0}});
    if (watchdog_fd_ >= 0) {
      fds.push_back({watchdog_fd_, POLLIN, 0});
    }
    const std::size_t control_from = fds.size();
    control_->add_poll_fds(fds);
    const std::size_t http_from = fds.size();
    if (http_) {
      http_->add_poll_fds(fds);
    }
    int timeout = -1;  // nothing but the fds wakes the loop
    std::optional<MonoTime> idle = control_->expire_idle();
    if (auto http_idle = http_ ? http_->expire_idle() : std::nullopt) {
      idle = idle ? std::min(*idle, *http_idle) : http_idle;
    }
    if (idle) {
      timeout = static_cast<int>(std::max<long long>(
          0, std::chrono::ceil<std::chrono::milliseconds>(*idle - clock_.monotonic()).count()));
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      spdlog::error("poll: {}", std::strerror(errno));
      return 3;
    }
    if (fds[0].revents) {
      on_signal();
    }
    if (fds[1].revents) {
      std::uint64_t expirations = 0;
      const bool clock_set =
          ::read(timer_fd_, &expirations, sizeof expirations) < 0 && errno == ECANCELED;
      if (clock_set) {
        rebuild_states(false);  // every time planned may be off
        evaluate_alerts_now();
      } else {
        // Only the certificates whose time has come are read again: with
        // 100,000 of them, one is due every few seconds.
        const std::set<std::string> due = due_now(clock_.unix_seconds());
        for (const auto& name : due) {
          if (const CertificateConfig* cert = configured(name)) {
            refresh_state(live_[name], *cert);
          }
        }
        evaluate_alerts_now(&due);
      }
      schedule();
    }
    if (fds[2].revents) {
      on_jobs_done();
    }
    if (watchdog_fd_ >= 0 && fds[3].revents) {
      std::uint64_t expirations = 0;
      static_cast<void>(::read(watchdog_fd_, &expirations, sizeof expirations));
      notify("WATCHDOG=1");
    }
    for (std::size_t i = control_from; i < http_from; ++i) {
      if (fds[i].revents) {
        control_->on_ready(fds[i]);
      }
    }
    for (std::size_t i = http_from; i < fds.size(); ++i) {
      if (fds[i].revents && http_ && http_->owns(fds[i].fd)) {  // a reload may replace it
        http_->on_ready(fds[i]);
      }
    }
  }
  control_.reset();  // no more requests
  http_.reset();
  runner_->request_stop();
  runner_.reset();  // running jobs stop at their next wait; orders stay on record
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int run_service(const ServiceOptions& options, const Clock& clock) {
  // Two malloc arenas, not one per worker thread: a long-running service's
  // memory then returns to its idle size after a burst of jobs.
  ::mallopt(M_ARENA_MAX, 2);
  Service service(options, clock);
  if (const int failed = service.start(); failed != 0) {
    return failed;
  }
  return service.run();
}

}  // namespace ck::daemon

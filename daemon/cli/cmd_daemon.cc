// certkeeper daemon [--config PATH], certkeeper status [--json],
// certkeeper alerts and certkeeper metrics: the service in the foreground,
// and what it (or, without it, the inventory) says.

#include <fmt/core.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/cli/cli.h"
#include "daemon/service/control_client.h"
#include "daemon/service/service.h"
#include "daemon/service/status_view.h"

namespace ck::daemon {
namespace {

struct DaemonOptions {
  std::size_t workers = 8;
  std::size_t orders_per_ca = 4;
};

struct StatusOptions {
  bool json = false;
  bool watch = false;
  double interval_s = 2;
  int timeout_ms = 5000;
  std::size_t limit = kDefaultStatusRows;  // rows; 0: every certificate
};

// Colour for people at a terminal; none when piped, for NO_COLOR
// (no-color.org: set and not empty) or a dumb terminal.
bool use_colour() {
  const char* no_colour = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) == 1 && (no_colour == nullptr || *no_colour == '\0') &&
         (term == nullptr || std::string_view(term) != "dumb");
}

struct AlertsOptions {
  bool json = false;
  bool open = false;
  std::string name;
  std::size_t limit = 50;
  int timeout_ms = 5000;
};

int run_daemon(const CliContext& context, const DaemonOptions& o) {
  ServiceOptions options;
  options.config_path = context.global.config_path;
  options.state_dir = context.global.state_dir;
  options.workers = o.workers;
  options.orders_per_ca = o.orders_per_ca;
  return run_service(options, context.clock());
}

int status_once(const CliContext& context, const StatusOptions& o, bool in_place) {
  // Without a running service: the same rows, from the inventory alone.
  auto alone = [&](const Session& session) -> std::expected<nlohmann::json, CommandFailure> {
    auto status = certificates_status(session.config, *session.inventory,
                                      context.clock().unix_seconds(), nullptr, o.limit);
    if (!status) {
      return std::unexpected(failure_from(status.error()));
    }
    (*status)["daemon"] = {{"running", false}, {"why", "no service answers"}};
    return std::move(*status);
  };
  auto status = ask_or_alone(context, "status", {{"limit", o.limit}}, alone,
                             std::chrono::milliseconds(o.timeout_ms));
  if (!status) {
    return report_failure(status.error());
  }
  const std::int64_t now = context.clock().unix_seconds();
  if (in_place) {
    fmt::print("\x1b[H\x1b[2J");  // home, and clear what the last refresh left
  }
  if (o.json) {
    fmt::print("{}\n", status->dump(2));
  } else {
    const auto& d = (*status)["daemon"];
    fmt::print(
        "{}\n",
        d["running"] == true
            ? fmt::format("daemon: running (pid {}, since {}), next wake-up {}", d["pid"].dump(),
                          d["started_at"].get<std::string>(),
                          d["next_wake"].is_null() ? std::string("none")
                                                   : d["next_wake"].get<std::string>())
            : "daemon: not running (" + d["why"].get<std::string>() + "); from the inventory");
    fmt::print("{}", status_table((*status)["certificates"], now, use_colour()));
    fmt::print("{}", status_summary(status->value("summary", nlohmann::json::object())));
  }
  std::fflush(stdout);
  // Every certificate counts, shown or not.
  const auto states =
      status->value("summary", nlohmann::json::object()).value("states", nlohmann::json::object());
  const bool problem = std::ranges::any_of(states.items(), [](const auto& state) {
    return is_problem_state(state.key()) && state.value() != 0;
  });
  return problem ? kExitProblem : kExitOk;
}

// The exposition the listener serves at /metrics, over the control socket
// (the counters and live state are the service's: no service, no metrics).
int run_metrics(const CliContext& context, int timeout_ms) {
  auto alone = [&](const Session& session) -> std::expected<nlohmann::json, CommandFailure> {
    return std::unexpected(CommandFailure{
        kExitRuntime, "no service answers on " + session.config.daemon.socket +
                          ": metrics come from the running service (certkeeper daemon)"});
  };
  auto metrics = ask_or_alone(context, "metrics", nlohmann::json::object(), alone,
                              std::chrono::milliseconds(timeout_ms));
  if (!metrics) {
    return report_failure(metrics.error());
  }
  fmt::print("{}", metrics->value("text", ""));
  return kExitOk;
}

// Once, or with --watch until interrupted: refreshed in place on a terminal,
// one after another when piped.
int run_status(const CliContext& context, const StatusOptions& o) {
  if (!o.watch) {
    return status_once(context, o, false);
  }
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  while (true) {
    const int code = status_once(context, o, terminal);
    if (code >= kExitUsage) {
      return code;  // the service or inventory cannot be read: no point refreshing
    }
    if (!terminal) {
      fmt::print("\n");
    }
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(o.interval_s));
  }
}

// The service's answer, or the inventory's when no service runs.
int run_alerts(const CliContext& context, const AlertsOptions& o) {
  AlertQuery query{o.open, o.name.empty() ? std::nullopt : std::optional(o.name), o.limit};
  nlohmann::json args{{"open", query.open_only}, {"limit", query.limit}};
  if (query.name) {
    args["name"] = *query.name;
  }
  auto alone = [&](const Session& session) -> std::expected<nlohmann::json, CommandFailure> {
    auto view = alerts_view(*session.inventory, query);
    if (!view) {
      return std::unexpected(failure_from(view.error()));
    }
    return std::move(*view);
  };
  auto alerts =
      ask_or_alone(context, "alerts", args, alone, std::chrono::milliseconds(o.timeout_ms));
  if (!alerts) {
    return report_failure(alerts.error());
  }
  fmt::print("{}", o.json ? alerts->dump(2) + "\n" : alerts_table(*alerts));
  const bool open =
      std::ranges::any_of(*alerts, [](const auto& a) { return a["state"] == "open"; });
  return open ? kExitProblem : kExitOk;
}

}  // namespace

void add_alerts_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<AlertsOptions>();
  CLI::App* cmd = add_command(
      app, "alerts", "The alerts: open ones and their history",
      "Newest first: each alert's certificate, kind, severity and message, when it fired and "
      "was resolved (recovered, or superseded by a tighter threshold), and how its notices "
      "fared on each sink (webhook, command, e-mail). Asks the running service; reads the "
      "inventory when none runs. Exit 1 when an alert shown is open.");
  cmd->add_flag("--open", o->open, "only the alerts open now");
  cmd->add_option("--name", o->name, "only this certificate's");
  cmd->add_option("--limit", o->limit, "at most this many of the history")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000));
  cmd->add_flag("--json", o->json, "print them as JSON");
  cmd->add_option("--timeout-ms", o->timeout_ms, "how long to wait for the service")
      ->capture_default_str();
  cmd->callback([&context, &exit_code, o] { exit_code = run_alerts(context, *o); });
}

void add_metrics_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto timeout_ms = std::make_shared<int>(5000);
  CLI::App* cmd = add_command(
      app, "metrics", "The running service's Prometheus metrics",
      "Prints what the service's optional listener ([metrics] listen) serves at /metrics, in "
      "the Prometheus text format 0.0.4, asked over the control socket: per certificate "
      "notBefore and notAfter, the fraction of its lifetime left, the ARI window, the next "
      "renewal, the last attempt and its result, failures in a row, staples, revocation and "
      "probes; per job kind counters and durations; the daemon's own. Exit 3 when no service "
      "runs.");
  cmd->add_option("--timeout-ms", *timeout_ms, "how long to wait for the service")
      ->capture_default_str();
  cmd->callback(
      [&context, &exit_code, timeout_ms] { exit_code = run_metrics(context, *timeout_ms); });
}

void add_daemon_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<DaemonOptions>();
  CLI::App* cmd = add_command(
      app, "daemon", "Run the service in the foreground (systemd Type=notify)",
      "Keeps every configured certificate: renews each when the renewal policy says (ARI, "
      "renew_before, or 2/3 of its lifetime; 1/6 left at the latest), asks its CA's ARI at least "
      "twice a day, backs off after failures, and answers `certkeeper status` over the control "
      "socket (daemon.socket; or the one systemd passes). SIGHUP reloads the configuration (a "
      "bad one is refused and the running one kept); SIGTERM stops it, an order in flight "
      "resumed at the next start. Each renewal is deployed as its deploy section says. Alerts "
      "([alerts]: expiry thresholds, renewal failures and streaks, revocation, failed deploys) "
      "go to the log and to the webhook, command and e-mail configured, once each, with a "
      "recovery notice. It keeps each certificate's OCSP staples fresh (at half-life) and checks "
      "its revocation by OCSP or CRL, re-issuing a revoked one at once, and probes each "
      "certificate's `probe` endpoints after each deploy and hourly. With [metrics] listen it "
      "serves Prometheus metrics at /metrics and a status page at / (loopback unless "
      "metrics.allow_remote).");
  cmd->add_option("--workers", o->workers, "jobs running at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--orders-per-ca", o->orders_per_ca, "renewals in flight at one CA at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->callback([&context, &exit_code, o] { exit_code = run_daemon(context, *o); });
}

void add_status_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<StatusOptions>();
  CLI::App* cmd = add_command(
      app, "status", "The service's health and every configured certificate",
      "Asks the running service over its control socket; when none runs, reads the inventory "
      "and configuration alone. Per certificate: its state (ok, renewing, failing, drifted, "
      "revoked, expired, pending; in colour on a terminal, none when piped or with NO_COLOR), "
      "names, notAfter and days left, the next renewal, the rule that set it and why, the ARI "
      "window, the last attempt and its error, the staple's age and, from the latest probes, "
      "whether the endpoints serve it. Rows for the 100 most urgent (worst state first, then the "
      "soonest renewal; --limit, --all), in configuration order, and a count of every "
      "certificate by state. Exit 1 when any certificate is missing, expired, revoked or "
      "failing to renew, shown or not.");
  cmd->add_flag("--json", o->json, "print the status as JSON");
  cmd->add_flag("--watch", o->watch,
                "refresh until interrupted (in place on a terminal; one after another when "
                "piped)");
  cmd->add_option("--interval", o->interval_s, "seconds between refreshes with --watch")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--timeout-ms", o->timeout_ms, "how long to wait for the service")
      ->capture_default_str();
  auto* limit = cmd->add_option("--limit", o->limit,
                                "rows for the most urgent certificates (worst state first, then "
                                "the soonest renewal); the summary counts all")
                    ->capture_default_str();
  cmd->add_flag_callback(
         "--all", [o] { o->limit = 0; }, "a row for every certificate")
      ->excludes(limit);
  cmd->callback([&context, &exit_code, o] { exit_code = run_status(context, *o); });
}

}  // namespace ck::daemon

#include "daemon/cli/cli.h"

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/deadline_stop.h"
#include "core/duration.h"
#include "core/version.h"
#include "daemon/lifecycle/inventory_view.h"
#include "daemon/lifecycle/issue.h"
#include "daemon/service/control_client.h"

namespace ck::daemon {

namespace {

// Whether the command line asked for JSON (--json): its failures are JSON too.
bool json_output = false;

}  // namespace

CommandFailure failure_from(const Error& error) {
  const bool usage = error.code == Errc::invalid_argument || error.code == Errc::unsupported;
  return CommandFailure{usage ? kExitUsage : kExitRuntime, error.describe(),
                        std::string(to_string(error.code))};
}

std::expected<std::chrono::seconds, CommandFailure> parse_timeout(const std::string& text,
                                                                  const std::string& flag) {
  auto parsed = parse_duration(text);
  if (!parsed || parsed->count() <= 0 || *parsed > kLongestTimeout) {
    return std::unexpected(CommandFailure{
        kExitUsage,
        flag + ": \"" + text + "\" is not a positive duration of at most 24h (e.g. 15s, 2m)"});
  }
  return *parsed;
}

int report_failure(const CommandFailure& failure) {
  fmt::print(stderr, "certkeeper: error: {}\n", failure.message);
  if (json_output) {
    const std::string code = !failure.code.empty()               ? failure.code
                             : failure.exit_code == kExitUsage   ? "usage"
                             : failure.exit_code == kExitProblem ? "problem"
                                                                 : "runtime";
    fmt::print("{}\n", nlohmann::json{{"ok", false},
                                      {"exit_code", failure.exit_code},
                                      {"error", {{"code", code}, {"message", failure.message}}}}
                           .dump(2));
  }
  return failure.exit_code;
}

std::expected<IssuerConfig, CommandFailure> choose_issuer(const Session& session,
                                                          const std::string& server,
                                                          const std::string& issuer_name,
                                                          const std::string& certificate) {
  const Config& config = session.config;
  auto configured_at = [&](const std::string& directory) {
    for (const auto& [name, issuer] : config.issuers) {
      if (issuer.directory == directory) {
        return issuer;
      }
    }
    IssuerConfig bare;
    bare.directory = directory;
    return bare;
  };
  if (!server.empty()) {
    return configured_at(server);
  }
  std::string known;
  for (const auto& [name, _] : config.issuers) {
    known += (known.empty() ? "" : ", ") + name;
  }
  if (!issuer_name.empty()) {
    if (auto it = config.issuers.find(issuer_name); it != config.issuers.end()) {
      return it->second;
    }
    return std::unexpected(CommandFailure{kExitUsage, "no [issuer." + issuer_name +
                                                          "] in the configuration (defined: " +
                                                          (known.empty() ? "none" : known) + ")"});
  }
  if (!certificate.empty()) {
    if (std::string directory = issuing_directory(*session.inventory, certificate);
        !directory.empty()) {
      return configured_at(directory);
    }
    for (const auto& cert : config.certificates) {
      if (cert.name == certificate && !cert.issuers.empty()) {
        return config.issuers.at(cert.issuers.front());
      }
    }
  }
  if (config.issuers.size() == 1) {
    return config.issuers.begin()->second;
  }
  return std::unexpected(CommandFailure{
      kExitUsage, "which CA? give --server URL or --issuer NAME (configured issuers: " +
                      (known.empty() ? "none" : known) + ")"});
}

nlohmann::json service_row(const std::string& socket, const std::string& name) {
  auto status = ask_service(socket, "status", {{"name", name}}, std::chrono::seconds(10));
  if (status && status->ok) {
    for (const auto& row : status->result.value("certificates", nlohmann::json::array())) {
      if (row.value("name", "") == name) {
        return row;
      }
    }
  }
  return nullptr;
}

CommandFailure ca_failure(const Error& error, const std::string& ca_file) {
  CommandFailure failure = failure_from(error);
  if (error.code == Errc::tls) {
    failure.message += ca_file.empty()
                           ? " (checked against the system's trust store; a private CA needs "
                             "--ca-file FILE, or ca_file in its [issuer])"
                           : " (checked against the CA file " + ca_file + ")";
  }
  return failure;
}

std::expected<Config, CommandFailure> CliContext::load_config() const {
  std::string path = global.config_path;
  if (path.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(kDefaultConfigPath, ec)) {
      return Config{};
    }
    path = kDefaultConfigPath;
  }
  ConfigResult result = daemon::load_config(path);
  if (!result.ok()) {
    std::string message = "invalid configuration (run `certkeeper config check " + path + "`):";
    for (const auto& d : result.diagnostics) {
      message += "\n  " + d.describe();
    }
    return std::unexpected(CommandFailure{kExitUsage, message});
  }
  return result.config;
}

std::expected<Session, CommandFailure> CliContext::open_session() const {
  auto config = load_config();
  if (!config) {
    return std::unexpected(config.error());
  }
  std::string state_dir = global.state_dir.empty() ? config->daemon.state_dir : global.state_dir;
  store::StateLayout layout(state_dir);
  if (auto prepared = layout.prepare(); !prepared) {
    return std::unexpected(
        CommandFailure{kExitRuntime, "state directory: " + prepared.error().describe()});
  }
  auto inventory = store::open_inventory(layout.database().string(), clock_);
  if (!inventory) {
    return std::unexpected(CommandFailure{kExitRuntime, inventory.error().describe()});
  }
  return Session{std::move(*config), std::move(layout), std::move(*inventory)};
}

CommandFailure lookup_failure(const Error& error) {
  return CommandFailure{error.code == Errc::not_found          ? kExitProblem
                        : error.code == Errc::invalid_argument ? kExitUsage
                                                               : kExitRuntime,
                        error.describe()};
}

std::expected<std::vector<store::CertificateRecord>, CommandFailure> find_certificates(
    store::Inventory& inventory, const std::string& query) {
  auto found = find_versions(inventory, query);
  if (!found) {
    return std::unexpected(lookup_failure(found.error()));
  }
  return std::move(*found);
}

std::expected<nlohmann::json, CommandFailure> ask_or_alone(
    const CliContext& context, const std::string& cmd, const nlohmann::json& args,
    const std::function<std::expected<nlohmann::json, CommandFailure>(const Session&)>& alone,
    std::chrono::milliseconds timeout) {
  auto config = context.load_config();
  if (!config) {
    return std::unexpected(config.error());
  }
  auto asked = ask_service(config->daemon.socket, cmd, args, timeout);
  if (!asked) {
    if (asked.error().code != Errc::not_found) {
      return std::unexpected(failure_from(asked.error()));
    }
    auto session = context.open_session();
    if (!session) {
      return std::unexpected(session.error());
    }
    return alone(*session);
  }
  if (!asked->ok) {
    const int exit_code =
        asked->code == "not_found" ? kExitProblem
        : asked->code == "forbidden" || asked->code == "bad_request" || asked->code == "unsupported"
            ? kExitUsage
            : kExitRuntime;
    return std::unexpected(
        CommandFailure{exit_code, "the service says: " + asked->code + ": " + asked->message});
  }
  return std::move(asked->result);
}

namespace {
constexpr const char* kExitCodesHelp =
    "Exit codes: 0 ok, 1 a check found a problem, 2 usage or configuration error, 3 runtime "
    "failure.";
}  // namespace

InterruptGuard::InterruptGuard() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &previous_);
  waiter_ = std::jthread([this, set](std::stop_token done) {
    while (!done.stop_requested()) {
      const timespec slice{0, 100'000'000};
      if (const int s = sigtimedwait(&set, nullptr, &slice); s > 0) {
        signal_ = s;
        source_.request_stop();
        return;
      }
    }
  });
}

InterruptGuard::~InterruptGuard() {
  waiter_.request_stop();
  waiter_.join();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

int report_interrupted(int signal, const std::string& what) {
  fmt::print(stderr,
             "certkeeper: interrupted by {}: {} stopped; its challenges are cleaned up and its "
             "order is on record: run the same command again to resume it\n",
             signal == SIGINT    ? "SIGINT"
             : signal == SIGTERM ? "SIGTERM"
                                 : "a signal",
             what);
  return 128 + signal;
}

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& details) {
  CLI::App* cmd = parent.add_subcommand(name, summary);
  cmd->footer(details.empty() ? std::string(kExitCodesHelp) : details + "\n\n" + kExitCodesHelp);
  return cmd;
}

int run_cli(int argc, char** argv, const Clock& clock) {
  CLI::App app{
      "certkeeper keeps TLS certificates alive: issuance and renewal over ACME, an "
      "inventory of every certificate and key, chain and revocation checks, OCSP "
      "staples and live endpoint probes.",
      "certkeeper"};
  app.set_version_flag("--version", std::string("certkeeper ") + kVersion);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  CliContext context(clock);
  app.add_option(
      "--config", context.global.config_path,
      std::string("configuration file (default ") + kDefaultConfigPath + ", used when it exists)");
  app.add_option("--state-dir", context.global.state_dir,
                 "state directory holding inventory.db, keys/ and certs/ (overrides "
                 "daemon.state_dir)");
  app.footer(std::string(kExitCodesHelp) +
             "\nRun `certkeeper COMMAND --help` for a command's options.");

  int exit_code = kExitOk;
  add_daemon_command(app, context, exit_code);
  add_status_command(app, context, exit_code);
  add_alerts_command(app, context, exit_code);
  add_metrics_command(app, context, exit_code);
  add_import_command(app, context, exit_code);
  add_list_command(app, context, exit_code);
  add_show_command(app, context, exit_code);
  add_events_command(app, context, exit_code);
  add_config_command(app, context, exit_code);
  add_issue_command(app, context, exit_code);
  add_renew_command(app, context, exit_code);
  add_revoke_command(app, context, exit_code);
  add_issuer_command(app, context, exit_code);
  add_account_command(app, context, exit_code);
  add_renewal_info_command(app, context, exit_code);
  add_verify_command(app, context, exit_code);
  add_staple_command(app, context, exit_code);
  add_probe_command(app, context, exit_code);

  json_output = std::any_of(argv + 1, argv + argc,
                            [](const char* arg) { return std::string_view(arg) == "--json"; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (json_output) {
      return report_failure(CommandFailure{kExitUsage, e.what(), "usage"});
    }
    app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}

}  // namespace ck::daemon

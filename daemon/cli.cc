#include "daemon/cli.h"

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <filesystem>

#include "core/version.h"

namespace ck::daemon {

int report_failure(const CommandFailure& failure) {
  fmt::print(stderr, "certkeeper: error: {}\n", failure.message);
  return failure.exit_code;
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

namespace {
constexpr const char* kExitCodesHelp =
    "Exit codes: 0 ok, 1 a check found a problem, 2 usage or configuration error, 3 runtime "
    "failure.";
}  // namespace

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
  add_import_command(app, context, exit_code);
  add_list_command(app, context, exit_code);
  add_show_command(app, context, exit_code);
  add_config_command(app, context, exit_code);
  add_issue_command(app, context, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}

}  // namespace ck::daemon

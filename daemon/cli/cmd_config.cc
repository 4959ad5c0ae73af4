// certkeeper config check [PATH] [--json]

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "daemon/cli/cli.h"

namespace ck::daemon {
namespace {

struct CheckOptions {
  std::string path;
  bool json = false;
};

int run_check(const CliContext& context, const CheckOptions& options) {
  std::string path = options.path;
  if (path.empty()) {
    path = context.global.config_path.empty() ? kDefaultConfigPath : context.global.config_path;
  }
  ConfigResult result = load_config(path);
  // What it names on this machine that is not there, once the file itself is valid.
  const std::vector<std::string> missing =
      result.ok() ? environment_problems(result.config) : std::vector<std::string>{};
  const bool ok = result.ok() && missing.empty();
  if (options.json) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& d : result.diagnostics) {
      errors.push_back({{"file", d.file},
                        {"line", d.line},
                        {"column", d.column},
                        {"key", d.key},
                        {"message", d.message}});
    }
    nlohmann::json out{{"ok", ok}, {"file", path}, {"errors", errors}, {"environment", missing}};
    if (result.ok()) {
      out["issuers"] = result.config.issuers.size();
      out["certificates"] = result.config.certificates.size();
      out["not_built"] = not_yet_built(result.config);
    }
    fmt::print("{}\n", out.dump(2));
  } else if (ok) {
    fmt::print("{}: OK ({} issuer(s), {} certificate(s))\n", path, result.config.issuers.size(),
               result.config.certificates.size());
    for (const auto& line : not_yet_built(result.config)) {
      fmt::print(stderr, "warning: {}\n", line);
    }
  } else {
    for (const auto& d : result.diagnostics) {
      fmt::print(stderr, "{}\n", d.describe());
    }
    for (const auto& m : missing) {
      fmt::print(stderr, "{}: {}\n", path, m);
    }
    fmt::print(stderr, "{}: {} error(s)\n", path, result.diagnostics.size() + missing.size());
  }
  return ok ? kExitOk : kExitUsage;
}

}  // namespace

void add_config_command(CLI::App& app, CliContext& context, int& exit_code) {
  CLI::App* config = add_command(app, "config", "Work with the configuration file", "");
  config->require_subcommand(1);
  auto options = std::make_shared<CheckOptions>();
  CLI::App* check = add_command(
      *config, "check", "Validate a configuration file",
      "Checks syntax, unknown keys, types, durations, names, issuer references and duplicate "
      "certificate names, and prints every error with its file, line, column and key. Exit 2 "
      "on any error, and on what it names on this machine that is not there (a deploy folder, "
      "the reload program, the owner or group, the alert command, sendmail). Every key it "
      "accepts is acted on (one accepted before its behaviour is built would get a warning "
      "saying so).");
  check->add_option("path", options->path, "the file (default: --config, else the default path)");
  check->add_flag("--json", options->json, "print {ok, file, errors[]} as JSON");
  check->callback([&context, &exit_code, options] { exit_code = run_check(context, *options); });
}

}  // namespace ck::daemon

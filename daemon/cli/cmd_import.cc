// certkeeper import PATH... [--json] [--verbose]

#include <fmt/core.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "daemon/cli/cli.h"
#include "daemon/lifecycle/importer.h"

namespace ck::daemon {
namespace {

struct ImportOptions {
  std::vector<std::string> paths;
  bool json = false;
  bool verbose = false;
};

std::string_view outcome_name(UnitOutcome outcome) {
  switch (outcome) {
    case UnitOutcome::imported: return "imported";
    case UnitOutcome::failed: return "failed";
    case UnitOutcome::key_matched: return "key_matched";
    case UnitOutcome::key_unmatched: return "key_unmatched";
    default: return "failed";
  }
}

nlohmann::json report_json(const ImportReport& report) {
  nlohmann::json units = nlohmann::json::array();
  for (const auto& unit : report.units) {
    nlohmann::json certs = nlohmann::json::array();
    for (const auto& c : unit.certificates) {
      certs.push_back(
          {{"name", c.name}, {"sha256", c.sha256}, {"new", c.inserted}, {"key_path", c.key_path}});
    }
    nlohmann::json entry{
        {"path", unit.path}, {"outcome", outcome_name(unit.outcome)}, {"certificates", certs}};
    if (!unit.error.empty()) {
      entry["error"] = unit.error;
    }
    if (!unit.matched_certificate.empty()) {
      entry["matched_certificate"] = unit.matched_certificate;
    }
    units.push_back(std::move(entry));
  }
  return {{"ok", report.failed == 0},          {"new", report.inserted},
          {"updated", report.updated},         {"failed", report.failed},
          {"keys_linked", report.keys_linked}, {"files", units}};
}

void print_text(const ImportReport& report, bool verbose) {
  for (const auto& unit : report.units) {
    if (unit.outcome == UnitOutcome::failed) {
      fmt::print(stderr, "failed    {}\n", unit.error);
      continue;
    }
    if (!verbose) {
      continue;
    }
    for (const auto& c : unit.certificates) {
      fmt::print("{:<9} {} ({}{})\n", c.inserted ? "new" : "updated", c.name,
                 c.sha256.substr(0, 16), c.key_path.empty() ? ", no key" : ", key " + c.key_path);
    }
    if (unit.outcome == UnitOutcome::key_matched) {
      fmt::print("key       {} (matches {})\n", unit.path, unit.matched_certificate);
    } else if (unit.outcome == UnitOutcome::key_unmatched) {
      fmt::print("key       {} (matches no certificate; not recorded)\n", unit.path);
    }
  }
  fmt::print("{} new, {} updated, {} failed", report.inserted, report.updated, report.failed);
  if (report.keys_linked > 0) {
    fmt::print(", {} matched to separate key files", report.keys_linked);
  }
  fmt::print("\n");
}

int run_import(const CliContext& context, const ImportOptions& options) {
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  Importer importer(*session->inventory, context.clock());
  const bool progress = ::isatty(STDERR_FILENO) == 1;
  if (progress) {
    importer.on_progress([](std::size_t done, std::size_t total) {
      fmt::print(stderr, "\rimported {}/{} files", done, total);
    });
  }
  std::vector<std::filesystem::path> paths(options.paths.begin(), options.paths.end());
  auto report = importer.run(paths);
  if (progress && report && !report->units.empty()) {
    fmt::print(stderr, "\n");
  }
  if (!report) {
    return report_failure(CommandFailure{kExitRuntime, report.error().describe()});
  }
  if (options.json) {
    fmt::print("{}\n", report_json(*report).dump(2));
  } else {
    print_text(*report, options.verbose);
  }
  return report->failed > 0 ? kExitProblem : kExitOk;
}

}  // namespace

void add_import_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto options = std::make_shared<ImportOptions>();
  CLI::App* cmd = add_command(
      app, "import", "Add existing certificates to the inventory",
      "Reads PEM or DER files, bundles with or without keys, directories (scanned recursively "
      "for *.pem *.crt *.cer *.cert *.key *.der) and certbot live/NAME/ folders. Private keys "
      "are referenced by path, never copied, and must match their certificate; key files on "
      "their own are matched by public key. Re-importing updates, never duplicates. A file that "
      "fails adds nothing and the others still import; exit 1 if any failed.");
  cmd->add_option("paths", options->paths, "files or directories to import")->required();
  cmd->add_flag("--json", options->json, "print a JSON summary with every file's outcome");
  cmd->add_flag("-v,--verbose", options->verbose, "list every certificate imported");
  cmd->callback([&context, &exit_code, options] { exit_code = run_import(context, *options); });
}

}  // namespace ck::daemon

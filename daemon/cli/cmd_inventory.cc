// certkeeper list [--expiring DURATION] [--all] [--at UNIX] [--json]
// certkeeper show NAME|FINGERPRINT [--at UNIX] [--json]

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>

#include "core/duration.h"
#include "daemon/cli/cli.h"
#include "daemon/lifecycle/inventory_view.h"

namespace ck::daemon {
namespace {

struct ListOptions {
  std::string expiring;
  bool all = false;
  std::optional<std::int64_t> at;
  bool json = false;
};

struct ShowOptions {
  std::string query;
  std::optional<std::int64_t> at;
  bool json = false;
};

void write_out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

int run_list(const CliContext& context, const ListOptions& options) {
  const std::int64_t now = options.at.value_or(context.clock().unix_seconds());
  store::CertificateFilter filter;
  filter.include_inactive = options.all;
  if (!options.expiring.empty()) {
    auto window = parse_duration(options.expiring);
    if (!window) {
      return report_failure(CommandFailure{kExitUsage, "--expiring: " + window.error().message});
    }
    filter.not_after_before = now + window->count();
  }
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  std::size_t count = 0;
  // Streamed row by row: memory stays flat however large the inventory.
  write_out(options.json ? "[" : list_header());
  auto status = session->inventory->certificates().for_each(filter, [&](const auto& record) {
    if (options.json) {
      write_out(count == 0 ? "\n  " : ",\n  ");
      write_out(certificate_json(record, now).dump());
    } else {
      write_out(list_row(record, now));
    }
    ++count;
    return true;
  });
  if (options.json) {
    write_out(count == 0 ? "]\n" : "\n]\n");
  }
  if (!status) {
    return report_failure(CommandFailure{kExitRuntime, status.error().describe()});
  }
  // --expiring is a check: finding anything is the problem it reports.
  return filter.not_after_before && count > 0 ? kExitProblem : kExitOk;
}

std::size_t chain_length(const std::string& chain_pem) {
  std::size_t n = 0;
  for (std::size_t pos = 0;
       (pos = chain_pem.find("-----BEGIN CERTIFICATE-----", pos)) != std::string::npos; ++pos) {
    ++n;
  }
  return n;
}

void print_show_text(const std::vector<store::CertificateRecord>& found,
                     const std::vector<store::EventRecord>& events, std::int64_t now) {
  const auto& r = found.front();
  auto line = [](std::string_view label, const std::string& value) {
    fmt::print("{:<13}{}\n", std::string(label) + ":", value);
  };
  std::string names;
  for (const auto& san : r.sans) {
    names += (names.empty() ? "" : ", ") + san;
  }
  line("name", r.name);
  line("status", effective_status(r, now));
  line("names", names.empty() ? "-" : names);
  line("subject", r.subject);
  line("issuer", r.issuer);
  line("serial", r.serial);
  line("not before", format_rfc3339(r.not_before));
  line("not after",
       fmt::format("{} ({} days left)", format_rfc3339(r.not_after), days_left(r.not_after, now)));
  line("key", r.key_type + (r.key_path.empty() ? "  (no private key known)" : "  " + r.key_path));
  line("sha256", r.sha256);
  line("public key", "sha256 " + r.public_key_sha256);
  line("ski", r.subject_key_id.empty() ? "-" : r.subject_key_id);
  line("aki", r.authority_key_id.empty() ? "-" : r.authority_key_id);
  line("chain", fmt::format("{} certificate(s)", chain_length(r.chain_pem)));
  line("source", r.source + (r.source_path.empty() ? "" : "  " + r.source_path));
  if (found.size() > 1) {
    fmt::print("other versions:\n");
    for (std::size_t i = 1; i < found.size(); ++i) {
      fmt::print("  {}  {}  {}\n", found[i].sha256.substr(0, 16),
                 format_rfc3339(found[i].not_after), effective_status(found[i], now));
    }
  }
  if (!events.empty()) {
    fmt::print("events:\n");
    for (const auto& e : events) {
      fmt::print("  {}  {:<10} {}\n", format_rfc3339(e.at), e.kind, e.message);
    }
  }
}

int run_show(const CliContext& context, const ShowOptions& options) {
  const std::int64_t now = options.at.value_or(context.clock().unix_seconds());
  auto session = context.open_session();
  if (!session) {
    return report_failure(session.error());
  }
  auto found = find_certificates(*session->inventory, options.query);
  if (!found) {
    return report_failure(found.error());
  }
  auto events = session->inventory->events().recent(10, found->front().name);
  if (!events) {
    return report_failure(CommandFailure{kExitRuntime, events.error().describe()});
  }
  if (!options.json) {
    print_show_text(*found, *events, now);
    return kExitOk;
  }
  const auto& r = found->front();
  nlohmann::json out = certificate_json(r, now);
  out["chain_length"] = chain_length(r.chain_pem);
  out["versions"] = nlohmann::json::array();
  for (std::size_t i = 1; i < found->size(); ++i) {
    out["versions"].push_back(certificate_json((*found)[i], now));
  }
  out["events"] = nlohmann::json::array();
  for (const auto& e : *events) {
    out["events"].push_back(
        {{"at", format_rfc3339(e.at)}, {"kind", e.kind}, {"message", e.message}});
  }
  fmt::print("{}\n", out.dump(2));
  return kExitOk;
}

}  // namespace

void add_list_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto options = std::make_shared<ListOptions>();
  CLI::App* cmd = add_command(
      app, "list", "List the inventory's certificates, soonest to expire first",
      "Shows the current certificate of every name. With --expiring, only those expiring "
      "within the window (expired ones included), and exit 1 when any does: ready for cron "
      "and monitoring.");
  cmd->add_option("--expiring", options->expiring,
                  "only certificates expiring within DURATION (s, m, h, d, w; e.g. 30d); "
                  "already expired ones included");
  cmd->add_flag("--all", options->all, "include superseded and revoked versions");
  cmd->add_option("--at", options->at, "evaluate at this Unix time instead of now");
  cmd->add_flag("--json", options->json, "print a JSON array");
  cmd->callback([&context, &exit_code, options] { exit_code = run_list(context, *options); });
}

void add_show_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto options = std::make_shared<ShowOptions>();
  CLI::App* cmd = add_command(
      app, "show", "Show one certificate, its other versions and its events",
      "Finds the certificate by name (its current version), or by SHA-256 fingerprint or a "
      "prefix of at least 8 hex digits (colons allowed). Exit 1 when nothing matches.");
  cmd->add_option("certificate", options->query, "NAME or FINGERPRINT")->required();
  cmd->add_option("--at", options->at, "evaluate at this Unix time instead of now");
  cmd->add_flag("--json", options->json, "print a JSON object");
  cmd->callback([&context, &exit_code, options] { exit_code = run_show(context, *options); });
}

}  // namespace ck::daemon

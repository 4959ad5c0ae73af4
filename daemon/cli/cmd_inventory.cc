// certkeeper list [--expiring DURATION] [--all] [--at UNIX] [--json]
// certkeeper show NAME|FINGERPRINT [--at UNIX] [--json]
// certkeeper events [--name NAME] [--limit N] [--json]

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

// The text of `show`, from its JSON (the service's or the inventory's).
void print_show_text(const nlohmann::json& r) {
  auto text = [&](const char* key) { return r.value(key, std::string()); };
  auto line = [](std::string_view label, const std::string& value) {
    fmt::print("{:<13}{}\n", std::string(label) + ":", value);
  };
  std::string names;
  for (const auto& san : r["sans"]) {
    names += (names.empty() ? "" : ", ") + san.get<std::string>();
  }
  line("name", text("name"));
  line("status", text("status"));
  line("names", names.empty() ? "-" : names);
  line("subject", text("subject"));
  line("issuer", text("issuer"));
  line("serial", text("serial"));
  line("not before", text("not_before"));
  line("not after", fmt::format("{} ({} days left)", text("not_after"), r["days_left"].dump()));
  line("key", text("key_type") + (text("key_path").empty() ? "  (no private key known)"
                                                           : "  " + text("key_path")));
  line("sha256", text("sha256"));
  line("public key", "sha256 " + text("public_key_sha256"));
  line("ski", text("subject_key_id").empty() ? "-" : text("subject_key_id"));
  line("aki", text("authority_key_id").empty() ? "-" : text("authority_key_id"));
  line("chain", fmt::format("{} certificate(s)", r["chain_length"].dump()));
  line("source", text("source") + (text("source_path").empty() ? "" : "  " + text("source_path")));
  if (!r["versions"].empty()) {
    fmt::print("other versions:\n");
    for (const auto& v : r["versions"]) {
      fmt::print("  {}  {}  {}\n", v["sha256"].get<std::string>().substr(0, 16),
                 v["not_after"].get<std::string>(), v["status"].get<std::string>());
    }
  }
  if (!r["events"].empty()) {
    fmt::print("events:\n");
    for (const auto& e : r["events"]) {
      fmt::print("  {}  {:<10} {}\n", e["at"].get<std::string>(), e["kind"].get<std::string>(),
                 e["message"].get<std::string>());
    }
  }
}

// The running service's answer (it reads an inventory the caller may not),
// else the inventory's; --at always reads the inventory here.
int run_show(const CliContext& context, const ShowOptions& options) {
  const std::int64_t now = options.at.value_or(context.clock().unix_seconds());
  auto alone = [&](const Session& session) -> std::expected<nlohmann::json, CommandFailure> {
    auto view = show_view(*session.inventory, options.query, now);
    if (!view) {
      return std::unexpected(lookup_failure(view.error()));
    }
    return std::move(*view);
  };
  std::expected<nlohmann::json, CommandFailure> shown;
  if (options.at) {
    auto session = context.open_session();
    shown = session ? alone(*session) : std::unexpected(session.error());
  } else {
    shown = ask_or_alone(context, "show", {{"certificate", options.query}}, alone);
  }
  if (!shown) {
    return report_failure(shown.error());
  }
  if (options.json) {
    fmt::print("{}\n", shown->dump(2));
  } else {
    print_show_text(*shown);
  }
  return kExitOk;
}

struct EventsOptions {
  std::string name;
  std::size_t limit = 50;
  bool json = false;
};

int run_events(const CliContext& context, const EventsOptions& options) {
  nlohmann::json args{{"limit", options.limit}};
  if (!options.name.empty()) {
    args["name"] = options.name;
  }
  auto alone = [&](const Session& session) -> std::expected<nlohmann::json, CommandFailure> {
    auto events = session.inventory->events().recent(
        options.limit,
        options.name.empty() ? std::nullopt : std::optional<std::string_view>(options.name));
    if (!events) {
      return std::unexpected(failure_from(events.error()));
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *events) {
      out.push_back(event_json(e));
    }
    return out;
  };
  auto events = ask_or_alone(context, "events", args, alone);
  if (!events) {
    return report_failure(events.error());
  }
  if (options.json) {
    fmt::print("{}\n", events->dump(2));
    return kExitOk;
  }
  for (const auto& e : *events) {
    fmt::print(
        "{}  {:<20} {:<18} {}\n", e["at"].get<std::string>(),
        e["certificate"].get<std::string>().empty() ? "-" : e["certificate"].get<std::string>(),
        e["kind"].get<std::string>(), e["message"].get<std::string>());
  }
  return kExitOk;
}

}  // namespace

void add_list_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto options = std::make_shared<ListOptions>();
  CLI::App* cmd = add_command(
      app, "list", "List the inventory's certificates, soonest to expire first",
      "Shows the current certificate of every name, and every revoked one (it may still be "
      "deployed). With --expiring, only those expiring within the window (expired ones "
      "included) and the revoked ones, and exit 1 when any is shown: ready for cron and "
      "monitoring.");
  cmd->add_option("--expiring", options->expiring,
                  "only certificates expiring within DURATION (s, m, h, d, w; e.g. 30d); "
                  "already expired ones included");
  cmd->add_flag("--all", options->all, "include superseded versions too");
  cmd->add_option("--at", options->at, "evaluate at this Unix time instead of now");
  cmd->add_flag("--json", options->json, "print a JSON array");
  cmd->callback([&context, &exit_code, options] { exit_code = run_list(context, *options); });
}

void add_events_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto options = std::make_shared<EventsOptions>();
  CLI::App* cmd = add_command(
      app, "events", "The event log, newest first",
      "What happened to every certificate and account (imported, issued, revoked, renewal "
      "failures, deploys, account registrations), newest first; from the running service, or "
      "the inventory when none runs. The log is append-only.");
  cmd->add_option("--name", options->name, "only this certificate's");
  cmd->add_option("--limit", options->limit, "at most this many")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000));
  cmd->add_flag("--json", options->json, "print a JSON array");
  cmd->callback([&context, &exit_code, options] { exit_code = run_events(context, *options); });
}

void add_show_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto options = std::make_shared<ShowOptions>();
  CLI::App* cmd = add_command(
      app, "show", "Show one certificate, its other versions and its events",
      "Finds the certificate by name (its current version), or by SHA-256 fingerprint or a "
      "prefix of at least 8 hex digits (colons allowed). Asks the running service, else reads "
      "the inventory. Exit 1 when nothing matches.");
  cmd->add_option("certificate", options->query, "NAME or FINGERPRINT")->required();
  cmd->add_option("--at", options->at, "evaluate at this Unix time instead of now");
  cmd->add_flag("--json", options->json, "print a JSON object");
  cmd->callback([&context, &exit_code, options] { exit_code = run_show(context, *options); });
}

}  // namespace ck::daemon

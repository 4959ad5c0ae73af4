#pragma once
// The `certkeeper` command line. Exit codes for every subcommand (DESIGN.md):
// 0 ok; 1 the check found a problem; 2 usage or configuration error; 3 runtime
// failure (network, CA, I/O, database).

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>

#include "core/clock.h"
#include "daemon/lifecycle/config.h"
#include "store/inventory.h"
#include "store/layout.h"

namespace CLI {
class App;
}

namespace ck::daemon {

enum ExitCode : int { kExitOk = 0, kExitProblem = 1, kExitUsage = 2, kExitRuntime = 3 };

// Options every subcommand accepts.
struct GlobalOptions {
  std::string config_path;  // --config; "" = the default path if it exists
  std::string state_dir;    // --state-dir; overrides daemon.state_dir
};

// A failure that ends a command: its message and exit code, and for scripts
// a stable code (an engine error's Errc name; else "usage", "problem" or
// "runtime" after the exit code).
struct CommandFailure {
  int exit_code;
  std::string message;
  std::string code;
};

// What commands that use the inventory need, set up from the global options.
struct Session {
  Config config;
  store::StateLayout layout;
  std::unique_ptr<store::Inventory> inventory;
};

// Shared by every subcommand.
class CliContext {
 public:
  explicit CliContext(const Clock& clock) : clock_(clock) {}
  GlobalOptions global;
  const Clock& clock() const { return clock_; }

  // Loads the configuration: --config, else the default file when present,
  // else built-in defaults. Diagnostics make it a usage failure.
  [[nodiscard]] std::expected<Config, CommandFailure> load_config() const;
  // Config, state directory and inventory, ready to use.
  [[nodiscard]] std::expected<Session, CommandFailure> open_session() const;

 private:
  const Clock& clock_;
};

// Finds a certificate by name (its versions, newest first) or by SHA-256
// fingerprint or a prefix of 8+ hex digits (the match first, then the other
// versions of its name). Nothing found: exit 1; an ambiguous prefix: exit 2.
[[nodiscard]] std::expected<std::vector<store::CertificateRecord>, CommandFailure>
find_certificates(store::Inventory& inventory, const std::string& query);

// The failure for a certificate lookup's error: nothing found exits 1, an
// ambiguous fingerprint prefix 2, anything else 3.
[[nodiscard]] CommandFailure lookup_failure(const Error& error);

// The running service's answer to `cmd` (DESIGN.md's control socket), or,
// when none listens on daemon.socket, `alone`'s from the inventory: the same
// JSON either way. The service's error answers keep their meaning: not_found
// exits 1; forbidden, bad_request and unsupported 2; others 3.
[[nodiscard]] std::expected<nlohmann::json, CommandFailure> ask_or_alone(
    const CliContext& context, const std::string& cmd, const nlohmann::json& args,
    const std::function<std::expected<nlohmann::json, CommandFailure>(const Session&)>& alone,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The failure for an engine error: 2 when the request itself was wrong
// (invalid_argument, unsupported), else 3.
[[nodiscard]] CommandFailure failure_from(const Error& error);

// Prints "certkeeper: error: ..." to stderr and returns the exit code. When
// the command was given --json it also prints, on stdout, one JSON object:
// {"ok": false, "exit_code", "error": {"code", "message"}}.
int report_failure(const CommandFailure& failure);

// A command's `flag` ("--timeout") as a positive duration ("15s", "2m") up to
// kLongestTimeout; a usage error naming the flag otherwise.
[[nodiscard]] std::expected<std::chrono::seconds, CommandFailure> parse_timeout(
    const std::string& text, const std::string& flag);

// The CA a command talks to: --server URL (with its configured [issuer]'s
// settings when one has that directory), else --issuer NAME of the
// configuration, else the CA that issued `certificate` (the inventory's record,
// or its [[certificate]]'s first issuer), else the configuration's only
// issuer. Usage error (exit 2) when none of them says.
[[nodiscard]] std::expected<IssuerConfig, CommandFailure> choose_issuer(
    const Session& session, const std::string& server, const std::string& issuer_name,
    const std::string& certificate);

// The running service's status row for the certificate `name`; null when no
// service answers on `socket` or it has no such row.
[[nodiscard]] nlohmann::json service_row(const std::string& socket, const std::string& name);

// An engine error talking to a CA, for people: a TLS failure says which CA
// file it was checked against, and that a private CA needs one.
[[nodiscard]] CommandFailure ca_failure(const Error& error, const std::string& ca_file);

// SIGINT and SIGTERM while a command runs a job: instead of killing the
// process they stop the job through its stop token, so that its challenges
// are cleaned up and its order stays on record to resume. Construct it before
// the job starts any thread (they inherit the blocked signals); the previous
// signal mask is restored when it goes.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  [[nodiscard]] std::stop_token token() const { return source_.get_token(); }
  [[nodiscard]] int signal() const { return signal_; }  // 0 while none arrived

 private:
  std::stop_source source_;
  std::atomic<int> signal_{0};
  sigset_t previous_{};
  std::jthread waiter_;
};

// Says what an interrupted job left and how to go on; returns 128 + signal.
int report_interrupted(int signal, const std::string& what);

// Adds a subcommand whose --help shows `summary`, then `details` and the exit codes.
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& details);

// Each subcommand registers itself; `exit_code` receives its result.
void add_import_command(CLI::App& app, CliContext& context, int& exit_code);
void add_list_command(CLI::App& app, CliContext& context, int& exit_code);
void add_show_command(CLI::App& app, CliContext& context, int& exit_code);
void add_events_command(CLI::App& app, CliContext& context, int& exit_code);
void add_config_command(CLI::App& app, CliContext& context, int& exit_code);
void add_issue_command(CLI::App& app, CliContext& context, int& exit_code);
void add_renew_command(CLI::App& app, CliContext& context, int& exit_code);
void add_revoke_command(CLI::App& app, CliContext& context, int& exit_code);
void add_issuer_command(CLI::App& app, CliContext& context, int& exit_code);
void add_account_command(CLI::App& app, CliContext& context, int& exit_code);
void add_renewal_info_command(CLI::App& app, CliContext& context, int& exit_code);
void add_verify_command(CLI::App& app, CliContext& context, int& exit_code);
void add_staple_command(CLI::App& app, CliContext& context, int& exit_code);
void add_probe_command(CLI::App& app, CliContext& context, int& exit_code);
void add_daemon_command(CLI::App& app, CliContext& context, int& exit_code);
void add_status_command(CLI::App& app, CliContext& context, int& exit_code);
void add_alerts_command(CLI::App& app, CliContext& context, int& exit_code);
void add_metrics_command(CLI::App& app, CliContext& context, int& exit_code);

// Runs the command line; returns the process exit code.
int run_cli(int argc, char** argv, const Clock& clock);

}  // namespace ck::daemon

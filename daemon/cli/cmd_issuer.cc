// certkeeper issuer info --server URL [--ca-file FILE] [--timeout DURATION] [--json]

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "acme/client.h"
#include "core/deadline_stop.h"
#include "daemon/cli/cli.h"

namespace ck::daemon {
namespace {

struct InfoOptions {
  std::string server;
  std::string ca_file;
  std::string timeout = "60s";
  bool json = false;
};

Result<acme::Directory> read_directory(const InfoOptions& o, std::chrono::seconds timeout) {
  HttpOptions http;
  http.ca_file = o.ca_file;
  CK_TRY(client, acme::AcmeClient::create_reader(o.server, http));  // no account needed
  return within({}, timeout, "the CA", o.server, [&](std::stop_token stop) {
    client.set_stop_token(std::move(stop));
    return client.directory();
  });
}

int run_info(const InfoOptions& o) {
  auto timeout = parse_timeout(o.timeout, "--timeout");
  if (!timeout) {
    return report_failure(timeout.error());
  }
  auto dir = read_directory(o, *timeout);
  if (!dir) {
    return report_failure(ca_failure(dir.error(), o.ca_file));
  }
  if (o.json) {
    fmt::print("{}\n", nlohmann::json{{"directory", o.server},
                                      {"terms_of_service", dir->terms_of_service},
                                      {"external_account_required", dir->external_account_required},
                                      {"profiles", dir->profiles},
                                      {"renewal_info", dir->renewal_info},
                                      {"new_order", dir->new_order},
                                      {"revoke_cert", dir->revoke_cert},
                                      {"key_change", dir->key_change}}
                           .dump(2));
    return kExitOk;
  }
  fmt::print("directory:          {}\n", o.server);
  fmt::print("terms of service:   {}\n",
             dir->terms_of_service.empty() ? "-" : dir->terms_of_service);
  fmt::print("external account:   {}\n",
             dir->external_account_required ? "required (EAB)" : "not required");
  fmt::print("renewal info (ARI): {}\n",
             dir->renewal_info.empty() ? "not offered" : dir->renewal_info);
  if (dir->profiles.empty()) {
    fmt::print("profiles:           none listed\n");
  } else {
    fmt::print("profiles:\n");
    for (const auto& [name, description] : dir->profiles) {
      fmt::print("  {:<16} {}\n", name, description);
    }
  }
  return kExitOk;
}

}  // namespace

void add_issuer_command(CLI::App& app, CliContext&, int& exit_code) {
  CLI::App* issuer = add_command(app, "issuer", "Look at an ACME CA", "");
  issuer->require_subcommand(1);
  auto o = std::make_shared<InfoOptions>();
  CLI::App* info =
      add_command(*issuer, "info", "Show what a CA's directory offers",
                  "Reads the ACME directory: terms of service, whether External Account Binding is "
                  "required, the profiles it offers (meta.profiles) and whether it offers renewal "
                  "information (ARI, RFC 9773).");
  info->add_option("--server", o->server, "ACME directory URL")->required();
  info->add_option("--ca-file", o->ca_file, "PEM file of CAs to trust for the ACME server's TLS");
  info->add_option("--timeout", o->timeout, "bound on the CA's answer, retries included, e.g. 30s")
      ->capture_default_str();
  info->add_flag("--json", o->json, "print the directory summary as JSON");
  info->callback([&exit_code, o] { exit_code = run_info(*o); });
}

}  // namespace ck::daemon

// certkeeper revoke NAME|FINGERPRINT [--server URL] [--reason REASON] [--with-certificate-key]
//                   [--timeout DURATION] [--json]

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "daemon/cli/cli.h"
#include "daemon/lifecycle/revoke.h"

namespace ck::daemon {
namespace {

struct RevokeOptions {
  RevokeRequest request;
  std::string timeout = "60s";
  bool json = false;
};

// How much longer than the CA's bound the service may take to answer.
constexpr auto kServiceMargin = std::chrono::seconds(15);

int print_revoked(const RevokeOptions& o, const nlohmann::json& revoked) {
  if (o.json) {
    fmt::print("{}\n", revoked.dump(2));
  } else {
    fmt::print("revoked {} ({}, serial {}): {}\n", revoked.value("name", ""),
               revoked.value("sha256", "").substr(0, 16), revoked.value("serial", ""),
               revoked.value("reason", ""));
  }
  return kExitOk;
}

int run_revoke(const CliContext& context, const RevokeOptions& given) {
  RevokeOptions o = given;
  if (!revocation_reason(o.request.reason)) {
    return report_failure(CommandFailure{
        kExitUsage, "--reason " + o.request.reason + ": use " + std::string(kRevocationReasons)});
  }
  auto timeout = parse_timeout(o.timeout, "--timeout");
  if (!timeout) {
    return report_failure(timeout.error());
  }
  o.request.timeout = *timeout;
  // The running service revokes (and then re-issues a configured
  // certificate at once); without one, this process does.
  auto alone = [&](const Session& session) -> std::expected<nlohmann::json, CommandFailure> {
    auto revoked =
        revoke_certificate(session.config, session.layout, *session.inventory, o.request);
    if (!revoked) {
      return std::unexpected(lookup_failure(revoked.error()));
    }
    return revoked_json(*revoked, o.request.reason);
  };
  const nlohmann::json args{{"certificate", o.request.certificate},
                            {"server", o.request.server},
                            {"ca_file", o.request.ca_file},
                            {"reason", o.request.reason},
                            {"with_certificate_key", o.request.with_certificate_key},
                            {"timeout_seconds", o.request.timeout.count()}};
  auto revoked = ask_or_alone(context, "revoke", args, alone, *timeout + kServiceMargin);
  if (!revoked) {
    return report_failure(revoked.error());
  }
  return print_revoked(o, *revoked);
}

}  // namespace

void add_revoke_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<RevokeOptions>();
  CLI::App* cmd = add_command(
      app, "revoke", "Revoke a certificate at its ACME CA",
      "Revokes the current certificate of NAME (or the one with that fingerprint) at the CA "
      "that issued it, as the inventory recorded (or the one --server names), signed by this "
      "inventory's account there, or with --with-certificate-key by the certificate's own key "
      "(for a certificate whose account is lost). The inventory marks it revoked. While the "
      "service runs, it revokes (only root or its user may ask) and re-issues a configured "
      "certificate at once.");
  cmd->add_option("certificate", o->request.certificate, "NAME or FINGERPRINT")->required();
  cmd->add_option("--server", o->request.server,
                  "ACME directory URL of the issuing CA (default: the one that issued it)");
  cmd->add_option("--ca-file", o->request.ca_file,
                  "PEM file of CAs to trust for the ACME server's TLS");
  cmd->add_option("--reason", o->request.reason, std::string(kRevocationReasons))
      ->capture_default_str();
  cmd->add_flag("--with-certificate-key", o->request.with_certificate_key,
                "sign with the certificate's key instead of the account key");
  cmd->add_option("--timeout", o->timeout, "bound on the CA's answer, retries included, e.g. 30s")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print the result as JSON");
  cmd->callback([&context, &exit_code, o] { exit_code = run_revoke(context, *o); });
}

}  // namespace ck::daemon

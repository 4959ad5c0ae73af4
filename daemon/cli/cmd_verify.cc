// certkeeper verify --leaf LEAF.pem [--untrusted FILE] [--roots FILE] [--hostname NAME | --ip ADDR]
//                   [--at UNIX] [--purpose serverAuth|clientAuth] [--max-depth N]
//                   [--revocation none|ocsp|crl|any|all] [--soft-fail] [--timeout DURATION]
//                   [--json]
// The contract is DESIGN.md's: exit 0 valid, 1 invalid, 2 usage error.

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "daemon/cli/cli.h"
#include "daemon/cli/verification.h"
#include "validator/chain_verifier.h"
#include "validator/public_suffix.h"

namespace ck::daemon {
namespace {

struct VerifyCliOptions {
  std::string leaf;
  std::string untrusted;
  std::string roots;
  std::string hostname;
  std::string ip;
  std::optional<std::int64_t> at;
  std::string purpose = "serverAuth";
  int max_depth = -1;
  std::string revocation = "none";
  bool soft_fail = false;
  std::string timeout = "15s";
  bool json = false;
};

// A certificate file that cannot be read is a usage error; one that does not
// parse makes the chain invalid (DESIGN.md), reported as `malformed`.
int report_load_failure(const CommandFailure& failure, bool json) {
  if (failure.exit_code == kExitProblem && json) {
    fmt::print("{}\n", nlohmann::json{{"valid", false},
                                      {"error", "malformed"},
                                      {"message", failure.message},
                                      {"chain", nlohmann::json::array()},
                                      {"revocation", nlohmann::json::array()}}
                           .dump(2));
  } else if (failure.exit_code == kExitProblem) {
    fmt::print("invalid (malformed): {}\n", failure.message);
  } else {
    return report_failure(CommandFailure{failure.exit_code, failure.message});
  }
  return failure.exit_code;
}

int run_verify(const CliContext& context, const VerifyCliOptions& o) {
  auto method = validator::parse_revocation_method(o.revocation);
  if (!method) {
    return report_failure(CommandFailure{kExitUsage, "--revocation: " + method.error().message});
  }
  auto timeout = parse_timeout(o.timeout, "--timeout");
  if (!timeout) {
    return report_failure(timeout.error());
  }
  auto leaf_file = load_certificates(o.leaf, "--leaf", false, kExitProblem);
  auto untrusted = o.untrusted.empty()
                       ? std::vector<validator::PreparedCertificate>{}
                       : load_certificates(o.untrusted, "--untrusted", true, kExitProblem);
  const std::string roots_path = trust_anchor_file(o.roots);
  auto roots = load_certificates(roots_path, o.roots.empty() ? "system trust store" : "--roots",
                                 false, kExitProblem);
  for (const auto* loaded : {&leaf_file, &untrusted, &roots}) {
    if (!*loaded) {
      return report_load_failure(loaded->error(), o.json);
    }
  }
  // A leaf file that is a full chain brings its intermediates along.
  for (std::size_t i = 1; i < leaf_file->size(); ++i) {
    untrusted->push_back(std::move((*leaf_file)[i]));
  }
  const validator::TrustStore anchors(std::move(*roots),
                                      o.roots.empty() ? validator::AnchorSource::system_store
                                                      : validator::AnchorSource::operator_given);
  validator::VerifyOptions options;
  options.at = o.at.value_or(context.clock().unix_seconds());
  options.hostname = o.hostname;
  options.ip = o.ip;
  options.purpose =
      o.purpose == "clientAuth" ? validator::Purpose::client_auth : validator::Purpose::server_auth;
  options.max_intermediates = o.max_depth;
  const validator::PublicSuffixList suffixes;
  const validator::ChainVerifier verifier(anchors, suffixes);
  validator::ChainResult result = verifier.verify(leaf_file->front(), *untrusted, options);
  auto revocation =
      check_chain_revocation(context, result, *method, o.soft_fail, options.at, *timeout);
  if (o.json) {
    fmt::print("{}\n", verification_json(result, revocation).dump(2));
  } else {
    fmt::print("{}", verification_text(result, revocation));
  }
  return result.valid() ? kExitOk : kExitProblem;
}

}  // namespace

void add_verify_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto o = std::make_shared<VerifyCliOptions>();
  CLI::App* cmd = add_command(
      app, "verify", "Verify a certificate chain: path, RFC 5280 and Web PKI rules, revocation",
      "Builds a path from --leaf through --untrusted to a trust anchor in --roots (default: the "
      "system trust store), trying every candidate issuer until a path passes. Checks "
      "signatures, validity (notAfter inclusive), basic constraints and path length, key usage, "
      "extended key usage, name constraints, critical extensions, serial numbers, key strength "
      "and signature algorithms, the host name or IP address against the subjectAltName, and "
      "revocation by OCSP or CRL when asked. Exit 0 valid, 1 invalid (the error code says why; "
      "unparseable certificates are `malformed`), 2 usage error.");
  cmd->add_option("--leaf", o->leaf, "PEM or DER file whose first certificate is verified")
      ->required();
  cmd->add_option("--untrusted", o->untrusted, "PEM file of intermediates (may be empty)");
  cmd->add_option("--roots", o->roots, "PEM file of trust anchors (default: the system's)");
  auto* host = cmd->add_option("--hostname", o->hostname, "DNS name the leaf must be valid for");
  cmd->add_option("--ip", o->ip, "IP address the leaf must be valid for")->excludes(host);
  cmd->add_option("--at", o->at, "verification time, Unix seconds (default: now)");
  cmd->add_option("--purpose", o->purpose, "serverAuth or clientAuth")
      ->check(CLI::IsMember({"serverAuth", "clientAuth"}))
      ->capture_default_str();
  cmd->add_option("--max-depth", o->max_depth,
                  "at most N intermediate CAs between leaf and trust anchor")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--revocation", o->revocation,
                  "none, ocsp, crl, any (OCSP when the certificate names a responder, else CRL) "
                  "or all (both where both exist)")
      ->capture_default_str();
  cmd->add_flag("--soft-fail", o->soft_fail,
                "an unreachable responder or CRL is reported but does not invalidate the chain");
  cmd->add_option("--timeout", o->timeout, "bound on each OCSP or CRL fetch, e.g. 5s")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print the result as one JSON object");
  cmd->callback([&context, &exit_code, o] { exit_code = run_verify(context, *o); });
}

}  // namespace ck::daemon

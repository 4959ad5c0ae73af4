#include "daemon/service/jobs.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "acme/issuance.h"
#include "daemon/lifecycle/ari_check.h"
#include "daemon/lifecycle/deploy.h"
#include "daemon/lifecycle/inventory_view.h"
#include "daemon/lifecycle/issue.h"
#include "daemon/lifecycle/trust_anchors.h"
#include "validator/public_suffix.h"

namespace ck::daemon {
// The check-ARI job, on a worker: the certificate's CA, as the inventory
// recorded it, asked about its current version.
JobOutcome check_ari_job(const CertificateConfig& cert, const Config& config,
                         store::Inventory& inventory, const Clock& clock,
                         acme::CaSessions& sessions, std::uint64_t random, std::stop_token stop) {
  JobOutcome out{cert.name, JobKind::check_ari, {}, ""};
  auto current = current_version(inventory, cert.name);
  if (!current) {
    out.status = std::unexpected(current.error());
    return out;
  }
  const std::string directory = issuing_directory(inventory, cert.name);
  if (!*current || directory.empty()) {
    out.status = fail(Errc::unsupported, "no certificate from an ACME CA to ask about");
    return out;
  }
  const std::string ca_file = ca_file_for(config, directory);
  const AriSource ca{directory, ca_file, std::chrono::seconds(60), std::move(stop),
                     sessions.of(directory, ca_file)};
  auto checked = check_ari(inventory, **current, ca, clock.unix_seconds(), false, random);
  if (!checked) {
    out.status = std::unexpected(checked.error());
  } else {
    out.summary = "ARI window " + format_rfc3339(checked->record.window_start) + " to " +
                  format_rfc3339(checked->record.window_end);
  }
  return out;
}

// The renew job, on a worker: due-ness checked again under the job (another
// process may have renewed it since it was planned), then renewed.
JobOutcome renew_job(const CertificateConfig& cert, const Config& config,
                     const store::StateLayout& layout, store::Inventory& inventory,
                     const Clock& clock, acme::CaSessions& sessions, std::uint64_t random,
                     bool force, std::stop_token stop) {
  JobOutcome out{cert.name, JobKind::renew, {}, ""};
  auto check = check_renewal(cert, config, inventory, clock.unix_seconds(), {}, true, random);
  if (!check) {
    out.status = std::unexpected(check.error());
    return out;
  }
  if (!check->decision.due && !force) {
    out.summary = "not due: " + check->decision.reason;
    return out;
  }
  acme::SleepingWaiter waiter;
  JobContext context{inventory, layout, clock, waiter, std::move(stop), {}, {}, &sessions};
  context.on_fallback = [&](const std::string& failed, const Error& why, const std::string& next) {
    spdlog::warn("{}: {} failed: {}; trying {}", cert.name, failed, why.describe(), next);
  };
  auto issued = renew(cert, config, check->current ? &*check->current : nullptr, context);
  if (!issued) {
    out.status = std::unexpected(issued.error());
    return out;
  }
  out.order_url = issued->order_url;
  out.summary = "issued " + issued->installed.sha256.substr(0, 16) + ", valid until " +
                format_rfc3339(issued->installed.not_after) +
                (issued->resumed ? " (an interrupted order, finished)" : "");
  auto deployed = deploy(cert, inventory, kReloadTimeout, context.stop);
  if (!deployed) {
    out.deploy_error = deployed.error().describe();
  } else if (!deployed->written.empty()) {
    out.summary += "; deployed " + std::to_string(deployed->written.size()) + " file(s)" +
                   (deployed->reloaded ? " and reloaded" : "");
  }
  return out;
}

// The status job, on a worker: staples and revocation.
JobOutcome status_job(const CertificateConfig& cert, const store::StateLayout& layout,
                      store::Inventory& inventory, const Clock& clock, std::stop_token stop) {
  JobOutcome out{cert.name, JobKind::check_status, {}, ""};
  auto checked = check_status(cert, inventory, layout, clock, std::move(stop));
  if (!checked) {
    out.status = std::unexpected(checked.error());
    return out;
  }
  out.summary = checked->sha256.empty()
                    ? "nothing issued yet to check"
                    : "revocation " + checked->revocation +
                          (checked->method.empty() ? "" : " by " + checked->method) +
                          (checked->error.empty() ? "" : " (" + checked->error + ")");
  for (const auto& staple : checked->staples) {
    out.summary += "; staple " + staple.path + ": " +
                   (staple.error.empty() ? staple.outcome : "failed: " + staple.error);
  }
  out.status_check = std::move(*checked);
  return out;
}

// The probe job, on a worker.
JobOutcome probe_job(const CertificateConfig& cert, store::Inventory& inventory,
                     const Clock& clock) {
  JobOutcome out{cert.name, JobKind::probe, {}, ""};
  auto roots = read_certificates(trust_anchor_file(""));
  if (!roots) {
    out.status = fail(roots.error().within("trust anchors"));
    return out;
  }
  const validator::TrustStore anchors(std::move(*roots), validator::AnchorSource::system_store);
  const validator::PublicSuffixList suffixes;
  auto prober = validator::Prober::create(anchors, suffixes, clock);
  if (!prober) {
    out.status = std::unexpected(prober.error());
    return out;
  }
  auto probed = probe_deployment(cert, inventory, *prober, clock.unix_seconds());
  if (!probed) {
    out.status = std::unexpected(probed.error());
    return out;
  }
  for (const auto& p : *probed) {
    out.summary += (out.summary.empty() ? "" : "; ") + p.endpoint + ": " + p.message;
  }
  out.probes = std::move(*probed);
  return out;
}

// The deploy-only job, on a worker: what a crash left half-deployed, again.
JobOutcome deploy_job(const CertificateConfig& cert, store::Inventory& inventory,
                      std::stop_token stop) {
  JobOutcome out{cert.name, JobKind::deploy, {}, ""};
  auto deployed = deploy(cert, inventory, kReloadTimeout, std::move(stop));
  if (!deployed) {
    out.deploy_error = deployed.error().describe();
  } else {
    out.summary = "deployed " + std::to_string(deployed->written.size()) + " file(s)" +
                  (deployed->reloaded ? " and reloaded" : "") + " again";
  }
  return out;
}

}  // namespace ck::daemon

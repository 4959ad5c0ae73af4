#include "daemon/lifecycle/status_check.h"

#include <algorithm>

#include "core/http.h"
#include "core/pem.h"
#include "daemon/lifecycle/crl_cache.h"
#include "daemon/lifecycle/inventory_view.h"
#include "daemon/lifecycle/staple_record.h"
#include "validator/revocation.h"
#include "validator/staple.h"

namespace ck::daemon {
namespace {

constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kAtLeastEvery = 12 * kHour;
constexpr std::int64_t kAfterFailure = kHour;
constexpr std::int64_t kNotSooner = 5 * kMinute;

// The version's certificate and its issuer (the first of its chain).
struct Pair {
  validator::PreparedCertificate leaf;
  validator::PreparedCertificate issuer;
};

Result<Pair> prepared_pair(validator::PreparedCertificate leaf,
                           const store::CertificateRecord& record) {
  if (record.chain_pem.empty()) {
    return fail(Errc::not_found, "no issuer certificate in the stored chain", record.name);
  }
  CK_TRY(chain, parse_pem_bundle(record.chain_pem));
  if (chain.certificates.empty()) {
    return fail(Errc::not_found, "no issuer certificate in the stored chain", record.name);
  }
  CK_TRY(issuer, validator::prepare(std::move(chain.certificates.front())));
  return Pair{std::move(leaf), std::move(issuer)};
}

Result<HttpClient> status_http() {
  HttpOptions options;
  options.max_response_bytes = 256u << 20;  // CRLs of millions of entries
  options.follow_redirects = true;
  options.timeout = std::chrono::seconds(30);
  return HttpClient::create(options);
}

// Marks the version revoked (once) and says so in the event log.
Status mark_revoked(store::Inventory& inventory, const store::CertificateRecord& record,
                    const StatusCheck& check) {
  return inventory.transaction([&]() -> Status {
    CK_TRY_STATUS(
        inventory.certificates().set_status(record.id, store::CertificateStatus::revoked));
    CK_TRY_STATUS(inventory.events().append(
        {0, 0, "revoked", record.name,
         "found revoked by " + check.method + " (" + check.source + "); re-issued at once", ""}));
    return {};
  });
}

}  // namespace

std::vector<std::string> staple_paths(const CertificateConfig& cert) {
  std::vector<std::string> out;
  if (!cert.staple.empty()) {
    out.push_back(cert.staple);
  }
  if (!cert.deploy.combined.empty()) {
    out.push_back(cert.deploy.combined + ".ocsp");  // HAProxy reads CERT.ocsp beside CERT
  }
  return out;
}

std::int64_t next_status_check(const StatusCheck& check,
                               const std::vector<std::int64_t>& staple_refresh_at,
                               std::int64_t revocation_next_update, std::int64_t now) {
  std::int64_t at = now + kAtLeastEvery;
  for (std::int64_t refresh : staple_refresh_at) {
    at = std::min(at, refresh);
  }
  if (revocation_next_update > 0) {
    at = std::min(at, revocation_next_update);
  }
  const bool failed =
      check.revocation == "unavailable" ||
      std::ranges::any_of(check.staples, [](const StapleState& s) { return !s.error.empty(); });
  if (failed) {
    at = std::min(at, now + kAfterFailure);
  }
  return std::max(at, now + kNotSooner);
}

Result<StatusCheck> check_status(const CertificateConfig& cert, store::Inventory& inventory,
                                 const store::StateLayout& layout, const Clock& clock,
                                 std::stop_token stop) {
  StatusCheck out;
  const std::int64_t now = clock.unix_seconds();
  CK_TRY(current, current_version(inventory, cert.name));
  if (!current) {
    return out;
  }
  out.sha256 = current->sha256;
  CK_TRY(leaf_x509, ossl::x509_from_der(current->der));
  CK_TRY(leaf, validator::prepare(std::move(leaf_x509)));
  const bool has_ocsp = !leaf.facts.ocsp_urls.empty();
  const bool has_crl = !leaf.facts.crl_urls.empty();
  if (staple_paths(cert).empty() && !has_ocsp && !has_crl) {
    // Nothing to keep or ask (a self-signed certificate, say, with no chain):
    // not_applicable, never checked again (next_check 0).
    return out;
  }
  CK_TRY(pair, prepared_pair(std::move(leaf), *current));
  CK_TRY(http, status_http());

  std::vector<std::int64_t> refresh_at;
  std::optional<validator::OcspAnswer> stapled;
  for (const auto& path : staple_paths(cert)) {
    auto refreshed = validator::refresh_staple(http, pair.leaf, *pair.issuer.cert, path, now);
    CK_TRY_STATUS(record_staple(inventory, current->sha256, path, refreshed, now));
    StapleState state{path, "", "", 0, 0};
    if (refreshed) {
      state.outcome = std::string(validator::to_string(refreshed->outcome));
      std::error_code ec;
      if (refreshed->outcome == validator::StapleOutcome::no_responder &&
          std::filesystem::remove(path, ec)) {
        // An earlier version's staple: a server must not staple it to this one.
        state.outcome = "removed";
      }
      if (refreshed->outcome != validator::StapleOutcome::no_responder) {
        state.this_update = refreshed->answer.this_update;
        state.next_update = refreshed->answer.next_update;
        refresh_at.push_back(validator::staple_refresh_time(refreshed->answer.this_update,
                                                            refreshed->answer.next_update));
        stapled = refreshed->answer;
        out.source = refreshed->responder_url;
      }
    } else {
      // The staple on disk stays; its nextUpdate says whether it still serves.
      state.error = refreshed.error().describe();
      CK_TRY(kept, inventory.staples().find(current->id));
      state.this_update = kept ? kept->this_update : 0;
      state.next_update = kept ? kept->next_update : 0;
    }
    out.staples.push_back(std::move(state));
  }

  std::int64_t revocation_next_update = 0;
  if (stapled) {
    // The staple is the OCSP answer: no second request for the same thing.
    out.method = "ocsp";
    out.revocation = std::string(validator::to_string(stapled->status));
    revocation_next_update = stapled->next_update;
  } else {
    StoreCrlCache cache(inventory, layout, clock);
    validator::RevocationChecker checker(http, &cache, now, stop);
    if (has_ocsp || has_crl) {
      const validator::RevocationCheck c = has_ocsp ? checker.by_ocsp(pair.leaf, pair.issuer)
                                                    : checker.by_crl(pair.leaf, pair.issuer);
      out.method = c.method;
      out.revocation = c.status;
      out.source = c.source;
      out.error = c.error;
      revocation_next_update = c.next_update;
    }
  }
  if (out.revocation == "revoked" && current->status != store::CertificateStatus::revoked) {
    CK_TRY_STATUS(mark_revoked(inventory, *current, out));
    out.newly_revoked = true;
  }
  const bool nothing_to_check = out.staples.empty() && out.revocation == "not_applicable";
  out.next_check =
      nothing_to_check ? 0 : next_status_check(out, refresh_at, revocation_next_update, now);
  return out;
}

}  // namespace ck::daemon

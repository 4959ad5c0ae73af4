#include "validator/staple.h"

#include "core/atomic_file.h"
#include "core/clock.h"

namespace ck::validator {
namespace {

constexpr std::int64_t kRefreshWithoutNextUpdate = 86400;
constexpr std::size_t kMaxStapleBytes = 1u << 20;

// The staple already at `out`, if it still verifies for `cert` at `now`.
std::optional<OcspAnswer> valid_staple(const std::filesystem::path& out, const X509& cert,
                                       const X509& issuer, std::int64_t now) {
  auto der = read_file(out, kMaxStapleBytes);
  if (!der) {
    return std::nullopt;  // none yet, or unreadable: either way, fetch
  }
  // No skew in its favour: a staple past its nextUpdate is replaced.
  OcspFreshness strict;
  strict.skew_seconds = 0;
  auto answer = verify_ocsp_response(std::move(*der), cert, issuer, now, strict);
  if (!answer || answer->status == OcspCertStatus::unknown) {
    return std::nullopt;
  }
  return std::move(*answer);
}

}  // namespace

std::int64_t staple_refresh_time(std::int64_t this_update, std::int64_t next_update) {
  if (next_update <= this_update) {
    return this_update + kRefreshWithoutNextUpdate;
  }
  return this_update + (next_update - this_update) / 2;
}

bool staple_refresh_due(std::int64_t this_update, std::int64_t next_update, std::int64_t now) {
  return now >= staple_refresh_time(this_update, next_update);
}

std::string_view to_string(StapleOutcome outcome) {
  switch (outcome) {
    case StapleOutcome::written: return "written";
    case StapleOutcome::kept: return "kept";
    case StapleOutcome::no_responder: return "no_responder";
    default: return "unknown";
  }
}

Result<StapleResult> refresh_staple(HttpClient& http, const PreparedCertificate& cert,
                                    const X509& issuer, const std::filesystem::path& out,
                                    std::int64_t now, bool force) {
  StapleResult result;
  result.must_staple = cert.facts.must_staple;
  if (cert.facts.ocsp_urls.empty()) {
    return result;  // no_responder
  }
  result.responder_url = cert.facts.ocsp_urls.front();
  auto current = valid_staple(out, *cert.cert, issuer, now);
  if (current && !force && !staple_refresh_due(current->this_update, current->next_update, now)) {
    result.outcome = StapleOutcome::kept;
    result.answer = std::move(*current);
    return result;
  }
  auto still = [&](const Error& error) {
    const std::string kept =
        current ? "; the staple on disk stays, valid until " + format_rfc3339(current->next_update)
                : "; no valid staple on disk";
    return fail(error.code, error.message + kept, error.context, error.retryable);
  };
  auto fetched = fetch_ocsp(http, result.responder_url, *cert.cert, issuer, now);
  if (!fetched) {
    return still(fetched.error());
  }
  if (fetched->status == OcspCertStatus::unknown) {
    return still(Error{Errc::protocol, "the responder does not know this certificate (unknown)",
                       result.responder_url});
  }
  CK_TRY_STATUS(write_file_atomic(out, fetched->der, WriteOptions{0644}));
  result.outcome = StapleOutcome::written;
  result.answer = std::move(*fetched);
  return result;
}

}  // namespace ck::validator

#pragma once
// The OCSP staple fetcher: keeps the DER OCSP response that nginx
// (`ssl_stapling_file`) and HAProxy (`CERT.ocsp`) serve, fresh on disk.
//
// A staple is refreshed once half of its validity (thisUpdate to nextUpdate)
// has passed. A fetch that fails, or an answer that does not verify or is not
// `good` or `revoked`, never replaces a staple that is still valid: the file is
// written only with a verified response, atomically.

#include <filesystem>
#include <optional>
#include <string>

#include "core/http.h"
#include "validator/certificate_facts.h"
#include "validator/ocsp.h"

namespace ck::validator {

// Pure: is a staple valid from this_update to next_update due for refresh at `now`?
// Due at half-life; a staple without nextUpdate is refreshed after a day.
[[nodiscard]] bool staple_refresh_due(std::int64_t this_update, std::int64_t next_update,
                                      std::int64_t now);
[[nodiscard]] std::int64_t staple_refresh_time(std::int64_t this_update, std::int64_t next_update);

enum class StapleOutcome {
  written,       // a new verified response is on disk
  kept,          // the staple on disk is valid and not yet due
  no_responder,  // the certificate names no OCSP responder: nothing to staple
};
[[nodiscard]] std::string_view to_string(StapleOutcome outcome);

struct StapleResult {
  StapleOutcome outcome = StapleOutcome::no_responder;
  OcspAnswer answer;          // the response now on disk (written or kept)
  std::string responder_url;  // "" with no_responder
  bool must_staple = false;   // the certificate carries the TLS feature status_request
};

// Brings the staple at `out` up to date for `cert`. Errors (network, a
// response that does not verify, an `unknown` answer) leave `out` as it was;
// the error says whether a valid staple remains there.
[[nodiscard]] Result<StapleResult> refresh_staple(HttpClient& http, const PreparedCertificate& cert,
                                                  const X509& issuer,
                                                  const std::filesystem::path& out,
                                                  std::int64_t now, bool force = false);

}  // namespace ck::validator

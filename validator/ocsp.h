#pragma once
// OCSP (RFC 6960): request building, fetching and response verification.
// Pure verification takes the response DER, the certificate, its issuer and
// the time; fetch_ocsp adds the HTTP exchange. Nothing here keeps state.

#include <cstdint>
#include <stop_token>
#include <string>

#include "core/http.h"
#include "core/openssl.h"

namespace ck::validator {

enum class OcspCertStatus { good, revoked, unknown };
[[nodiscard]] std::string_view to_string(OcspCertStatus status);

struct OcspAnswer {
  OcspCertStatus status = OcspCertStatus::unknown;
  std::string reason;                // revoked: RFC 5280 CRLReason name
  std::int64_t revocation_time = 0;  // revoked only
  std::int64_t produced_at = 0;
  std::int64_t this_update = 0;
  std::int64_t next_update = 0;  // 0 when the responder gave none
  std::string responder;         // "issuer" or the delegated responder's subject
  std::string der;               // the whole response, as a staple
};

// The DER OCSPRequest for one certificate: a SHA-1 CertID (what responders
// expect, RFC 5019 §2.1.1), no nonce, so responses can be cached and stapled.
[[nodiscard]] Result<std::string> build_ocsp_request(const X509& cert, const X509& issuer);

// RFC 6960 Appendix A.1: a GET when the request, base64 then URL-encoded, keeps
// the URL under 255 bytes; else "" and the request is POSTed.
[[nodiscard]] std::string ocsp_get_url(const std::string& responder_url,
                                       std::string_view request_der);

// Verifies a response for `cert`: successful, signed by the issuer or by a
// responder certificate the issuer issued for id-kp-OCSPSigning (RFC 6960
// §4.2.2.2) valid at `now`, an answer for this CertID, and fresh: thisUpdate not
// after now + skew, nextUpdate not before now - skew (without nextUpdate, a
// thisUpdate older than max_age_without_next_update is stale).
struct OcspFreshness {
  std::int64_t skew_seconds = 300;
  std::int64_t max_age_without_next_update = 7 * 86400;
};
[[nodiscard]] Result<OcspAnswer> verify_ocsp_response(std::string der, const X509& cert,
                                                      const X509& issuer, std::int64_t now,
                                                      OcspFreshness freshness = {});

// Asks `responder_url` about `cert` and verifies the answer.
[[nodiscard]] Result<OcspAnswer> fetch_ocsp(HttpClient& http, const std::string& responder_url,
                                            const X509& cert, const X509& issuer, std::int64_t now,
                                            std::stop_token stop = {});

}  // namespace ck::validator

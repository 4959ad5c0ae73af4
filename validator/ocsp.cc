#include "validator/ocsp.h"

#include <openssl/err.h>

#include "core/base64.h"
#include "core/clock.h"
#include "core/x509_info.h"
#include "validator/crl.h"

namespace ck::validator {
namespace {

constexpr std::size_t kMaxGetUrl = 255;

Result<ossl::OcspCertId> cert_id(const X509& cert, const X509& issuer, const EVP_MD* digest) {
  ossl::OcspCertId id(OCSP_cert_to_id(digest, &cert, &issuer));
  if (!id) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot make the OCSP CertID"));
  }
  return id;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '+' || c == '/' || c == '=') {
      out += c == '+' ? "%2B" : c == '/' ? "%2F" : "%3D";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::int64_t> time_of(const ASN1_GENERALIZEDTIME* t) {
  if (!t) {
    return 0;
  }
  return asn1_time_to_unix(*t);
}

// RFC 6960 §4.2.2.2: the issuer itself, or a certificate it issued for OCSP signing.
Result<std::string> authorise_signer(X509& signer, const X509& issuer, std::int64_t now) {
  if (X509_cmp(&signer, &issuer) == 0) {
    return std::string("issuer");
  }
  const std::string who = name_to_string(X509_get_subject_name(&signer));
  if (X509_NAME_cmp(X509_get_issuer_name(&signer), X509_get_subject_name(&issuer)) != 0 ||
      X509_verify(&signer, X509_get0_pubkey(&issuer)) != 1) {
    ERR_clear_error();
    return fail(Errc::crypto,
                "the response is signed by " + who + ", which the issuer did not issue");
  }
  if ((X509_get_extended_key_usage(&signer) & XKU_OCSP_SIGN) == 0) {
    return fail(Errc::crypto, "the responder certificate " + who + " lacks id-kp-OCSPSigning");
  }
  CK_TRY(not_before, asn1_time_to_unix(*X509_get0_notBefore(&signer)));
  CK_TRY(not_after, asn1_time_to_unix(*X509_get0_notAfter(&signer)));
  if (now < not_before || now > not_after) {
    return fail(Errc::crypto, "the responder certificate " + who + " is not valid now");
  }
  return who;
}

Status check_freshness(const OcspAnswer& a, std::int64_t now, const OcspFreshness& f) {
  if (a.this_update > now + f.skew_seconds) {
    return fail(Errc::protocol,
                "the response's thisUpdate " + format_rfc3339(a.this_update) + " is in the future");
  }
  if (a.next_update != 0 && a.next_update < now - f.skew_seconds) {
    return fail(Errc::protocol,
                "stale response: nextUpdate " + format_rfc3339(a.next_update) + " has passed");
  }
  if (a.next_update == 0 && a.this_update < now - f.max_age_without_next_update) {
    return fail(Errc::protocol, "stale response: no nextUpdate and thisUpdate " +
                                    format_rfc3339(a.this_update) + " is old");
  }
  return {};
}

}  // namespace

std::string_view to_string(OcspCertStatus status) {
  switch (status) {
    case OcspCertStatus::good: return "good";
    case OcspCertStatus::revoked: return "revoked";
    case OcspCertStatus::unknown: return "unknown";
    default: return "unknown";
  }
}

Result<std::string> build_ocsp_request(const X509& cert, const X509& issuer) {
  CK_TRY(id, cert_id(cert, issuer, EVP_sha1()));
  ossl::OcspRequest request(OCSP_REQUEST_new());
  if (!request || !OCSP_request_add0_id(request.get(), id.get())) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot build the OCSP request"));
  }
  id.release();  // owned by the request now
  unsigned char* der = nullptr;
  const int length = i2d_OCSP_REQUEST(request.get(), &der);
  if (length <= 0) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot encode the OCSP request"));
  }
  ossl::OpensslString owned(reinterpret_cast<char*>(der));
  return std::string(owned.get(), static_cast<std::size_t>(length));
}

std::string ocsp_get_url(const std::string& responder_url, std::string_view request_der) {
  std::string url = responder_url;
  if (!url.ends_with('/')) {
    url += '/';
  }
  url += url_encode(base64_encode(request_der));
  return url.size() <= kMaxGetUrl ? url : "";
}

Result<OcspAnswer> verify_ocsp_response(std::string der, const X509& cert, const X509& issuer,
                                        std::int64_t now, OcspFreshness freshness) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::OcspResponse response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!response) {
    return std::unexpected(ossl::error(Errc::parse, "not an OCSP response"));
  }
  const int response_status = OCSP_response_status(response.get());
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return fail(Errc::protocol,
                std::string("the responder answered ") + OCSP_response_status_str(response_status));
  }
  ossl::OcspBasicResponse basic(OCSP_response_get1_basic(response.get()));
  ossl::X509Stack issuer_only(sk_X509_new_null());
  if (!basic || !issuer_only || !X509_up_ref(const_cast<X509*>(&issuer)) ||
      !sk_X509_push(issuer_only.get(), const_cast<X509*>(&issuer))) {
    return std::unexpected(ossl::error(Errc::parse, "malformed OCSP basic response"));
  }
  X509* signer = nullptr;  // borrowed from the response or issuer_only
  if (OCSP_resp_get0_signer(basic.get(), &signer, issuer_only.get()) != 1 || !signer) {
    ERR_clear_error();
    return fail(Errc::crypto,
                "the response's signer is neither the issuer nor a certificate "
                "included in the response");
  }
  CK_TRY(responder, authorise_signer(*signer, issuer, now));
  // The signature, by the signer found above; who may sign was checked just before.
  if (OCSP_basic_verify(basic.get(), issuer_only.get(), nullptr, OCSP_NOVERIFY | OCSP_NOCHECKS) !=
      1) {
    return std::unexpected(
        ossl::error(Errc::crypto, "the OCSP response's signature does not verify"));
  }
  int status = -1;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  bool found = false;
  for (const EVP_MD* digest : {EVP_sha1(), EVP_sha256()}) {
    CK_TRY(id, cert_id(cert, issuer, digest));
    if (OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at, &this_update,
                              &next_update) == 1) {
      found = true;
      break;
    }
  }
  ERR_clear_error();
  if (!found) {
    return fail(Errc::protocol, "the response has no answer for this certificate");
  }
  OcspAnswer answer;
  answer.status = status == V_OCSP_CERTSTATUS_GOOD      ? OcspCertStatus::good
                  : status == V_OCSP_CERTSTATUS_REVOKED ? OcspCertStatus::revoked
                                                        : OcspCertStatus::unknown;
  answer.reason = answer.status == OcspCertStatus::revoked ? crl_reason_name(reason) : "";
  CK_TRY(revocation_time, time_of(revoked_at));
  CK_TRY(this_time, time_of(this_update));
  CK_TRY(next_time, time_of(next_update));
  CK_TRY(produced, time_of(OCSP_resp_get0_produced_at(basic.get())));
  answer.revocation_time = revocation_time;
  answer.this_update = this_time;
  answer.next_update = next_time;
  answer.produced_at = produced;
  answer.responder = std::move(responder);
  CK_TRY_STATUS(check_freshness(answer, now, freshness));
  answer.der = std::move(der);
  return answer;
}

Result<OcspAnswer> fetch_ocsp(HttpClient& http, const std::string& responder_url, const X509& cert,
                              const X509& issuer, std::int64_t now, std::stop_token stop) {
  CK_TRY(request_der, build_ocsp_request(cert, issuer));
  HttpRequest request;
  request.url = ocsp_get_url(responder_url, request_der);
  if (request.url.empty()) {
    request.method = "POST";
    request.url = responder_url;
    request.headers = {{"Content-Type", "application/ocsp-request"}};
    request.body = std::move(request_der);
  }
  CK_TRY(response, http.perform(request, stop));
  if (response.status != 200) {
    return fail(Errc::protocol, "HTTP " + std::to_string(response.status), responder_url,
                response.status >= 500);
  }
  auto answer = verify_ocsp_response(std::move(response.body), cert, issuer, now);
  if (!answer) {
    return std::unexpected(answer.error().within(responder_url));
  }
  return answer;
}

}  // namespace ck::validator

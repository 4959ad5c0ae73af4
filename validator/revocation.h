#pragma once
// Revocation of every certificate on a verified path, by OCSP (RFC 6960) or
// CRL (RFC 5280 §5). A failure to learn the status is never silent: it is an
// `unavailable` check, which revocation_findings() turns into a finding unless
// the caller chose soft-fail.
//
// CRLs are kept through a CrlCache (the daemon's: files plus the inventory) and
// refreshed with a conditional GET (ETag / Last-Modified); within one checker a
// CRL is fetched once. Not thread-safe: one checker per job.

#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/http.h"
#include "validator/chain_verifier.h"
#include "validator/crl.h"
#include "validator/ocsp.h"

namespace ck::validator {

enum class RevocationMethod { none, ocsp, crl, any, all };
[[nodiscard]] Result<RevocationMethod> parse_revocation_method(std::string_view text);

struct RevocationCheck {
  int certificate = 0;  // index in the path, leaf = 0
  std::string method;   // "ocsp" or "crl"
  // "good", "revoked", "unknown" (the responder does not know it), "unavailable"
  // (no answer could be had or it did not verify), "not_applicable" (no URL of that kind)
  std::string status;
  std::string source;  // the responder or CRL URL
  bool from_cache = false;
  std::int64_t this_update = 0;
  std::int64_t next_update = 0;
  std::string reason;
  std::int64_t revocation_time = 0;
  std::string error;  // why unavailable
};

// Where fetched CRLs are kept between runs.
class CrlCache {
 public:
  struct Entry {
    std::string der;
    std::string etag;
    std::string last_modified;
  };
  virtual ~CrlCache() = default;
  [[nodiscard]] virtual std::optional<Entry> load(const std::string& url) = 0;
  // Called with a CRL that parsed and verified; failures to keep it are the cache's to log.
  virtual void save(const std::string& url, const Entry& entry, const Crl& crl) = 0;
};

class RevocationChecker {
 public:
  // `http` and `cache` (may be null) must outlive the checker; `now` is the
  // verification time.
  RevocationChecker(HttpClient& http, CrlCache* cache, std::int64_t now, std::stop_token stop = {})
      : http_(http), cache_(cache), now_(now), stop_(std::move(stop)) {}

  // Every certificate of the path that has an issuer on it.
  [[nodiscard]] std::vector<RevocationCheck> check(const ChainResult& chain,
                                                   RevocationMethod method);
  [[nodiscard]] RevocationCheck by_ocsp(const PreparedCertificate& cert,
                                        const PreparedCertificate& issuer);
  [[nodiscard]] RevocationCheck by_crl(const PreparedCertificate& cert,
                                       const PreparedCertificate& issuer);
  // The CRL at `url`, verified as issued by `issuer` and current at `now`.
  [[nodiscard]] Result<std::shared_ptr<const Crl>> crl_at(const std::string& url,
                                                          const X509& issuer, bool& from_cache);

 private:
  HttpClient& http_;
  CrlCache* cache_;
  std::int64_t now_;
  std::stop_token stop_;
  std::map<std::string, std::shared_ptr<const Crl>> fetched_;  // by URL, this run
};

// revoked -> `revoked`; unavailable -> `revocation_unavailable` unless soft_fail.
[[nodiscard]] std::vector<Finding> revocation_findings(const std::vector<RevocationCheck>& checks,
                                                       bool soft_fail);

// RFC 5280 §6.3.3 (a)-(b): a CRL is usable from thisUpdate (minus skew) until
// nextUpdate (plus skew); one without nextUpdate is taken as current.
[[nodiscard]] Status check_crl_freshness(const Crl& crl, std::int64_t now,
                                         std::int64_t skew_seconds = 300);

}  // namespace ck::validator

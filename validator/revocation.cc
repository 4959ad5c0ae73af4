#include "validator/revocation.h"

#include "core/clock.h"

namespace ck::validator {
namespace {

RevocationCheck not_applicable(std::string method, std::string why) {
  RevocationCheck c;
  c.method = std::move(method);
  c.status = "not_applicable";
  c.error = std::move(why);
  return c;
}

RevocationCheck unavailable(std::string method, std::string source, const Error& error) {
  RevocationCheck c;
  c.method = std::move(method);
  c.status = "unavailable";
  c.source = std::move(source);
  c.error = error.message;
  return c;
}

}  // namespace

Result<RevocationMethod> parse_revocation_method(std::string_view text) {
  if (text == "none")
    return RevocationMethod::none;
  if (text == "ocsp")
    return RevocationMethod::ocsp;
  if (text == "crl")
    return RevocationMethod::crl;
  if (text == "any")
    return RevocationMethod::any;
  if (text == "all")
    return RevocationMethod::all;
  return fail(Errc::invalid_argument,
              "unknown method \"" + std::string(text) + "\": use none, ocsp, crl, any or all");
}

Status check_crl_freshness(const Crl& crl, std::int64_t now, std::int64_t skew_seconds) {
  if (crl.this_update() > now + skew_seconds) {
    return fail(Errc::protocol,
                "the CRL's thisUpdate " + format_rfc3339(crl.this_update()) + " is in the future");
  }
  if (crl.next_update() && *crl.next_update() < now - skew_seconds) {
    return fail(Errc::protocol,
                "expired CRL: nextUpdate " + format_rfc3339(*crl.next_update()) + " has passed");
  }
  return {};
}

std::vector<RevocationCheck> RevocationChecker::check(const ChainResult& chain,
                                                      RevocationMethod method) {
  std::vector<RevocationCheck> checks;
  if (method == RevocationMethod::none) {
    return checks;
  }
  for (std::size_t i = 0; i + 1 < chain.path.size(); ++i) {
    const PreparedCertificate& cert = *chain.path[i];
    const PreparedCertificate& issuer = *chain.path[i + 1];
    const bool has_ocsp = !cert.facts.ocsp_urls.empty();
    const bool has_crl = !cert.facts.crl_urls.empty();
    std::vector<RevocationCheck> mine;
    switch (method) {
      case RevocationMethod::ocsp: mine.push_back(by_ocsp(cert, issuer)); break;
      case RevocationMethod::crl: mine.push_back(by_crl(cert, issuer)); break;
      case RevocationMethod::any:
        mine.push_back(has_ocsp || !has_crl ? by_ocsp(cert, issuer) : by_crl(cert, issuer));
        break;
      case RevocationMethod::all:
        mine.push_back(by_ocsp(cert, issuer));
        if (has_crl) {
          mine.push_back(by_crl(cert, issuer));
        }
        break;
      default: break;
    }
    for (auto& c : mine) {
      c.certificate = static_cast<int>(i);
      checks.push_back(std::move(c));
    }
  }
  return checks;
}

RevocationCheck RevocationChecker::by_ocsp(const PreparedCertificate& cert,
                                           const PreparedCertificate& issuer) {
  if (cert.facts.ocsp_urls.empty()) {
    return not_applicable("ocsp", "the certificate names no OCSP responder");
  }
  const std::string& url = cert.facts.ocsp_urls.front();
  auto answer = fetch_ocsp(http_, url, *cert.cert, *issuer.cert, now_, stop_);
  if (!answer) {
    return unavailable("ocsp", url, answer.error());
  }
  RevocationCheck c;
  c.method = "ocsp";
  c.status = std::string(to_string(answer->status));
  c.source = url;
  c.this_update = answer->this_update;
  c.next_update = answer->next_update;
  c.reason = answer->reason;
  c.revocation_time = answer->revocation_time;
  return c;
}

RevocationCheck RevocationChecker::by_crl(const PreparedCertificate& cert,
                                          const PreparedCertificate& issuer) {
  if (cert.facts.crl_urls.empty()) {
    return not_applicable("crl", "the certificate names no CRL distribution point");
  }
  RevocationCheck last;
  for (const auto& url : cert.facts.crl_urls) {
    bool from_cache = false;
    auto crl = crl_at(url, *issuer.cert, from_cache);
    if (!crl) {
      last = unavailable("crl", url, crl.error());
      continue;
    }
    if (!(*crl)->covers(cert.facts)) {
      last =
          not_applicable("crl", "the CRL at " + url + " does not cover this kind of certificate");
      continue;
    }
    RevocationCheck c;
    c.method = "crl";
    c.source = url;
    c.from_cache = from_cache;
    c.this_update = (*crl)->this_update();
    c.next_update = (*crl)->next_update().value_or(0);
    const RevokedEntry* entry = (*crl)->find(serial_octets(cert.facts.info.serial));
    c.status = entry ? "revoked" : "good";
    if (entry) {
      c.reason = std::string(crl_reason_name(entry->reason));
      c.revocation_time = entry->revocation_date;
    }
    return c;
  }
  return last;
}

Result<std::shared_ptr<const Crl>> RevocationChecker::crl_at(const std::string& url,
                                                             const X509& issuer, bool& from_cache) {
  if (auto it = fetched_.find(url); it != fetched_.end()) {
    from_cache = true;
    return it->second;
  }
  if (!url.starts_with("http://")) {
    return fail(Errc::unsupported, "only http:// CRL distribution points are fetched", url);
  }
  std::optional<CrlCache::Entry> cached = cache_ ? cache_->load(url) : std::nullopt;
  HttpRequest request;
  request.url = url;
  if (cached && !cached->etag.empty()) {
    request.headers.emplace_back("If-None-Match", cached->etag);
  }
  if (cached && !cached->last_modified.empty()) {
    request.headers.emplace_back("If-Modified-Since", cached->last_modified);
  }
  auto response = http_.perform(request, stop_);
  CrlCache::Entry entry;
  if (response && response->status == 304 && cached) {
    entry = std::move(*cached);
    from_cache = true;
  } else if (response && response->status == 200) {
    entry.der = std::move(response->body);
    entry.etag = response->header("ETag").value_or("");
    entry.last_modified = response->header("Last-Modified").value_or("");
  } else if (!response && cached) {
    entry = std::move(*cached);  // unreachable: the kept copy serves while it is current
    from_cache = true;
  } else {
    return fail(response ? Error{Errc::protocol, "HTTP " + std::to_string(response->status), url}
                         : response.error().within(url));
  }
  auto crl = Crl::parse(entry.der);
  if (!crl) {
    return fail(crl.error().within(url));
  }
  if (auto signed_by = (*crl)->verify_issued_by(issuer); !signed_by) {
    return fail(signed_by.error().within(url));
  }
  if (auto fresh = check_crl_freshness(**crl, now_); !fresh) {
    return fail(fresh.error().within(url));
  }
  if (cache_) {
    cache_->save(url, entry, **crl);
  }
  fetched_.emplace(url, *crl);
  return *crl;
}

std::vector<Finding> revocation_findings(const std::vector<RevocationCheck>& checks,
                                         bool soft_fail) {
  std::vector<Finding> findings;
  for (const auto& c : checks) {
    if (c.status == "revoked") {
      findings.push_back({VerifyCode::revoked, c.certificate,
                          "revoked (" + c.reason + ") at " + format_rfc3339(c.revocation_time) +
                              ", says " + c.source});
    } else if (c.status == "unavailable" && !soft_fail) {
      findings.push_back({VerifyCode::revocation_unavailable, c.certificate,
                          "no " + c.method + " answer from " + c.source + ": " + c.error});
    }
  }
  return findings;
}

}  // namespace ck::validator

#include "validator/probe/scan.h"

#include <openssl/err.h>

#include <algorithm>
#include <map>
#include <numeric>

namespace ck::validator {
namespace {

struct Version {
  const char* name;
  int id;
};
constexpr Version kVersions[] = {{"TLSv1", TLS1_VERSION},
                                 {"TLSv1.1", TLS1_1_VERSION},
                                 {"TLSv1.2", TLS1_2_VERSION},
                                 {"TLSv1.3", TLS1_3_VERSION}};

// Every TLS 1.3 suite the library implements (RFC 8446 §B.4).
constexpr const char* kTls13Suites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
    "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";

// The cipher suites the library can offer with `setup` (static library objects).
std::vector<const SSL_CIPHER*> offerable_ciphers(const HandshakeSetup& setup) {
  std::vector<const SSL_CIPHER*> ciphers;
  ossl::Ssl ssl(SSL_new(setup.context));
  ossl::CipherStack list(ssl && apply_offer(*ssl, setup) ? SSL_get1_supported_ciphers(ssl.get())
                                                         : nullptr);
  ERR_clear_error();
  for (int i = 0; list && i < sk_SSL_CIPHER_num(list.get()); ++i) {
    ciphers.push_back(sk_SSL_CIPHER_value(list.get(), i));
  }
  return ciphers;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : ":") + n;
  }
  return out;
}

// A scan's handshakes at once, at most: a listen backlog can be as short as
// gnutls-serv's 10, and a SYN it drops is retried by the kernel only after a
// second, which a burst of 128 connections once cost every scan of GnuTLS.
constexpr std::size_t kConcurrency = 8;
// Attempts of an offer that goes unanswered (timeout, reset) before it is
// reported undecided.
constexpr int kAttempts = 3;

struct Pick {
  OfferAnswer answer = OfferAnswer::undecided;
  std::string cipher;  // when chosen
  std::string why;     // when undecided: the last attempt's error
};

// Runs one handshake per setup, all at once; those left undecided are tried
// again, up to kAttempts in all. Returns the answer to each.
std::vector<Pick> negotiate(const std::vector<HandshakeSetup>& setups, int& count,
                            const Clock& clock) {
  std::vector<Pick> picks(setups.size());
  std::vector<std::size_t> open(setups.size());
  std::iota(open.begin(), open.end(), std::size_t{0});
  for (int attempt = 0; attempt < kAttempts && !open.empty(); ++attempt) {
    std::vector<std::unique_ptr<Handshake>> handshakes;
    std::vector<Handshake*> raw;
    for (std::size_t i : open) {
      handshakes.push_back(std::make_unique<Handshake>(setups[i], clock));
      raw.push_back(handshakes.back().get());
    }
    run_handshakes(raw, kConcurrency, clock);
    count += static_cast<int>(raw.size());
    std::vector<std::size_t> still;
    for (std::size_t k = 0; k < open.size(); ++k) {
      const HandshakeOutcome& o = raw[k]->outcome();
      picks[open[k]] = {answer_of(o), o.cipher, o.error.message};
      if (picks[open[k]].answer == OfferAnswer::undecided) {
        still.push_back(open[k]);
      }
    }
    open = std::move(still);
  }
  return picks;
}

}  // namespace

CipherTraits traits_of(const SSL_CIPHER& cipher) {
  const int cipher_nid = SSL_CIPHER_get_cipher_nid(&cipher);
  const char* cipher_name = cipher_nid == NID_undef ? nullptr : OBJ_nid2sn(cipher_nid);
  return {SSL_CIPHER_get_name(&cipher), SSL_CIPHER_get_kx_nid(&cipher),
          SSL_CIPHER_get_auth_nid(&cipher), cipher_nid,
          cipher_name && std::string_view(cipher_name).find("CBC") != std::string_view::npos};
}

std::optional<ProbeFinding> cipher_weakness(const CipherTraits& c) {
  auto error = [&](std::string why) {
    return ProbeFinding{Severity::error, "weak_cipher", c.name + ": " + why};
  };
  if (c.cipher_nid == NID_undef) {
    return error("no encryption (NULL)");
  }
  if (c.name.find("EXP") != std::string::npos) {
    return error("export-grade");
  }
  if (c.authentication_nid == NID_auth_null) {
    return error("anonymous: no server authentication");
  }
  if (c.cipher_nid == NID_rc4) {
    return error("RC4");
  }
  if (c.cipher_nid == NID_des_ede3_cbc) {
    return ProbeFinding{Severity::warning, "weak_cipher", c.name + ": 3DES (64-bit blocks)"};
  }
  if (c.key_exchange_nid == NID_kx_rsa || c.key_exchange_nid == NID_kx_psk) {
    return ProbeFinding{Severity::warning, "no_forward_secrecy",
                        c.name + ": RSA key exchange, no forward secrecy"};
  }
  return std::nullopt;
}

namespace {

// A list of cipher names to offer at one version.
struct Offer {
  std::size_t version;
  std::vector<std::string> names;
};

// All offers at once; returns the answer to each.
std::vector<Pick> offer_all(const std::vector<HandshakeSetup>& bases,
                            const std::vector<Offer>& offers, int& count, const Clock& clock) {
  std::vector<HandshakeSetup> setups;
  for (const Offer& offer : offers) {
    HandshakeSetup s = bases[offer.version];
    (kVersions[offer.version].id == TLS1_3_VERSION ? s.ciphersuites : s.cipher_list) =
        joined(offer.names);
    setups.push_back(std::move(s));
  }
  return negotiate(setups, count, clock);
}

struct Peeled {
  std::vector<std::string> chosen;     // in the order the server chose them
  std::vector<std::string> undecided;  // left when an offer went unanswered
  std::string why;                     // its last error
};

// Peels every offer at once: the server's choice is taken out and the rest
// offered again, until it refuses, nothing is left, or it stays unanswered.
std::vector<Peeled> peel(const std::vector<HandshakeSetup>& bases, std::vector<Offer> offers,
                         int& count, const Clock& clock) {
  std::vector<Peeled> peeled(offers.size());
  std::vector<std::size_t> open(offers.size());
  std::iota(open.begin(), open.end(), std::size_t{0});
  while (!open.empty()) {
    std::vector<Offer> round;
    for (std::size_t i : open) {
      round.push_back(offers[i]);
    }
    const auto picks = offer_all(bases, round, count, clock);
    std::vector<std::size_t> still;
    for (std::size_t k = 0; k < open.size(); ++k) {
      auto& names = offers[open[k]].names;
      if (picks[k].answer == OfferAnswer::undecided) {
        peeled[open[k]].undecided = names;
        peeled[open[k]].why = picks[k].why;
        continue;
      }
      if (std::ranges::find(names, picks[k].cipher) == names.end()) {
        continue;  // refused (or an answer we did not offer): this offer is done
      }
      peeled[open[k]].chosen.push_back(picks[k].cipher);
      std::erase(names, picks[k].cipher);
      if (!names.empty()) {
        still.push_back(open[k]);
      }
    }
    open = std::move(still);
  }
  return peeled;
}

std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

}  // namespace

OfferAnswer answer_of(const HandshakeOutcome& outcome) {
  if (!outcome.cipher.empty()) {
    return OfferAnswer::chosen;
  }
  const Errc code = outcome.error.code;
  return code == Errc::timeout || code == Errc::network ? OfferAnswer::undecided
                                                        : OfferAnswer::refused;
}

std::vector<ProbeFinding> version_findings(const VersionScan& version,
                                           const std::vector<CipherTraits>& accepted) {
  std::vector<ProbeFinding> out;
  std::vector<std::string> cbc;
  for (const CipherTraits& c : accepted) {
    if (c.cbc && !cipher_weakness(c)) {  // a weak one has its own finding
      cbc.push_back(c.name);
    }
  }
  if (!cbc.empty()) {
    out.push_back(
        {Severity::info, "cbc_cipher",
         version.version + " accepts " + std::to_string(cbc.size()) +
             " CBC suite(s), obsolete (MAC-then-encrypt, padding oracles): " + listed(cbc)});
  }
  if (version.server_preference && !accepted.empty()) {
    if (auto weak = cipher_weakness(accepted.front())) {
      out.push_back({Severity::warning, "weak_cipher_preferred",
                     version.version + ": the server's first choice is " + weak->message});
    }
  }
  return out;
}

Result<ScanReport> scan_endpoint(const HandshakeSetup& connection, const Clock& clock) {
  const auto begin = clock.monotonic();
  ScanReport report;
  report.versions.push_back({.version = "SSLv2", .state = "not testable"});
  report.versions.push_back(
      {.version = "SSLv3", .state = "not testable"});  // OpenSSL 3 offers neither
  // One base setup per version: that version only, everything the library has.
  std::vector<HandshakeSetup> bases;
  for (const Version& v : kVersions) {
    HandshakeSetup base = connection;
    base.min_version = base.max_version = v.id;
    base.legacy = true;
    base.stop_at_server_hello = true;
    if (v.id == TLS1_3_VERSION) {
      base.ciphersuites = kTls13Suites;  // the CCM ones too, which are not offered by default
    }
    bases.push_back(base);
  }
  // 1. Which versions and ciphers: each version's candidates in small groups,
  // each group peeled, all groups of all versions at once. A group the server
  // refuses costs one handshake; an accepted cipher one more.
  constexpr std::size_t kGroup = 8;
  std::vector<VersionScan> results;
  std::vector<Offer> groups;
  std::vector<std::vector<std::string>> candidates(std::size(kVersions));
  std::map<std::string, const SSL_CIPHER*> by_name;
  for (std::size_t v = 0; v < std::size(kVersions); ++v) {
    results.push_back({.version = kVersions[v].name, .state = "refused"});
    for (const SSL_CIPHER* cipher : offerable_ciphers(bases[v])) {
      candidates[v].emplace_back(SSL_CIPHER_get_name(cipher));
      by_name.emplace(candidates[v].back(), cipher);
    }
    for (std::size_t i = 0; i < candidates[v].size(); i += kGroup) {
      const auto from = candidates[v].begin() + static_cast<std::ptrdiff_t>(i);
      const auto to = candidates[v].begin() +
                      static_cast<std::ptrdiff_t>(std::min(i + kGroup, candidates[v].size()));
      groups.push_back({v, std::vector<std::string>(from, to)});
    }
  }
  const auto found = peel(bases, groups, report.handshakes, clock);
  std::string unanswered;  // the last error of an offer left undecided
  for (std::size_t v = 0; v < std::size(kVersions); ++v) {
    for (const auto& name : candidates[v]) {  // in the library's (our) order
      for (std::size_t g = 0; g < groups.size(); ++g) {
        if (groups[g].version != v) {
          continue;
        }
        if (std::ranges::find(found[g].chosen, name) != found[g].chosen.end()) {
          results[v].ciphers.push_back(name);
        } else if (std::ranges::find(found[g].undecided, name) != found[g].undecided.end()) {
          results[v].undecided.push_back(name);
          unanswered = found[g].why;
        }
      }
    }
  }
  // 2. Whose order: the accepted ciphers offered as they are and reversed at
  // once; the same choice both times means the server's, which is then peeled.
  std::vector<Offer> forward;
  std::vector<Offer> reversed;
  for (std::size_t v = 0; v < results.size(); ++v) {
    if (results[v].ciphers.size() > 1) {
      forward.push_back({v, results[v].ciphers});
      reversed.push_back({v, {results[v].ciphers.rbegin(), results[v].ciphers.rend()}});
    }
  }
  std::vector<Offer> both = forward;
  both.insert(both.end(), reversed.begin(), reversed.end());
  const auto picks = offer_all(bases, both, report.handshakes, clock);
  std::vector<Offer> server_ordered;
  for (std::size_t i = 0; i < forward.size(); ++i) {
    const std::size_t v = forward[i].version;
    const Pick& as_offered = picks[i];
    const Pick& as_reversed = picks[forward.size() + i];
    if (as_offered.answer == OfferAnswer::undecided ||
        as_reversed.answer == OfferAnswer::undecided) {
      results[v].preference_undecided = true;
      unanswered = as_offered.why.empty() ? as_reversed.why : as_offered.why;
      continue;
    }
    results[v].server_preference =
        !as_offered.cipher.empty() && as_offered.cipher == as_reversed.cipher;
    if (results[v].server_preference) {
      server_ordered.push_back(forward[i]);
    }
  }
  const auto ordered = peel(bases, server_ordered, report.handshakes, clock);
  for (std::size_t i = 0; i < server_ordered.size(); ++i) {
    auto& ciphers = results[server_ordered[i].version].ciphers;
    if (!ordered[i].undecided.empty()) {
      results[server_ordered[i].version].preference_undecided = true;
      unanswered = ordered[i].why;
    }
    std::vector<std::string> order = ordered[i].chosen;
    for (const auto& name : ciphers) {  // any the server stopped choosing keep their place last
      if (std::ranges::find(order, name) == order.end()) {
        order.push_back(name);
      }
    }
    ciphers = std::move(order);
  }
  for (std::size_t v = 0; v < results.size(); ++v) {
    std::vector<CipherTraits> accepted;
    for (const auto& name : results[v].ciphers) {
      accepted.push_back(traits_of(*by_name.at(name)));
      if (auto weak = cipher_weakness(accepted.back())) {
        weak->message = std::string(kVersions[v].name) + " " + weak->message;
        report.findings.push_back(std::move(*weak));
      }
    }
    for (auto& f : version_findings(results[v], accepted)) {
      report.findings.push_back(std::move(f));
    }
    report.complete =
        report.complete && results[v].undecided.empty() && !results[v].preference_undecided;
    if (!results[v].ciphers.empty()) {
      results[v].state = "accepted";
    } else if (!results[v].undecided.empty()) {
      results[v].state = "undecided";
    }
    if (kVersions[v].id == TLS1_3_VERSION && results[v].state == "refused") {
      report.findings.push_back(
          {Severity::warning, "no_tls13", "the server does not accept TLS 1.3 (RFC 8446)"});
    }
    if (!results[v].ciphers.empty() && kVersions[v].id < TLS1_2_VERSION) {
      report.findings.push_back({Severity::warning, "legacy_protocol",
                                 results[v].version + " is accepted (deprecated, RFC 8996)"});
    }
    report.versions.push_back(std::move(results[v]));
  }
  if (!report.complete) {
    report.findings.push_back({Severity::warning, "scan_incomplete",
                               "some offers went unanswered " + std::to_string(kAttempts) +
                                   " times (last: " + unanswered +
                                   "): what they would have shown is undecided, not refused"});
  }
  report.elapsed_ms = std::chrono::duration<double, std::milli>(clock.monotonic() - begin).count();
  return report;
}

}  // namespace ck::validator

#include "validator/probe/scan.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "validator/probe/client_hello.h"

namespace ck::validator {
namespace {

struct Version {
  const char* name;
  std::uint16_t wire;
};
constexpr Version kVersions[] = {{"SSLv3", 0x0300},
                                 {"TLSv1", 0x0301},
                                 {"TLSv1.1", 0x0302},
                                 {"TLSv1.2", 0x0303},
                                 {"TLSv1.3", 0x0304}};
constexpr std::size_t kTls13 = 4;

// A scan's handshakes at once, at most: a listen backlog can be as short as
// gnutls-serv's 10, and a SYN it drops is retried by the kernel only after a
// second, which a burst of 128 connections once cost every scan of GnuTLS.
constexpr std::size_t kConcurrency = 8;
// Attempts of an offer that goes unanswered (timeout, reset) before it is
// reported undecided.
constexpr int kAttempts = 3;
// The curves of ECDSA certificates: P-256, P-384, P-521.
constexpr std::uint16_t kCertificateCurves[] = {0x0017, 0x0018, 0x0019};
// Suites per offer: a refused group costs one handshake, each accepted suite one more.
constexpr std::size_t kGroup = 128;

// The suites offered at a version: the registry's, less those of other eras.
std::vector<std::uint16_t> candidates_at(std::size_t version) {
  std::vector<std::uint16_t> ids;
  for (const CipherSuite& suite : iana_cipher_suites()) {
    const bool tls13 = is_tls13_suite(suite);
    if (version == kTls13 ? tls13
                          : !tls13 && (kVersions[version].wire >= 0x0303 || !needs_tls12(suite))) {
      ids.push_back(suite.id);
    }
  }
  return ids;
}

std::string name_of(std::uint16_t id) {
  const CipherSuite* suite = find_cipher_suite(id);
  return suite ? std::string(suite->name) : "";
}

// OpenSSL's name for each suite it knows, for the report.
std::map<std::uint16_t, std::string> openssl_names(SSL_CTX* context) {
  std::map<std::uint16_t, std::string> names;
  ossl::Ssl ssl(SSL_new(context));
  if (ssl) {
    SSL_set_security_level(ssl.get(), 0);
    SSL_set_cipher_list(ssl.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
    SSL_set_ciphersuites(ssl.get(),
                         "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
                         "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256");
    STACK_OF(SSL_CIPHER)* ciphers = SSL_get_ciphers(ssl.get());
    for (int i = 0; ciphers && i < sk_SSL_CIPHER_num(ciphers); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
      names.emplace(static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(c)),
                    SSL_CIPHER_get_name(c));
    }
  }
  ERR_clear_error();
  return names;
}

// The groups an offer of suites lists: all of them in TLS 1.3, whose answer is
// a HelloRetryRequest that costs the server nothing. Before it, the elliptic
// curves alone: a server of RFC 7919 shown finite-field groups must refuse DHE
// unless it has one of them (§4), where shown none it uses its own; and the
// group's key it makes costs more (gnutls-serv: 2.8 ms a DHE answer, against
// 1.3 ms with its own group). scan_groups() asks for each group by itself.
std::vector<std::uint16_t> suite_offer_groups(std::size_t version) {
  std::vector<std::uint16_t> groups = all_named_groups();
  if (version != kTls13) {
    std::erase_if(groups, is_finite_field_group);
  }
  return groups;
}

// Offers of one kind: `suites` at a version, with `groups` (when empty,
// suite_offer_groups()).
struct Offer {
  std::size_t version;
  std::vector<std::uint16_t> suites;
  std::vector<std::uint16_t> groups;
};

HandshakeSetup setup_for(const HandshakeSetup& connection, const Offer& offer) {
  HandshakeSetup s = connection;
  s.max_version = kVersions[offer.version].wire;
  unsigned char random[32];
  RAND_bytes(random, sizeof random);
  s.raw_hello = build_client_hello(
      {kVersions[offer.version].wire, offer.suites,
       offer.groups.empty() ? suite_offer_groups(offer.version) : offer.groups, connection.sni},
      random);
  return s;
}

struct Pick {
  OfferAnswer answer = OfferAnswer::undecided;
  std::uint16_t suite = 0;  // when chosen
  std::uint16_t group = 0;  // the group its answer named (HelloRetryRequest, ServerKeyExchange)
  std::string why;          // when undecided: the last attempt's error
  std::vector<std::uint32_t> sslv2_ciphers;  // SSL 2.0: the kinds shared
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
      picks[open[k]] = {answer_of(o), o.cipher_suite, o.hello_group, o.error.message,
                        o.sslv2_ciphers};
      if (picks[open[k]].answer == OfferAnswer::undecided) {
        still.push_back(open[k]);
      }
    }
    open = std::move(still);
  }
  return picks;
}

std::vector<Pick> offer_all(const HandshakeSetup& connection, const std::vector<Offer>& offers,
                            int& count, const Clock& clock) {
  std::vector<HandshakeSetup> setups;
  for (const Offer& offer : offers) {
    setups.push_back(setup_for(connection, offer));
  }
  return negotiate(setups, count, clock);
}

struct Peeled {
  std::vector<std::uint16_t> chosen;     // in the order the server chose them
  std::vector<std::uint16_t> undecided;  // left when an offer went unanswered
  std::string why;                       // its last error
};

// Peels every offer at once: the server's choice is taken out and the rest
// offered again, until it refuses, nothing is left, or it stays unanswered.
std::vector<Peeled> peel(const HandshakeSetup& connection, std::vector<Offer> offers, int& count,
                         const Clock& clock) {
  std::vector<Peeled> peeled(offers.size());
  std::vector<std::size_t> open(offers.size());
  std::iota(open.begin(), open.end(), std::size_t{0});
  while (!open.empty()) {
    std::vector<Offer> round;
    for (std::size_t i : open) {
      round.push_back(offers[i]);
    }
    const auto picks = offer_all(connection, round, count, clock);
    std::vector<std::size_t> still;
    for (std::size_t k = 0; k < open.size(); ++k) {
      auto& suites = offers[open[k]].suites;
      if (picks[k].answer == OfferAnswer::undecided) {
        peeled[open[k]].undecided = suites;
        peeled[open[k]].why = picks[k].why;
        continue;
      }
      if (picks[k].answer != OfferAnswer::chosen ||
          std::ranges::find(suites, picks[k].suite) == suites.end()) {
        continue;  // refused (or an answer we did not offer): this offer is done
      }
      peeled[open[k]].chosen.push_back(picks[k].suite);
      std::erase(suites, picks[k].suite);
      if (!suites.empty()) {
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

// SSL 2.0, by its own hello offering every kind it has.
VersionScan scan_sslv2(const HandshakeSetup& connection, int& count, const Clock& clock,
                       std::string& unanswered) {
  std::vector<std::uint32_t> kinds;
  for (const Sslv2Cipher& c : sslv2_ciphers()) {
    kinds.push_back(c.id);
  }
  HandshakeSetup s = connection;
  s.sslv2 = true;
  unsigned char challenge[16];
  RAND_bytes(challenge, sizeof challenge);
  s.raw_hello = build_sslv2_client_hello(kinds, challenge);
  const Pick pick = negotiate({s}, count, clock).front();
  VersionScan v{.version = "SSLv2", .state = "refused"};
  if (pick.answer == OfferAnswer::undecided) {
    v.state = "undecided";
    for (const Sslv2Cipher& c : sslv2_ciphers()) {
      v.undecided.emplace_back(c.name);
    }
    unanswered = pick.why;
    return v;
  }
  if (pick.answer == OfferAnswer::chosen) {
    for (std::uint32_t kind : pick.sslv2_ciphers) {
      for (const Sslv2Cipher& c : sslv2_ciphers()) {
        if (c.id == kind) {
          v.ciphers.push_back({std::string(c.name), ""});
        }
      }
    }
    v.state = v.ciphers.empty() ? "refused" : "accepted";
  }
  return v;
}

// The groups, from the highest version that names them: offered all at once
// (the server's preference), then each alone. TLS 1.3 offers each with its
// suites (`ecdhe` = `dhe`) and reads the HelloRetryRequest. A version before
// it offers each curve with its accepted ECDHE suites and each finite-field
// group with its DHE ones, and reads the ServerKeyExchange: the curve is
// named there (RFC 8422 §5.4), a finite-field group known by its prime.
void scan_groups(const HandshakeSetup& connection, std::size_t version,
                 const std::vector<std::uint16_t>& ecdhe, const std::vector<std::uint16_t>& dhe,
                 ScanReport& report, const Clock& clock) {
  const bool tls13 = version == kTls13;
  std::vector<std::uint16_t> all_suites = ecdhe;
  if (!tls13) {
    all_suites.insert(all_suites.end(), dhe.begin(), dhe.end());
  }
  std::vector<Offer> offers{{version, all_suites, all_named_groups()}};
  for (std::uint16_t group : all_named_groups()) {
    const auto& suites = is_finite_field_group(group) ? dhe : ecdhe;
    if (!suites.empty()) {
      offers.push_back({version, suites, {group}});
    }
  }
  std::vector<HandshakeSetup> setups;
  for (const Offer& offer : offers) {
    setups.push_back(setup_for(connection, offer));
    setups.back().read_key_exchange = !tls13;
  }
  const auto picks = negotiate(setups, report.handshakes, clock);
  report.groups_from = kVersions[version].name;
  if (picks[0].answer == OfferAnswer::chosen && picks[0].group != 0) {
    report.preferred_group = group_name(picks[0].group);
  }
  std::vector<bool> takes(offers.size(), false);
  for (std::size_t i = 1; i < picks.size(); ++i) {
    takes[i] = picks[i].answer == OfferAnswer::chosen && picks[i].group == offers[i].groups.front();
    report.complete = report.complete && picks[i].answer != OfferAnswer::undecided;
  }
  if (!tls13) {
    // In TLS 1.2 the groups offered also bound an ECDSA certificate's curve
    // (RFC 8422 §5.1.1): a group refused alone is offered again first, with
    // the curves a certificate may have after it.
    std::vector<std::size_t> again;
    std::vector<HandshakeSetup> retries;
    for (std::size_t i = 1; i < offers.size(); ++i) {
      if (!takes[i] && picks[i].answer == OfferAnswer::refused &&
          !is_finite_field_group(offers[i].groups.front())) {
        Offer offer = offers[i];
        for (std::uint16_t curve : kCertificateCurves) {
          if (curve != offer.groups.front()) {
            offer.groups.push_back(curve);
          }
        }
        again.push_back(i);
        retries.push_back(setup_for(connection, offer));
        retries.back().read_key_exchange = true;
      }
    }
    const auto second = negotiate(retries, report.handshakes, clock);
    for (std::size_t k = 0; k < again.size(); ++k) {
      takes[again[k]] = second[k].answer == OfferAnswer::chosen &&
                        second[k].group == offers[again[k]].groups.front();
    }
  }
  for (std::size_t i = 1; i < offers.size(); ++i) {
    if (takes[i]) {
      report.groups.push_back(group_name(offers[i].groups.front()));
    }
  }
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

std::optional<ProbeFinding> cipher_weakness(const CipherTraits& c) {
  auto error = [&](std::string why) {
    return ProbeFinding{Severity::error, "weak_cipher", c.name + ": " + why};
  };
  if (c.bulk == Bulk::none) {
    return error("no encryption (NULL)");
  }
  if (c.export_grade) {
    return error("export-grade");
  }
  if (c.anonymous) {
    return error("anonymous: no server authentication");
  }
  switch (c.bulk) {
    case Bulk::rc4: return error("RC4");
    case Bulk::des: return error("single DES (56-bit key)");
    case Bulk::rc2: return error("RC2");
    case Bulk::triple_des: return error("3DES (64-bit blocks: Sweet32, CVE-2016-2183)");
    case Bulk::idea: return error("IDEA (64-bit blocks: Sweet32)");
    default: break;
  }
  if (!c.forward_secrecy) {
    return ProbeFinding{Severity::warning, "no_forward_secrecy",
                        c.name + ": key exchange without forward secrecy"};
  }
  return std::nullopt;
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
  std::string unanswered;  // the last error of an offer left undecided
  report.versions.push_back(scan_sslv2(connection, report.handshakes, clock, unanswered));
  const auto openssl = openssl_names(connection.context);
  auto scanned = [&](std::uint16_t id) {
    const auto known = openssl.find(id);
    return ScannedSuite{name_of(id), known == openssl.end() ? "" : known->second};
  };
  // 1. Which versions and suites: each version's candidates in groups, each
  // group peeled, all groups of all versions at once.
  std::vector<VersionScan> results;
  std::vector<Offer> groups;
  std::vector<std::vector<std::uint16_t>> candidates;
  for (std::size_t v = 0; v < std::size(kVersions); ++v) {
    results.push_back({.version = kVersions[v].name, .state = "refused"});
    candidates.push_back(candidates_at(v));
    for (std::size_t i = 0; i < candidates[v].size(); i += kGroup) {
      const auto from = candidates[v].begin() + static_cast<std::ptrdiff_t>(i);
      const auto to = candidates[v].begin() +
                      static_cast<std::ptrdiff_t>(std::min(i + kGroup, candidates[v].size()));
      groups.push_back({v, std::vector<std::uint16_t>(from, to)});
    }
  }
  const auto found = peel(connection, groups, report.handshakes, clock);
  std::vector<std::vector<std::uint16_t>> accepted(std::size(kVersions));
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::size_t v = groups[g].version;
    accepted[v].insert(accepted[v].end(), found[g].chosen.begin(), found[g].chosen.end());
    for (std::uint16_t id : found[g].undecided) {
      results[v].undecided.push_back(name_of(id));
      unanswered = found[g].why;
    }
  }
  for (std::size_t v = 0; v < accepted.size(); ++v) {  // in the registry's (our) order
    std::ranges::sort(accepted[v], {}, [&](std::uint16_t id) {
      return std::ranges::find(candidates[v], id) - candidates[v].begin();
    });
  }
  // 2. Whose order. A server that ever took a later-offered suite over an
  // earlier one it also accepts has its own; otherwise the accepted suites are
  // offered reversed: a server that follows the client takes the first of
  // them. A server with its own order is then peeled for it.
  std::vector<bool> chose_out_of_order(std::size(kVersions), false);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto offered = [&](std::uint16_t id) {
      return std::ranges::find(groups[g].suites, id) - groups[g].suites.begin();
    };
    if (!std::ranges::is_sorted(found[g].chosen, {}, offered)) {
      chose_out_of_order[groups[g].version] = true;
    }
  }
  std::vector<Offer> reversed;
  std::vector<Offer> server_ordered;
  for (std::size_t v = 0; v < accepted.size(); ++v) {
    if (accepted[v].size() < 2) {
      continue;
    }
    if (chose_out_of_order[v]) {
      results[v].server_preference = true;
      server_ordered.push_back({v, accepted[v]});
    } else {
      reversed.push_back({v, {accepted[v].rbegin(), accepted[v].rend()}});
    }
  }
  const auto picks = offer_all(connection, reversed, report.handshakes, clock);
  for (std::size_t i = 0; i < reversed.size(); ++i) {
    const std::size_t v = reversed[i].version;
    if (picks[i].answer == OfferAnswer::undecided) {
      results[v].preference_undecided = true;
      unanswered = picks[i].why;
      continue;
    }
    results[v].server_preference =
        picks[i].answer == OfferAnswer::chosen && picks[i].suite != reversed[i].suites.front();
    if (results[v].server_preference) {
      server_ordered.push_back({v, accepted[v]});
    }
  }
  const auto ordered = peel(connection, server_ordered, report.handshakes, clock);
  for (std::size_t i = 0; i < server_ordered.size(); ++i) {
    const std::size_t v = server_ordered[i].version;
    if (!ordered[i].undecided.empty()) {
      results[v].preference_undecided = true;
      unanswered = ordered[i].why;
    }
    std::vector<std::uint16_t> order = ordered[i].chosen;
    for (std::uint16_t id : accepted[v]) {  // any the server stopped choosing keep their place last
      if (std::ranges::find(order, id) == order.end()) {
        order.push_back(id);
      }
    }
    accepted[v] = std::move(order);
  }
  // 3. Groups: by TLS 1.3's HelloRetryRequest, else by the ServerKeyExchange
  // of the highest version with an ECDHE or DHE suite.
  if (!accepted[kTls13].empty()) {
    scan_groups(connection, kTls13, candidates[kTls13], candidates[kTls13], report, clock);
  } else {
    for (std::size_t v = kTls13; v-- > 0;) {
      std::vector<std::uint16_t> ecdhe;
      std::vector<std::uint16_t> dhe;
      for (std::uint16_t id : accepted[v]) {
        const CipherSuite* suite = find_cipher_suite(id);
        if (suite && suite->name.starts_with("TLS_ECDHE_")) {
          ecdhe.push_back(id);
        } else if (suite && sends_dh_params(*suite)) {
          dhe.push_back(id);
        }
      }
      if (!ecdhe.empty() || !dhe.empty()) {
        scan_groups(connection, v, ecdhe, dhe, report, clock);
        break;
      }
    }
  }
  // 4. What it all means.
  if (report.versions.front().state == "accepted") {
    report.findings.push_back({Severity::error, "obsolete_protocol",
                               "SSLv2 is accepted (broken: DROWN; prohibited by RFC 6176)"});
  }
  for (std::size_t v = 0; v < results.size(); ++v) {
    std::vector<CipherTraits> traits;
    for (std::uint16_t id : accepted[v]) {
      results[v].ciphers.push_back(scanned(id));
      traits.push_back(traits_of(results[v].ciphers.back().name));
      if (auto weak = cipher_weakness(traits.back())) {
        weak->message = std::string(kVersions[v].name) + " " + weak->message;
        report.findings.push_back(std::move(*weak));
      }
    }
    for (auto& f : version_findings(results[v], traits)) {
      report.findings.push_back(std::move(f));
    }
    report.complete =
        report.complete && results[v].undecided.empty() && !results[v].preference_undecided;
    if (!results[v].ciphers.empty()) {
      results[v].state = "accepted";
    } else if (!results[v].undecided.empty()) {
      results[v].state = "undecided";
    }
    const std::uint16_t wire = kVersions[v].wire;
    if (wire == 0x0300 && results[v].state == "accepted") {
      report.findings.push_back({Severity::error, "obsolete_protocol",
                                 "SSLv3 is accepted (broken: POODLE; prohibited by RFC 7568)"});
    }
    if ((wire == 0x0301 || wire == 0x0302) && results[v].state == "accepted") {
      report.findings.push_back({Severity::warning, "legacy_protocol",
                                 results[v].version + " is accepted (deprecated, RFC 8996)"});
    }
    if (wire == 0x0304 && results[v].state == "refused") {
      report.findings.push_back(
          {Severity::warning, "no_tls13", "the server does not accept TLS 1.3 (RFC 8446)"});
    }
    report.versions.push_back(std::move(results[v]));
  }
  report.complete = report.complete && report.versions.front().state != "undecided";
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

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

// Runs one handshake per setup, all at once; returns the negotiated cipher
// name of each ("" when refused).
std::vector<std::string> negotiate(const std::vector<HandshakeSetup>& setups,
                                   std::size_t concurrency, int& count, const Clock& clock) {
  std::vector<std::unique_ptr<Handshake>> handshakes;
  std::vector<Handshake*> raw;
  for (const auto& s : setups) {
    handshakes.push_back(std::make_unique<Handshake>(s, clock));
    raw.push_back(handshakes.back().get());
  }
  run_handshakes(raw, concurrency, clock);
  count += static_cast<int>(raw.size());
  std::vector<std::string> chosen;
  for (Handshake* h : raw) {
    chosen.push_back(h->outcome().cipher);  // "" when refused
  }
  return chosen;
}

}  // namespace

CipherTraits traits_of(const SSL_CIPHER& cipher) {
  return {SSL_CIPHER_get_name(&cipher), SSL_CIPHER_get_kx_nid(&cipher),
          SSL_CIPHER_get_auth_nid(&cipher), SSL_CIPHER_get_cipher_nid(&cipher)};
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

// All offers at once; returns the chosen cipher of each ("" when refused).
std::vector<std::string> offer_all(const std::vector<HandshakeSetup>& bases,
                                   const std::vector<Offer>& offers, std::size_t concurrency,
                                   int& count, const Clock& clock) {
  std::vector<HandshakeSetup> setups;
  for (const Offer& offer : offers) {
    HandshakeSetup s = bases[offer.version];
    (kVersions[offer.version].id == TLS1_3_VERSION ? s.ciphersuites : s.cipher_list) =
        joined(offer.names);
    setups.push_back(std::move(s));
  }
  return negotiate(setups, concurrency, count, clock);
}

// Peels every offer at once: the server's choice is taken out and the rest
// offered again, until it refuses or nothing is left. Returns, per offer, the
// ciphers in the order the server chose them.
std::vector<std::vector<std::string>> peel(const std::vector<HandshakeSetup>& bases,
                                           std::vector<Offer> offers, std::size_t concurrency,
                                           int& count, const Clock& clock) {
  std::vector<std::vector<std::string>> chosen(offers.size());
  std::vector<std::size_t> open(offers.size());
  std::iota(open.begin(), open.end(), std::size_t{0});
  while (!open.empty()) {
    std::vector<Offer> round;
    for (std::size_t i : open) {
      round.push_back(offers[i]);
    }
    const auto picks = offer_all(bases, round, concurrency, count, clock);
    std::vector<std::size_t> still;
    for (std::size_t k = 0; k < open.size(); ++k) {
      auto& names = offers[open[k]].names;
      if (std::ranges::find(names, picks[k]) == names.end()) {
        continue;  // refused (or an answer we did not offer): this offer is done
      }
      chosen[open[k]].push_back(picks[k]);
      std::erase(names, picks[k]);
      if (!names.empty()) {
        still.push_back(open[k]);
      }
    }
    open = std::move(still);
  }
  return chosen;
}

}  // namespace

Result<ScanReport> scan_endpoint(const HandshakeSetup& connection, const Clock& clock) {
  constexpr std::size_t kConcurrency = 128;  // a scan's handshakes, at most, at once
  const auto begin = clock.monotonic();
  ScanReport report;
  report.versions.push_back({"SSLv2", "not testable", {}, false});
  report.versions.push_back({"SSLv3", "not testable", {}, false});  // OpenSSL 3 offers neither
  // One base setup per version: that version only, everything the library has.
  std::vector<HandshakeSetup> bases;
  for (const Version& v : kVersions) {
    HandshakeSetup base = connection;
    base.min_version = base.max_version = v.id;
    base.legacy = true;
    base.stop_at_server_hello = true;
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
    results.push_back({kVersions[v].name, "refused", {}, false});
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
  const auto found = peel(bases, groups, kConcurrency, report.handshakes, clock);
  for (std::size_t v = 0; v < std::size(kVersions); ++v) {
    for (const auto& name : candidates[v]) {  // in the library's (our) order
      for (std::size_t g = 0; g < groups.size(); ++g) {
        if (groups[g].version == v && std::ranges::find(found[g], name) != found[g].end()) {
          results[v].ciphers.push_back(name);
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
  const auto picks = offer_all(bases, both, kConcurrency, report.handshakes, clock);
  std::vector<Offer> server_ordered;
  for (std::size_t i = 0; i < forward.size(); ++i) {
    const std::size_t v = forward[i].version;
    results[v].server_preference = !picks[i].empty() && picks[i] == picks[forward.size() + i];
    if (results[v].server_preference) {
      server_ordered.push_back(forward[i]);
    }
  }
  const auto ordered = peel(bases, server_ordered, kConcurrency, report.handshakes, clock);
  for (std::size_t i = 0; i < server_ordered.size(); ++i) {
    auto& ciphers = results[server_ordered[i].version].ciphers;
    std::vector<std::string> order = ordered[i];
    for (const auto& name : ciphers) {  // any the server stopped choosing keep their place last
      if (std::ranges::find(order, name) == order.end()) {
        order.push_back(name);
      }
    }
    ciphers = std::move(order);
  }
  for (std::size_t v = 0; v < results.size(); ++v) {
    for (const auto& name : results[v].ciphers) {
      if (auto weak = cipher_weakness(traits_of(*by_name.at(name)))) {
        weak->message = std::string(kVersions[v].name) + " " + weak->message;
        report.findings.push_back(std::move(*weak));
      }
    }
    if (!results[v].ciphers.empty()) {
      results[v].state = "accepted";
    }
    if (!results[v].ciphers.empty() && kVersions[v].id < TLS1_2_VERSION) {
      report.findings.push_back({Severity::warning, "legacy_protocol",
                                 results[v].version + " is accepted (deprecated, RFC 8996)"});
    }
    report.versions.push_back(std::move(results[v]));
  }
  report.elapsed_ms = std::chrono::duration<double, std::milli>(clock.monotonic() - begin).count();
  return report;
}

}  // namespace ck::validator

#include "validator/scan.h"

#include <algorithm>
#include <map>

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

// One context per version: that version only, everything the library can offer.
Result<ossl::SslCtx> version_context(int version) {
  return make_probe_context({version, version, "ALL:COMPLEMENTOFALL:@SECLEVEL=0", "", true});
}

// The cipher suites the library can offer in `context` (static library objects).
std::vector<const SSL_CIPHER*> offerable_ciphers(SSL_CTX* context) {
  std::vector<const SSL_CIPHER*> ciphers;
  ossl::Ssl ssl(SSL_new(context));
  ossl::CipherStack list(ssl ? SSL_get1_supported_ciphers(ssl.get()) : nullptr);
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
                                   std::size_t concurrency, int& count) {
  std::vector<std::unique_ptr<Handshake>> handshakes;
  std::vector<Handshake*> raw;
  for (const auto& s : setups) {
    handshakes.push_back(std::make_unique<Handshake>(s));
    raw.push_back(handshakes.back().get());
  }
  run_handshakes(raw, concurrency);
  count += static_cast<int>(raw.size());
  std::vector<std::string> chosen;
  for (Handshake* h : raw) {
    chosen.push_back(h->outcome().completed ? h->outcome().cipher : "");
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

Result<ScanReport> scan_endpoint(const ScanRequest& request) {
  const auto begin = std::chrono::steady_clock::now();
  ScanReport report;
  report.versions.push_back({"SSLv2", "not testable", {}, false});
  report.versions.push_back({"SSLv3", "not testable", {}, false});  // OpenSSL 3 offers neither
  std::map<std::string, const SSL_CIPHER*> by_name;
  for (const Version& v : kVersions) {
    CK_TRY(context, version_context(v.id));
    HandshakeSetup base;
    base.context = context.get();
    base.address = request.address;
    base.address_length = request.address_length;
    base.sni = request.sni;
    base.timeout = request.timeout;
    // Each cipher alone: accepted or not.
    const std::vector<const SSL_CIPHER*> candidates = offerable_ciphers(context.get());
    std::vector<HandshakeSetup> setups;
    for (const SSL_CIPHER* cipher : candidates) {
      HandshakeSetup s = base;
      (v.id == TLS1_3_VERSION ? s.ciphersuites : s.cipher_list) = SSL_CIPHER_get_name(cipher);
      setups.push_back(std::move(s));
    }
    const auto chosen = negotiate(setups, request.concurrency, report.handshakes);
    VersionScan result{v.name, "refused", {}, false};
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (!chosen[i].empty()) {
        result.ciphers.emplace_back(SSL_CIPHER_get_name(candidates[i]));
        if (auto weak = cipher_weakness(traits_of(*candidates[i]))) {
          weak->message = std::string(v.name) + " " + weak->message;
          report.findings.push_back(std::move(*weak));
        }
      }
    }
    // The server's order: offered first in ours and then reversed, the same
    // choice means the server decides; then peel its choices off one by one.
    auto offer = [&](const std::vector<std::string>& names) {
      HandshakeSetup s = base;
      (v.id == TLS1_3_VERSION ? s.ciphersuites : s.cipher_list) = joined(names);
      return negotiate({s}, 1, report.handshakes).front();
    };
    if (result.ciphers.size() > 1) {
      std::vector<std::string> reversed(result.ciphers.rbegin(), result.ciphers.rend());
      const std::string first = offer(result.ciphers);
      result.server_preference = !first.empty() && first == offer(reversed);
      if (result.server_preference) {
        std::vector<std::string> remaining = result.ciphers;
        std::vector<std::string> ordered;
        while (remaining.size() > 1) {
          const std::string pick = ordered.empty() ? first : offer(remaining);
          if (pick.empty() || std::ranges::find(remaining, pick) == remaining.end()) {
            break;
          }
          ordered.push_back(pick);
          std::erase(remaining, pick);
        }
        ordered.insert(ordered.end(), remaining.begin(), remaining.end());
        result.ciphers = std::move(ordered);
      }
    }
    if (!result.ciphers.empty()) {
      result.state = "accepted";
      if (v.id < TLS1_2_VERSION) {
        report.findings.push_back({Severity::warning, "legacy_protocol",
                                   std::string(v.name) + " is accepted (deprecated, RFC 8996)"});
      }
    }
    report.versions.push_back(std::move(result));
  }
  report.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
  return report;
}

}  // namespace ck::validator

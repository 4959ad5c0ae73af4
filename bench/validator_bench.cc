// Validator benchmark (single thread), printing "name value" lines for
// bench/validator_bench.sh:
//   validator_bench chains               chain verifications/s: 3-certificate ECDSA P-256
//                                        and RSA-2048 chains, prepared once (the "cached
//                                        chain"); OCSP response verifications/s
//   validator_bench crl-generate FILE N  a CRL of N entries signed by a P-256 CA (FILE,
//                                        FILE.issuer.pem), DER written by hand
//   validator_bench crl-parse FILE       parse and signature time, lookups/s, peak RSS
//   validator_bench name-constraints     the name-constraint worst case: a chain just under
//                                        the comparison budget (checked in full) and one
//                                        over it (refused), milliseconds per verification

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/keys.h"
#include "core/pem.h"
#include "core/x509_build.h"
#include "validator/chain_verifier.h"
#include "validator/crl.h"
#include "validator/ocsp.h"
#include "validator/public_suffix.h"

namespace {

using namespace ck;
using Steady = std::chrono::steady_clock;
constexpr std::int64_t kNow = 1767225600;  // 2026-01-01: every certificate here is valid then
constexpr std::int64_t kDay = 86400;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "validator_bench: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T value_or_die(Result<T> r) {
  if (!r) {
    die(r.error().describe());
  }
  return std::move(*r);
}

struct Chain {
  ossl::PKey root_key, inter_key, leaf_key;
  ossl::X509Ptr root, inter, leaf;
};

Chain make_chain(KeyType type) {
  Chain c;
  c.root_key = value_or_die(generate_key(type));
  c.inter_key = value_or_die(generate_key(type));
  c.leaf_key = value_or_die(generate_key(type));
  CertificateSpec root{.common_name = "Bench Root", .is_ca = true};
  root.not_before = kNow - 365 * kDay;
  root.not_after = kNow + 365 * kDay;
  CertificateSpec inter = root;
  inter.common_name = "Bench Intermediate";
  inter.path_length = 0;
  CertificateSpec leaf{.common_name = "www.example.test", .dns_names = {"www.example.test"}};
  leaf.not_before = kNow - kDay;
  leaf.not_after = kNow + 90 * kDay;
  c.root = value_or_die(build_certificate(root, *c.root_key, nullptr, *c.root_key));
  c.inter = value_or_die(build_certificate(inter, *c.inter_key, c.root.get(), *c.root_key));
  c.leaf = value_or_die(build_certificate(leaf, *c.leaf_key, c.inter.get(), *c.inter_key));
  return c;
}

ossl::X509Ptr copy(const ossl::X509Ptr& cert) {
  X509_up_ref(cert.get());
  return ossl::X509Ptr(cert.get());
}

// Calls `work` until a second has passed; returns calls per second.
template <class F>
double per_second(F&& work) {
  const auto start = Steady::now();
  long calls = 0;
  while (Steady::now() - start < std::chrono::seconds(1)) {
    for (int i = 0; i < 50; ++i) {
      work();
    }
    calls += 50;
  }
  return static_cast<double>(calls) / std::chrono::duration<double>(Steady::now() - start).count();
}

// Root -> intermediate excluding `constraints` DNS subtrees -> leaf with
// `names` DNS names, none excluded: every name is compared with every
// constraint, each comparison as long as it can be (the constraint is the
// name's last 74 characters but for the last one). Milliseconds per
// verification, and its verdict.
void name_constraints_case(const char* label, int constraints, int names) {
  Chain c = make_chain(KeyType::ecdsa_p256);
  CertificateSpec inter{.common_name = "Bench Constrained", .is_ca = true};
  inter.not_before = kNow - 365 * kDay;
  inter.not_after = kNow + 365 * kDay;
  const std::string long_label(60, 'b');
  std::string excluded = "critical";
  for (int i = 0; i < constraints; ++i) {
    excluded += ",excluded;DNS:" + long_label + ".example.tesa";
  }
  inter.extensions = {{"nameConstraints", excluded}};
  CertificateSpec leaf;
  for (int i = 0; i < names; ++i) {
    leaf.dns_names.push_back("n" + std::to_string(i) + "." + long_label + ".example.test");
  }
  // No common name: these are longer than its 64 characters; the SAN is critical.
  leaf.not_before = kNow - kDay;
  leaf.not_after = kNow + 90 * kDay;
  c.inter = value_or_die(build_certificate(inter, *c.inter_key, c.root.get(), *c.root_key));
  c.leaf = value_or_die(build_certificate(leaf, *c.leaf_key, c.inter.get(), *c.inter_key));
  validator::TrustStore anchors;
  anchors.add(value_or_die(validator::prepare(copy(c.root))));
  std::vector<validator::PreparedCertificate> untrusted;
  untrusted.push_back(value_or_die(validator::prepare(copy(c.inter))));
  const auto prepared = value_or_die(validator::prepare(copy(c.leaf)));
  const validator::PublicSuffixList suffixes;
  const validator::ChainVerifier verifier(anchors, suffixes);
  validator::VerifyOptions options;
  options.at = kNow;
  options.hostname = leaf.dns_names.front();
  std::string verdict;
  const double rate = per_second([&] {
    verdict = std::string(validator::to_string(verifier.verify(prepared, untrusted, options).code));
  });
  std::printf("%s_ms %.3f\n%s_comparisons %d\n%s_verdict %s\n", label, 1000.0 / rate, label,
              constraints * names, label, verdict.empty() ? "valid" : verdict.c_str());
}

double chains_per_second(KeyType type) {
  Chain c = make_chain(type);
  validator::TrustStore anchors;
  anchors.add(value_or_die(validator::prepare(copy(c.root))));
  std::vector<validator::PreparedCertificate> untrusted;
  untrusted.push_back(value_or_die(validator::prepare(copy(c.inter))));
  const auto leaf = value_or_die(validator::prepare(copy(c.leaf)));
  const validator::PublicSuffixList suffixes;
  const validator::ChainVerifier verifier(anchors, suffixes);
  validator::VerifyOptions options;
  options.at = kNow;
  options.hostname = "www.example.test";
  if (!verifier.verify(leaf, untrusted, options).valid()) {
    die("the bench chain does not verify");
  }
  return per_second([&] {
    if (!verifier.verify(leaf, untrusted, options).valid()) {
      die("verification failed");
    }
  });
}

std::string ocsp_response(const Chain& c) {
  ossl::OcspBasicResponse basic(OCSP_BASICRESP_new());
  ossl::OcspCertId id(OCSP_cert_to_id(EVP_sha1(), c.leaf.get(), c.inter.get()));
  ossl::Asn1Time this_update(ASN1_GENERALIZEDTIME_set(nullptr, kNow - 3600));
  ossl::Asn1Time next_update(ASN1_GENERALIZEDTIME_set(nullptr, kNow + 3 * kDay));
  if (!basic || !id ||
      !OCSP_basic_add1_status(basic.get(), id.get(), V_OCSP_CERTSTATUS_GOOD, 0, nullptr,
                              this_update.get(), next_update.get()) ||
      !OCSP_basic_sign(basic.get(), c.inter.get(), c.inter_key.get(), EVP_sha256(), nullptr, 0)) {
    die("cannot make an OCSP response");
  }
  ossl::OcspResponse response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  unsigned char* der = nullptr;
  const int length = i2d_OCSP_RESPONSE(response.get(), &der);
  ossl::OpensslString owned(reinterpret_cast<char*>(der));
  return std::string(owned.get(), static_cast<std::size_t>(length));
}

double ocsp_per_second() {
  Chain c = make_chain(KeyType::ecdsa_p256);
  const std::string der = ocsp_response(c);
  return per_second([&] {
    if (!validator::verify_ocsp_response(der, *c.leaf, *c.inter, kNow)) {
      die("OCSP verification failed");
    }
  });
}

// --- A CRL of N entries, encoded by hand: the OpenSSL API would need gigabytes.
std::string length_octets(std::size_t n) {
  if (n < 0x80) {
    return std::string(1, static_cast<char>(n));
  }
  std::string out;
  for (std::size_t v = n; v; v >>= 8) {
    out.insert(out.begin(), static_cast<char>(v & 0xff));
  }
  return std::string(1, static_cast<char>(0x80 | out.size())) + out;
}
std::string tlv(unsigned char tag, const std::string& content) {
  return std::string(1, static_cast<char>(tag)) + length_octets(content.size()) + content;
}
// Serials as CAs make them (RFC 5280 §4.1.2.2, CA/B BR §7.1: 64+ random bits): 16
// octets from a mix of i, positive; `present` false gives ones never revoked.
std::string serial_for(std::uint64_t i, bool present = true) {
  auto mix = [](std::uint64_t x) {  // splitmix64
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  const std::uint64_t a = mix(i * 2 + (present ? 0 : 1));
  const std::uint64_t b = mix(a);
  std::string s(16, '\0');
  for (int k = 0; k < 8; ++k) {
    s[static_cast<std::size_t>(k)] = static_cast<char>((a >> (8 * k)) & 0xff);
    s[static_cast<std::size_t>(8 + k)] = static_cast<char>((b >> (8 * k)) & 0xff);
  }
  s[0] = static_cast<char>((s[0] & 0x7f) | 0x01);  // positive, no leading zero octet
  return s;
}

void crl_generate(const std::string& path, std::size_t n) {
  Chain c = make_chain(KeyType::ecdsa_p256);
  const std::string algorithm = tlv(0x30, tlv(0x06, "\x2a\x86\x48\xce\x3d\x04\x03\x02"));
  unsigned char* name = nullptr;
  const int name_length = i2d_X509_NAME(X509_get_subject_name(c.inter.get()), &name);
  ossl::OpensslString owned_name(reinterpret_cast<char*>(name));
  const std::string issuer(owned_name.get(), static_cast<std::size_t>(name_length));
  const std::string reason =
      tlv(0x30, tlv(0x30, tlv(0x06, "\x55\x1d\x15") + tlv(0x04, tlv(0x0a, "\x01"))));
  std::string entries;
  entries.reserve(n * 56);
  for (std::size_t i = 0; i < n; ++i) {
    std::string entry = tlv(0x02, serial_for(i)) + tlv(0x17, "251201000000Z");
    if (i % 4 == 0) {
      entry += reason;
    }
    entries += tlv(0x30, entry);
  }
  const std::string extensions =
      tlv(0xa0, tlv(0x30, tlv(0x30, tlv(0x06, "\x55\x1d\x14") + tlv(0x04, tlv(0x02, "\x07")))));
  const std::string tbs =
      tlv(0x30, tlv(0x02, "\x01") + algorithm + issuer + tlv(0x17, "251231000000Z") +
                    tlv(0x17, "260107000000Z") + tlv(0x30, entries) + extensions);
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  std::size_t signature_length = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, c.inter_key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &signature_length,
                     reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()) != 1) {
    die("cannot sign the CRL");
  }
  std::string signature(signature_length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()),
                     &signature_length, reinterpret_cast<const unsigned char*>(tbs.data()),
                     tbs.size()) != 1) {
    die("cannot sign the CRL");
  }
  signature.resize(signature_length);
  const std::string crl = tlv(0x30, tbs + algorithm + tlv(0x03, std::string(1, '\0') + signature));
  for (const auto& [file, content] :
       {std::pair(path, crl),
        std::pair(path + ".issuer.pem", value_or_die(certificate_to_pem(*c.inter)))}) {
    if (auto written = write_file_atomic(file, content, {}); !written) {
      die(written.error().describe());
    }
  }
  std::printf("crl_entries %zu\ncrl_bytes %zu\n", n, crl.size());
}

void crl_parse(const std::string& path) {
  std::string der = value_or_die(read_file(path, 1u << 30));
  auto issuer_pem = value_or_die(read_file(path + ".issuer.pem", 1u << 20));
  auto issuer = value_or_die(parse_pem_bundle(issuer_pem));
  const auto start = Steady::now();
  auto crl = value_or_die(validator::Crl::parse(std::move(der)));
  const auto parsed = Steady::now();
  if (auto ok = crl->verify_issued_by(*issuer.certificates.front()); !ok) {
    die(ok.error().describe());
  }
  const auto verified = Steady::now();
  rusage parsed_usage{};
  getrusage(RUSAGE_SELF, &parsed_usage);  // before the lookup queries add their own memory
  std::vector<std::string> queries;
  for (std::uint64_t i = 0; i < 1'000'000; ++i) {
    queries.push_back(serial_for((i * 7919) % crl->size(), i % 2 == 0));
  }
  std::size_t found = 0;
  const auto lookups_start = Steady::now();
  for (const auto& q : queries) {
    found += crl->find(q) ? 1 : 0;
  }
  const double lookup_seconds =
      std::chrono::duration<double>(Steady::now() - lookups_start).count();
  if (found != queries.size() / 2) {
    die("lookups found " + std::to_string(found));
  }
  std::printf(
      "crl_entries %zu\ncrl_parse_s %.3f\ncrl_verify_s %.3f\ncrl_lookups_per_s %.0f\n"
      "crl_peak_rss_mib %.1f\n",
      crl->size(), std::chrono::duration<double>(parsed - start).count(),
      std::chrono::duration<double>(verified - parsed).count(),
      static_cast<double>(queries.size()) / lookup_seconds,
      static_cast<double>(parsed_usage.ru_maxrss) / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "chains") {
    std::printf("p256_chains_per_s %.0f\n", chains_per_second(KeyType::ecdsa_p256));
    std::printf("rsa2048_chains_per_s %.0f\n", chains_per_second(KeyType::rsa2048));
    std::printf("ocsp_verifies_per_s %.0f\n", ocsp_per_second());
  } else if (mode == "crl-generate" && argc == 4) {
    crl_generate(argv[2], static_cast<std::size_t>(std::stoul(argv[3])));
  } else if (mode == "crl-parse" && argc == 3) {
    crl_parse(argv[2]);
  } else if (mode == "name-constraints") {
    name_constraints_case("nc_under_budget", 500, 498);
    name_constraints_case("nc_over_budget", 1000, 300);
  } else {
    die("usage: validator_bench chains | crl-generate FILE N | crl-parse FILE | "
        "name-constraints");
  }
  return 0;
}

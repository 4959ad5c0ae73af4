#include "tests/validator/ocsp_fixture.h"

#include <doctest/doctest.h>

#include <ctime>
#include <thread>

namespace ck::test {
namespace {

std::string index_time(std::int64_t t) {
  char out[32];
  const time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(out, sizeof out, "%y%m%d%H%M%SZ", &tm);
  return out;
}

}  // namespace

CertificateSpec ca_spec(const std::string& cn, std::int64_t around) {
  CertificateSpec spec;
  spec.common_name = cn;
  spec.is_ca = true;
  spec.not_before = around - 30 * kDay;
  spec.not_after = around + 365 * kDay;
  return spec;
}

CertificateSpec leaf_spec(const std::string& name, std::int64_t around,
                          std::pair<std::string, std::string> extension) {
  CertificateSpec spec;
  spec.common_name = name;
  spec.dns_names = {name};
  spec.not_before = around - kDay;
  spec.not_after = around + 30 * kDay;
  spec.extensions = {std::move(extension)};
  return spec;
}

std::string serial_of(const Issued& c) {
  ossl::BigNum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(c.cert.get()), nullptr));
  ossl::OpensslString hex(BN_bn2hex(bn.get()));
  return hex.get();
}

Issued OcspPki::leaf(const std::string& name, bool must_staple) {
  CertificateSpec spec = leaf_spec(name, now, {"authorityInfoAccess", "OCSP;URI:" + url});
  if (must_staple) {
    spec.extensions.emplace_back("tlsfeature", "status_request");
  }
  return TestPki::make(spec, &ca);
}

void OcspPki::start(const std::vector<std::pair<const Issued*, std::string>>& entries,
                    const Issued& signer) {
  std::string index;
  const std::string expiry = index_time(now + 30 * kDay);
  for (const auto& [cert, state] : entries) {
    if (state == "V") {
      index +=
          "V\t" + expiry + "\t\t" + serial_of(*cert) + "\tunknown\t/CN=" + serial_of(*cert) + "\n";
    } else {
      index += "R\t" + expiry + "\t" + index_time(now - 3600) + "," + state.substr(2) + "\t" +
               serial_of(*cert) + "\tunknown\t/CN=" + serial_of(*cert) + "\n";
    }
  }
  write_text(dir.path() / "index.txt", index);
  write_text(dir.path() / "ca.pem", ca.cert_pem());
  write_text(dir.path() / "signer.pem", signer.cert_pem());
  write_text(dir.path() / "signer.key", signer.key_pem(), 0600);
  write_text(dir.path() / "ocsp.log", "");
  const std::vector<std::string> argv{"openssl",    "ocsp",
                                      "-index",     (dir.path() / "index.txt").string(),
                                      "-port",      std::to_string(port),
                                      "-CA",        (dir.path() / "ca.pem").string(),
                                      "-rsigner",   (dir.path() / "signer.pem").string(),
                                      "-rkey",      (dir.path() / "signer.key").string(),
                                      "-ndays",     "1",
                                      "-ignore_err"};
  // The port is ours until here. Ready means the responder itself listens on
  // it (not a connection: `openssl ocsp` 3.0 hangs on one closed without a
  // request). Should another process bind it in the instant after release, the
  // responder exits and is started again once that one may have let go.
  reserved.release();
  for (int attempt = 0; attempt < 5; ++attempt) {
    responder = std::make_unique<Process>(argv, dir.path() / "ocsp.log");
    for (int i = 0; i < 200 && responder->running(); ++i) {
      if (holds_listener(responder->pid(), port)) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  FAIL("openssl ocsp did not listen on port " << port << ": "
                                              << read_text(dir.path() / "ocsp.log"));
}

nlohmann::json verify_report(const TempDir& dir, const Issued& leaf, const Issued& ca,
                             const Issued& root, const std::vector<std::string>& extra,
                             const std::map<std::string, std::string>& env) {
  write_text(dir.path() / "leaf.pem", leaf.cert_pem());
  write_text(dir.path() / "ca.pem", ca.cert_pem());
  write_text(dir.path() / "root.pem", root.cert_pem());
  std::vector<std::string> args{certkeeper_binary(),
                                "--state-dir",
                                (dir.path() / "state").string(),
                                "verify",
                                "--leaf",
                                (dir.path() / "leaf.pem").string(),
                                "--untrusted",
                                (dir.path() / "ca.pem").string(),
                                "--roots",
                                (dir.path() / "root.pem").string(),
                                "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run(args, env);
  nlohmann::json report = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE_MESSAGE(report.is_object(), r.err);
  CHECK(r.exit_code == (report["valid"] == true ? 0 : 1));
  return report;
}

nlohmann::json OcspPki::verify(const Issued& leaf, std::vector<std::string> extra) {
  extra.insert(extra.begin(), {"--revocation", "ocsp"});
  return verify_report(dir, leaf, ca, root, extra);
}

}  // namespace ck::test

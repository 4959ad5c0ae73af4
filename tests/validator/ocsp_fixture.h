#pragma once
// A test CA whose intermediate "Issuing CA" answers OCSP through a real
// `openssl ocsp` responder on loopback. `openssl ocsp` dates its answers by the
// real clock, so this PKI is dated around the time the test runs.

#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace ck::test {

CertificateSpec ca_spec(const std::string& cn, std::int64_t around);
// A leaf for `name` valid a day before `around` to 30 days after, with one extension.
CertificateSpec leaf_spec(const std::string& name, std::int64_t around,
                          std::pair<std::string, std::string> extension);
// The serial as `openssl ca` index files spell it (uppercase hex).
std::string serial_of(const Issued& c);

// `certkeeper verify --json` of `leaf` through `ca` to `root` (files in `dir`,
// inventory in dir/state), with `extra` arguments and `env`; the exit code is
// checked against the report's verdict.
nlohmann::json verify_report(const TempDir& dir, const Issued& leaf, const Issued& ca,
                             const Issued& root, const std::vector<std::string>& extra,
                             const std::map<std::string, std::string>& env = {});

struct OcspPki {
  TempDir dir;
  std::int64_t now = std::time(nullptr);
  ReservedPort reserved;  // until the responder takes it: the URL is in the leaves
  int port = reserved.port();
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  Issued root = TestPki::make(ca_spec("OCSP Test Root", now), nullptr);
  Issued ca = TestPki::make(ca_spec("Issuing CA", now), &root);
  std::unique_ptr<Process> responder;

  // A leaf of `ca` naming the responder in authorityInfoAccess.
  Issued leaf(const std::string& name, bool must_staple = false);
  // Starts the responder over an index of (certificate, "V" or "R,REASON"),
  // signing with `signer` (the CA itself or a delegated responder).
  void start(const std::vector<std::pair<const Issued*, std::string>>& entries,
             const Issued& signer);
  void stop() { responder.reset(); }
  // `certkeeper verify --revocation ocsp --json` of `leaf` (now unless --at in extra).
  nlohmann::json verify(const Issued& leaf, std::vector<std::string> extra = {});
};

}  // namespace ck::test

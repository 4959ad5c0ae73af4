#pragma once
// Path building with backtracking over OpenSSL's certificate parsing and
// signature checks. From the leaf, every candidate issuer (same name, matching
// key identifier; trust anchors first) is tried in turn; each complete or dead-end
// path is checked by every rule of rules.h, and the first path without findings
// wins. When none is clean, the best path is reported: one that reaches a trust
// anchor before one that does not, then the one with the fewest findings. The
// search is bounded by a number of signature checks, so a hostile bundle cannot
// make it run away.
//
// Thread-safety: a ChainVerifier is immutable after construction; verify() may
// run on many threads at once over shared PreparedCertificates.

#include <span>
#include <vector>

#include "validator/certificate_facts.h"
#include "validator/rules.h"

namespace ck::validator {

// Where trust anchors come from: the operator (a private PKI, such as Pebble's
// or a company's) or the system's store (the Web PKI, where the CA/Browser
// Forum's Baseline Requirements hold for roots too).
enum class AnchorSource { operator_given, system_store };

// The trust anchors.
class TrustStore {
 public:
  TrustStore() = default;
  explicit TrustStore(std::vector<PreparedCertificate> roots,
                      AnchorSource source = AnchorSource::operator_given)
      : roots_(std::move(roots)), source_(source) {}
  void add(PreparedCertificate root) { roots_.push_back(std::move(root)); }
  [[nodiscard]] const std::vector<PreparedCertificate>& roots() const { return roots_; }
  [[nodiscard]] bool empty() const { return roots_.empty(); }
  [[nodiscard]] AnchorSource source() const { return source_; }

 private:
  std::vector<PreparedCertificate> roots_;
  AnchorSource source_ = AnchorSource::operator_given;
};

struct VerifyOptions {
  std::int64_t at = 0;   // the verification time, Unix seconds
  std::string hostname;  // checked against dNSName SANs when set
  std::string ip;        // checked against iPAddress SANs when set
  Purpose purpose = Purpose::server_auth;
  int max_intermediates = -1;     // --max-depth; -1: no bound beyond pathLenConstraint
  int max_signature_checks = 64;  // the search's work bound
};

struct ChainResult {
  VerifyCode code = VerifyCode::ok;              // the verdict: most_severe(findings)
  std::string message;                           // the verdict's finding, for people
  std::vector<const PreparedCertificate*> path;  // leaf first
  bool reaches_trust_anchor = false;             // path.back() is a trust anchor
  std::vector<Finding> findings;                 // every finding on the path
  int paths_considered = 0;
  int signature_checks = 0;

  [[nodiscard]] bool valid() const { return code == VerifyCode::ok; }
  // Appends findings (revocation) and recomputes the verdict.
  void add_findings(std::vector<Finding> more);
};

class ChainVerifier {
 public:
  // Both must outlive the verifier.
  ChainVerifier(const TrustStore& anchors, const PublicSuffixes& suffixes)
      : anchors_(anchors), suffixes_(suffixes) {}

  [[nodiscard]] ChainResult verify(const PreparedCertificate& leaf,
                                   std::span<const PreparedCertificate> untrusted,
                                   const VerifyOptions& options) const;

  // The findings of the rules for one path (leaf first; `complete` when its
  // last certificate is a trust anchor). Exposed for tests.
  [[nodiscard]] std::vector<Finding> check_path(std::span<const PreparedCertificate* const> path,
                                                bool complete, const VerifyOptions& options) const;

 private:
  const TrustStore& anchors_;
  const PublicSuffixes& suffixes_;
};

}  // namespace ck::validator

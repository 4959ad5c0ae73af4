#include "validator/chain_verifier.h"

#include <openssl/err.h>

#include <algorithm>
#include <map>

namespace ck::validator {
namespace {

constexpr std::size_t kMaxPathLength = 12;

// Could `issuer` have issued `child`? RFC 5280 §4.1.2.4 name chaining, and the
// key identifiers when both are present (§4.2.1.1).
bool may_have_issued(const PreparedCertificate& issuer, const PreparedCertificate& child) {
  if (X509_NAME_cmp(X509_get_subject_name(issuer.cert.get()),
                    X509_get_issuer_name(child.cert.get())) != 0) {
    return false;
  }
  const auto& aki = child.facts.info.authority_key_id;
  const auto& ski = issuer.facts.info.subject_key_id;
  return aki.empty() || ski.empty() || aki == ski;
}

bool self_signed(const PreparedCertificate& c) {
  return c.facts.info.self_issued && X509_verify(c.cert.get(), X509_get0_pubkey(c.cert.get())) == 1;
}

// One depth-first search over candidate issuers, keeping the best path seen.
class PathSearch {
 public:
  PathSearch(const ChainVerifier& verifier, const TrustStore& anchors,
             std::span<const PreparedCertificate> untrusted, const VerifyOptions& options)
      : verifier_(verifier), anchors_(anchors), untrusted_(untrusted), options_(options) {}

  ChainResult run(const PreparedCertificate& leaf) {
    path_.push_back(&leaf);
    if (is_anchor(leaf)) {
      consider(true, {});  // the leaf itself is trusted
    }
    if (!found_) {
      extend();
    }
    best_.paths_considered = paths_;
    best_.signature_checks = checks_;
    best_.add_findings({});
    return std::move(best_);
  }

 private:
  bool is_anchor(const PreparedCertificate& c) const {
    return std::ranges::any_of(anchors_.roots(), [&](const PreparedCertificate& root) {
      return root.facts.info.sha256 == c.facts.info.sha256;
    });
  }
  bool on_path(const PreparedCertificate& c) const {
    return std::ranges::any_of(path_, [&](const PreparedCertificate* p) {
      return p->facts.info.sha256 == c.facts.info.sha256;
    });
  }
  bool out_of_work() const { return found_ || checks_ >= options_.max_signature_checks; }

  bool signature_ok(const PreparedCertificate& child, const PreparedCertificate& issuer) {
    auto key = std::pair(child.cert.get(), issuer.cert.get());
    if (auto it = signatures_.find(key); it != signatures_.end()) {
      return it->second;
    }
    ++checks_;
    const bool ok = X509_verify(child.cert.get(), X509_get0_pubkey(issuer.cert.get())) == 1;
    ERR_clear_error();
    signatures_.emplace(key, ok);
    return ok;
  }

  // Candidates for the issuer of the path's top: trust anchors, then the
  // untrusted bundle; within each, those valid at the verification time first.
  std::vector<std::pair<const PreparedCertificate*, bool>> candidates() const {
    const PreparedCertificate& top = *path_.back();
    std::vector<std::pair<const PreparedCertificate*, bool>> out;
    for (const auto& root : anchors_.roots()) {
      if (may_have_issued(root, top) && !on_path(root)) {
        out.emplace_back(&root, true);
      }
    }
    for (const auto& c : untrusted_) {
      if (may_have_issued(c, top) && !on_path(c) && !is_anchor(c)) {
        out.emplace_back(&c, false);
      }
    }
    auto current = [&](const auto& c) {
      return c.first->facts.info.not_before <= options_.at &&
             options_.at <= c.first->facts.info.not_after;
    };
    // Trust anchors were added first; within each kind, current ones go first.
    auto untrusted_begin = std::ranges::find_if(out, [](const auto& c) { return !c.second; });
    std::stable_partition(out.begin(), untrusted_begin, current);
    std::stable_partition(untrusted_begin, out.end(), current);
    return out;
  }

  void extend() {
    const PreparedCertificate& top = *path_.back();
    const auto issuers = candidates();
    if (issuers.empty() || path_.size() >= kMaxPathLength) {
      consider(false, {end_of_path(top)});
      return;
    }
    for (const auto& [issuer, anchor] : issuers) {
      if (out_of_work()) {
        return;
      }
      const bool good = signature_ok(top, *issuer);
      path_.push_back(issuer);
      std::vector<Finding> extra;
      if (!good) {
        extra.push_back(
            {VerifyCode::bad_signature, static_cast<int>(path_.size() - 2),
             "the signature does not verify with the key of " + issuer->facts.info.subject});
      }
      if (anchor || !good) {
        consider(anchor, std::move(extra));
      } else {
        extend();
      }
      path_.pop_back();
    }
  }

  // Why a path stops short of a trust anchor. A leaf alone, its issuer not
  // given: an intermediate is missing. A self-signed certificate, or a CA
  // certificate given with the leaf whose own issuer is nowhere: the chain
  // is there and ends at a root that is not trusted (a private CA, say), not
  // at a missing intermediate; the finding names where it ends.
  Finding end_of_path(const PreparedCertificate& top) const {
    const int at = static_cast<int>(path_.size() - 1);
    if (self_signed(top)) {
      return {VerifyCode::untrusted_root, at,
              top.facts.info.subject + " is a self-signed certificate that is not a trust anchor"};
    }
    if (path_.size() > 1) {
      return {VerifyCode::untrusted_root, at,
              "the chain ends at " + top.facts.info.subject + ", whose issuer " +
                  top.facts.info.issuer + " is not a trust anchor (a private CA: give its root)"};
    }
    return {VerifyCode::missing_intermediate, at, "no issuer found for " + top.facts.info.issuer};
  }

  void consider(bool complete, std::vector<Finding> extra) {
    ++paths_;
    std::vector<Finding> findings = verifier_.check_path(path_, complete, options_);
    findings.insert(findings.begin(), extra.begin(), extra.end());
    const std::size_t score = (complete ? 0 : 1000) + findings.size();
    if (paths_ == 1 || score < best_score_) {
      best_score_ = score;
      best_.path = path_;
      best_.reaches_trust_anchor = complete;
      best_.findings = std::move(findings);
      found_ = complete && best_.findings.empty();
    }
  }

  const ChainVerifier& verifier_;
  const TrustStore& anchors_;
  std::span<const PreparedCertificate> untrusted_;
  const VerifyOptions& options_;
  std::vector<const PreparedCertificate*> path_;
  std::map<std::pair<const X509*, const X509*>, bool> signatures_;
  ChainResult best_;
  std::size_t best_score_ = 0;
  int paths_ = 0;
  int checks_ = 0;
  bool found_ = false;
};

}  // namespace

void ChainResult::add_findings(std::vector<Finding> more) {
  findings.insert(findings.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  code = most_severe(findings);
  message.clear();
  for (const auto& f : findings) {
    if (f.code == code) {
      const bool known = f.certificate >= 0 && f.certificate < static_cast<int>(path.size());
      message = known ? "certificate " + std::to_string(f.certificate) + " (" +
                            path[static_cast<std::size_t>(f.certificate)]->facts.info.subject +
                            "): " + f.message
                      : f.message;
      break;
    }
  }
}

std::vector<Finding> ChainVerifier::check_path(std::span<const PreparedCertificate* const> path,
                                               bool complete, const VerifyOptions& options) const {
  std::vector<Finding> findings;
  auto note = [&](std::optional<Finding> f, std::size_t index) {
    if (f) {
      if (f->certificate < 0) {
        f->certificate = static_cast<int>(index);
      }
      findings.push_back(std::move(*f));
    }
  };
  std::vector<const CertificateFacts*> facts;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const CertificateFacts& c = path[i]->facts;
    facts.push_back(&c);
    const bool anchor = complete && i + 1 == path.size();
    note(check_validity(c, options.at), i);
    note(check_key_strength(c), i);
    note(check_extensions(c), i);
    note(check_name_constraints_form(c), i);
    if (anchor) {
      // Trusted as configured, but what it says of itself must still hold.
      note(check_trust_anchor(c, c.info.self_issued, options.purpose,
                              anchors_.source() == AnchorSource::system_store),
           i);
      continue;
    }
    note(check_encoding(c), i);
    note(check_signature_algorithm(c), i);
    note(check_key_identifiers(c, false), i);
    note(check_names(c, i == 0), i);
    note(i == 0 ? check_end_entity(c, options.purpose) : check_issuer(c, options.purpose), i);
  }
  auto whole = [&](std::optional<Finding> f) {
    if (f) {
      findings.push_back(std::move(*f));
    }
  };
  whole(check_path_length(facts, complete ? options.max_intermediates : -1));
  whole(check_name_constraints(facts));
  if (!options.hostname.empty()) {
    whole(check_hostname(*facts.front(), options.hostname, suffixes_));
  }
  if (!options.ip.empty()) {
    whole(check_ip_address(*facts.front(), options.ip));
  }
  return findings;
}

ChainResult ChainVerifier::verify(const PreparedCertificate& leaf,
                                  std::span<const PreparedCertificate> untrusted,
                                  const VerifyOptions& options) const {
  return PathSearch(*this, anchors_, untrusted, options).run(leaf);
}

}  // namespace ck::validator

#pragma once
// RFC 5280 and CA/Browser Forum Baseline Requirements checks, each a small pure
// function of CertificateFacts (and the time, the name asked for...). A rule
// returns the Finding it makes, or nothing when the certificate passes. The
// path builder applies them to every candidate path (chain_verifier.h).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "validator/certificate_facts.h"

namespace ck::validator {

// Stable codes: they appear in `certkeeper verify --json`. Add, never rename.
enum class VerifyCode {
  ok,
  malformed,                   // cannot be parsed, or breaks RFC 5280 encoding rules
  bad_signature,               // a signature does not verify with its issuer's key
  untrusted_root,              // the path ends at a self-signed certificate not trusted
  missing_intermediate,        // no issuer found for a certificate
  expired,                     // now is after notAfter
  not_yet_valid,               // now is before notBefore
  invalid_basic_constraints,   // an issuer that is not a CA, or a leaf that is one
  path_length_exceeded,        // pathLenConstraint or --max-depth exceeded
  name_constraint_violation,   // a name outside an issuer's name constraints
  invalid_key_usage,           // keyUsage lacks what the certificate is used for
  invalid_eku,                 // extendedKeyUsage does not allow the purpose
  unknown_critical_extension,  // a critical extension that is not understood
  weak_key,                    // RSA < 2048 or not a multiple of 8, DSA, other curves
  weak_signature_algorithm,    // MD5 or SHA-1
  hostname_mismatch,           // the name asked for is not in the subjectAltName
  revoked,                     // OCSP or CRL says revoked
  revocation_unavailable,      // no revocation answer could be had (hard-fail)
};

[[nodiscard]] std::string_view to_string(VerifyCode code);

struct Finding {
  VerifyCode code = VerifyCode::ok;
  int certificate = -1;  // index in the path, leaf = 0; -1 for the path as a whole
  std::string message;
};

enum class Purpose { server_auth, client_auth };
[[nodiscard]] std::string_view eku_oid(Purpose purpose);

// Answers whether a name is a public suffix ("com", "co.uk", "github.io").
class PublicSuffixes {
 public:
  virtual ~PublicSuffixes() = default;
  [[nodiscard]] virtual bool is_public_suffix(std::string_view name) const = 0;
};

// RFC 5280 §4.1.2.5: valid from notBefore through notAfter, both inclusive.
[[nodiscard]] std::optional<Finding> check_validity(const CertificateFacts& c, std::int64_t now);
// RFC 5280 §4.1.2.2 serial (positive, at most 20 octets), §4.1.2.1 version 3,
// §4.2 extensions that decode and appear once, §4.1.1.2 matching signature
// algorithm fields.
[[nodiscard]] std::optional<Finding> check_encoding(const CertificateFacts& c);
// RFC 5280 §4.2: a critical extension that is not recognised makes it invalid.
[[nodiscard]] std::optional<Finding> check_critical_extensions(const CertificateFacts& c);
// BR §6.1.5: RSA of at least 2048 bits and a multiple of 8; ECDSA on P-256,
// P-384 or P-521; Ed25519/Ed448 allowed; DSA and anything else refused.
[[nodiscard]] std::optional<Finding> check_key_strength(const CertificateFacts& c);
// BR §7.1.3.2: no MD5 or SHA-1 signatures (trust anchors' self-signatures are not checked).
[[nodiscard]] std::optional<Finding> check_signature_algorithm(const CertificateFacts& c);
// The end entity: not a CA (BR §7.1.2.7.8), keyUsage allows signing, and
// extendedKeyUsage present (BR §7.1.2.7.10) and containing the purpose.
[[nodiscard]] std::optional<Finding> check_end_entity(const CertificateFacts& c, Purpose purpose);
// An issuing CA: basicConstraints cA (RFC 5280 §6.1.4 (k)), keyCertSign when keyUsage
// is present (§6.1.4 (n)), and an extendedKeyUsage, if any, that allows the purpose.
[[nodiscard]] std::optional<Finding> check_issuer(const CertificateFacts& c, Purpose purpose);
// RFC 5280 §6.1.4 (l), (m): for the path leaf first, each CA's pathLenConstraint
// bounds the non-self-issued intermediates below it; max_intermediates (-1: none)
// bounds all of them.
[[nodiscard]] std::optional<Finding> check_path_length(
    std::span<const CertificateFacts* const> path, int max_intermediates);
// RFC 5280 §6.1.3 (b), §4.2.1.10: every certificate below a CA with name
// constraints (self-issued intermediates excepted) has its DNS and IP SANs inside.
[[nodiscard]] std::optional<Finding> check_name_constraints(
    std::span<const CertificateFacts* const> path);
// The host name asked for against the leaf's dNSName SANs (never the subject CN).
[[nodiscard]] std::optional<Finding> check_hostname(const CertificateFacts& leaf,
                                                    std::string_view host,
                                                    const PublicSuffixes& suffixes);
// An IP address (text) against the leaf's iPAddress SANs.
[[nodiscard]] std::optional<Finding> check_ip_address(const CertificateFacts& leaf,
                                                      std::string_view address);

// RFC 6125 §6.4.3 as the BR narrow it: "*" only as the whole leftmost label,
// matching exactly one label, and never directly above a public suffix.
[[nodiscard]] bool dns_name_matches(std::string_view pattern, std::string_view host,
                                    const PublicSuffixes& suffixes);
// RFC 5280 §4.2.1.10: "example.com" covers itself and every name under it;
// ".example.com" only names under it. Case-insensitive.
[[nodiscard]] bool dns_within_subtree(std::string_view name, std::string_view constraint);
[[nodiscard]] bool ip_within_subtree(std::string_view address, const IpSubtree& subtree);

// The verdict code of many findings: the one operators should hear first.
[[nodiscard]] VerifyCode most_severe(std::span<const Finding> findings);

}  // namespace ck::validator

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
  malformed,                     // cannot be parsed, or breaks RFC 5280 encoding rules
  bad_signature,                 // a signature does not verify with its issuer's key
  untrusted_root,                // the path ends at a self-signed certificate not trusted
  missing_intermediate,          // no issuer found for a certificate
  expired,                       // now is after notAfter
  not_yet_valid,                 // now is before notBefore
  invalid_basic_constraints,     // an issuer that is not a CA, or a leaf that is one
  path_length_exceeded,          // pathLenConstraint or --max-depth exceeded
  name_constraint_violation,     // a name outside an issuer's name constraints
  invalid_key_usage,             // keyUsage lacks what the certificate is used for
  invalid_eku,                   // extendedKeyUsage does not allow the purpose
  unknown_critical_extension,    // a critical extension that is not understood
  weak_key,                      // RSA < 2048 or not a multiple of 8, DSA, other curves
  weak_signature_algorithm,      // MD5 or SHA-1
  hostname_mismatch,             // the name asked for is not in the subjectAltName
  revoked,                       // OCSP or CRL says revoked
  revocation_unavailable,        // no revocation answer could be had (hard-fail)
  invalid_key_identifier,        // authority or subject key identifier missing or wrong
  invalid_name,                  // subject, subjectAltName or common name breaks the rules
  invalid_name_constraints,      // nameConstraints misplaced, not critical, empty or malformed
  name_constraints_too_complex,  // checking them would take more than the work budget
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

// The most name-constraint comparisons (names x constraints, over the path) a
// path may need, the bound Go's crypto/x509 also uses: a chain built to need
// more is refused at once rather than checked for minutes.
inline constexpr std::int64_t kNameConstraintBudget = 250'000;

// RFC 5280 §4.1.2.5: valid from notBefore through notAfter, both inclusive.
[[nodiscard]] std::optional<Finding> check_validity(const CertificateFacts& c, std::int64_t now);
// RFC 5280 §4.1.2.2 serial (positive, at most 20 octets), §4.1.2.1 version 3,
// §4.1.1.2 matching signature algorithm fields, §4.2.1.11 policyConstraints
// critical.
[[nodiscard]] std::optional<Finding> check_encoding(const CertificateFacts& c);
// RFC 5280 §4.2: every extension appears once and decodes (a malformed one is
// never skipped), and a critical one that is not recognised makes it invalid.
// Trust anchors included.
[[nodiscard]] std::optional<Finding> check_extensions(const CertificateFacts& c);
// RFC 5280 §4.2.1.1, §4.2.1.2, BR §7.1.2.1.3: an authorityKeyIdentifier with a
// keyIdentifier, not critical, except in a `root` (a self-issued trust anchor),
// where it may be absent but otherwise holds only a keyIdentifier equal to its
// own; a subjectKeyIdentifier in every CA.
[[nodiscard]] std::optional<Finding> check_key_identifiers(const CertificateFacts& c, bool root);
// RFC 5280 §4.1.2.6, §4.2.1.6, BR §7.1.2.7.12, §7.1.4.2, §7.1.4.3: a CA has a
// subject; an empty subject comes with a critical subjectAltName, a non-empty
// one with a non-critical one; dNSNames are host names (no underscore) and
// iPAddresses 4 or 16 bytes; in a `subscriber` (leaf, not a CA) certificate each
// common name is, character for character, one of its SANs.
[[nodiscard]] std::optional<Finding> check_names(const CertificateFacts& c, bool subscriber);
// RFC 5280 §4.2.1.10: nameConstraints only in a CA, critical, with at least one
// subtree, each a valid name of its form (a DNS name, an address and a
// contiguous mask of the same family).
[[nodiscard]] std::optional<Finding> check_name_constraints_form(const CertificateFacts& c);
// A trust anchor that is a certificate with extensions (RFC 5280 §4.2.1.9,
// §4.2.1.3): basicConstraints present and critical; keyCertSign and
// pathLenConstraint only with cA, and a CA's keyUsage with keyCertSign; an
// extendedKeyUsage, if any, that allows the purpose; its key identifiers
// (`root`: self-issued) and names. With `web_pki` (an anchor of the system's
// store, where the CA/Browser Forum's rules govern), a root has no
// extendedKeyUsage (BR §7.1.2.1.2); an operator's private root may have one
// (Pebble's does), read as the constraint it is on any CA.
[[nodiscard]] std::optional<Finding> check_trust_anchor(const CertificateFacts& c, bool root,
                                                        Purpose purpose, bool web_pki);
// BR §6.1.5: RSA of at least 2048 bits and a multiple of 8; ECDSA on P-256,
// P-384 or P-521 by name (RFC 5480: no explicit parameters); Ed25519/Ed448
// allowed; DSA and anything else refused.
[[nodiscard]] std::optional<Finding> check_key_strength(const CertificateFacts& c);
// BR §7.1.3.2: no MD5 or SHA-1 signatures (trust anchors' self-signatures are not checked).
[[nodiscard]] std::optional<Finding> check_signature_algorithm(const CertificateFacts& c);
// The end entity (RFC 5280 §4.2.1.3, §4.2.1.12; BR §7.1.2.7.10): keyUsage, if
// any, allows signing and, unless it is a CA, not keyCertSign; an
// extendedKeyUsage, if any (without one it serves any purpose), is not
// critical, holds no anyExtendedKeyUsage and contains the purpose. A CA may be
// an end entity.
[[nodiscard]] std::optional<Finding> check_end_entity(const CertificateFacts& c, Purpose purpose);
// An issuing CA: basicConstraints cA (RFC 5280 §6.1.4 (k)), keyCertSign when keyUsage
// is present (§6.1.4 (n)), and an extendedKeyUsage, if any, that allows the purpose.
[[nodiscard]] std::optional<Finding> check_issuer(const CertificateFacts& c, Purpose purpose);
// RFC 5280 §6.1.4 (l), (m): for the path leaf first, each CA's pathLenConstraint
// bounds the non-self-issued intermediates below it; max_intermediates (-1: none)
// bounds them all (self-issued ones do not count). The leaf's own is ignored.
[[nodiscard]] std::optional<Finding> check_path_length(
    std::span<const CertificateFacts* const> path, int max_intermediates);
// RFC 5280 §6.1.3 (b), §4.2.1.10: every certificate below a CA with name
// constraints (self-issued intermediates excepted) has its DNS, IP and
// directory names (subject included) inside; a wildcard is outside an excluded
// subtree only when every name it stands for is. Constraints of other forms
// bind only certificates with names of that form, which are refused (not
// evaluated). Over kNameConstraintBudget comparisons: too complex, refused.
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
// A host name in preferred name syntax (RFC 1034 §3.5, RFC 5890 A-labels):
// letters, digits and inner hyphens, labels of 1 to 63 octets, 253 in all;
// with `wildcard`, "*" may be the whole leftmost label.
[[nodiscard]] bool is_host_name(std::string_view name, bool wildcard);
// RFC 5280 §4.2.1.10: "example.com" covers itself and every name under it;
// ".example.com" only names under it. Case-insensitive.
[[nodiscard]] bool dns_within_subtree(std::string_view name, std::string_view constraint);
[[nodiscard]] bool ip_within_subtree(std::string_view address, const IpSubtree& subtree);

// The verdict code of many findings: the one operators should hear first.
[[nodiscard]] VerifyCode most_severe(std::span<const Finding> findings);

}  // namespace ck::validator

#include "validator/rules.h"

#include "core/clock.h"
#include "core/ip_address.h"

#include <algorithm>
#include <cctype>

namespace ck::validator {
namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::ranges::find(list, value) != list.end();
}

const char* purpose_name(Purpose purpose) {
  return purpose == Purpose::server_auth ? "serverAuth" : "clientAuth";
}

// A CA's extendedKeyUsage, where it has one, constrains what it may issue for.
bool ca_eku_allows(const CertificateFacts& c, Purpose purpose) {
  return !c.has_extended_key_usage || contains(c.extended_key_usage, eku_oid(purpose)) ||
         contains(c.extended_key_usage, kOidAnyExtendedKeyUsage);
}

Finding finding(VerifyCode code, std::string message) {
  return Finding{code, -1, std::move(message)};
}

std::string ip_text(std::string_view bytes) {
  return ip_address_text(bytes).value_or("(malformed address)");
}

// Whether any name "*.suffix" stands for lies in the subtree `constraint`:
// "bad.example.com" holds one of the names of "*.example.com".
bool wildcard_meets_subtree(std::string_view wildcard, std::string_view constraint_in) {
  if (dns_within_subtree(wildcard, constraint_in)) {
    return true;  // the whole of it
  }
  const std::string suffix = lowercase(wildcard.substr(1));  // ".example.com"
  std::string constraint = lowercase(constraint_in);
  if (constraint.starts_with('.')) {
    constraint.erase(0, 1);
  }
  if (!constraint.ends_with(suffix)) {
    return false;
  }
  const std::string label = constraint.substr(0, constraint.size() - suffix.size());
  return !label.empty() && label.find('.') == std::string::npos;
}

bool dn_within(const DistinguishedName& name, const DistinguishedName& subtree) {
  return subtree.size() <= name.size() && std::equal(subtree.begin(), subtree.end(), name.begin());
}

std::string dn_text(const DistinguishedName& dn) {
  std::string out;
  for (const auto& rdn : dn) {
    for (const auto& attribute : rdn) {
      out += (out.empty() ? "" : ",") + attribute;
    }
  }
  return out;
}

// The names of `c` an issuer's name constraints compare: its SANs, and its
// subject as a directory name.
std::vector<DistinguishedName> directory_names(const CertificateFacts& c) {
  std::vector<DistinguishedName> names = c.san_dirs;
  if (!c.subject_empty) {
    names.push_back(c.subject_dn);
  }
  return names;
}

std::int64_t name_count(const CertificateFacts& c) {
  return static_cast<std::int64_t>(c.info.dns_names.size() + c.san_ip_bytes.size() +
                                   c.san_dirs.size()) +
         1;
}

// The names of `c` that `nc` does not allow, as a message; "" when all fit.
std::string outside_constraints(const CertificateFacts& c, const NameConstraints& nc) {
  for (const auto& form : c.other_name_forms) {
    if (contains(nc.other_forms, form)) {
      return "names of form " + form + " under constraints of that form (not evaluated by " +
             "certkeeper: refused rather than guessed)";
    }
  }
  for (const auto& name : c.info.dns_names) {
    auto within = [&](const std::string& constraint) {
      return dns_within_subtree(name, constraint);
    };
    auto meets = [&](const std::string& constraint) {
      return name.starts_with("*.") ? wildcard_meets_subtree(name, constraint)
                                    : dns_within_subtree(name, constraint);
    };
    if (std::ranges::any_of(nc.excluded_dns, meets)) {
      return "DNS name " + name + " is in an excluded subtree";
    }
    if (!nc.permitted_dns.empty() && std::ranges::none_of(nc.permitted_dns, within)) {
      return "DNS name " + name + " is outside the permitted subtrees";
    }
  }
  for (const auto& address : c.san_ip_bytes) {
    auto within = [&](const IpSubtree& subtree) { return ip_within_subtree(address, subtree); };
    auto same_family = [&](const IpSubtree& subtree) {
      return subtree.address.size() == address.size();
    };
    if (std::ranges::any_of(nc.excluded_ip, within)) {
      return "IP address " + ip_text(address) + " is in an excluded subtree";
    }
    if (std::ranges::any_of(nc.permitted_ip, same_family) &&
        std::ranges::none_of(nc.permitted_ip, within)) {
      return "IP address " + ip_text(address) + " is outside the permitted subtrees";
    }
  }
  for (const auto& dn : directory_names(c)) {
    auto within = [&](const DistinguishedName& subtree) { return dn_within(dn, subtree); };
    if (std::ranges::any_of(nc.excluded_dirs, within)) {
      return "directory name " + dn_text(dn) + " is in an excluded subtree";
    }
    if (!nc.permitted_dirs.empty() && std::ranges::none_of(nc.permitted_dirs, within)) {
      return "directory name " + dn_text(dn) + " is outside the permitted subtrees";
    }
  }
  return "";
}

bool valid_dns_constraint(std::string_view constraint) {
  if (constraint.starts_with('.')) {
    constraint.remove_prefix(1);
  }
  return constraint.empty() || is_host_name(constraint, false);
}

// An address and its mask: both 4 or both 16 bytes, the mask ones then zeros.
bool valid_ip_subtree(const IpSubtree& subtree) {
  if ((subtree.address.size() != 4 && subtree.address.size() != 16) ||
      subtree.mask.size() != subtree.address.size()) {
    return false;
  }
  bool zeros = false;
  for (unsigned char byte : subtree.mask) {
    for (int bit = 7; bit >= 0; --bit) {
      const bool one = ((byte >> bit) & 1) != 0;
      if (one && zeros) {
        return false;
      }
      zeros = zeros || !one;
    }
  }
  return true;
}

}  // namespace

std::string_view to_string(VerifyCode code) {
  switch (code) {
    case VerifyCode::ok: return "";
    case VerifyCode::malformed: return "malformed";
    case VerifyCode::bad_signature: return "bad_signature";
    case VerifyCode::untrusted_root: return "untrusted_root";
    case VerifyCode::missing_intermediate: return "missing_intermediate";
    case VerifyCode::expired: return "expired";
    case VerifyCode::not_yet_valid: return "not_yet_valid";
    case VerifyCode::invalid_basic_constraints: return "invalid_basic_constraints";
    case VerifyCode::path_length_exceeded: return "path_length_exceeded";
    case VerifyCode::name_constraint_violation: return "name_constraint_violation";
    case VerifyCode::invalid_key_usage: return "invalid_key_usage";
    case VerifyCode::invalid_eku: return "invalid_eku";
    case VerifyCode::unknown_critical_extension: return "unknown_critical_extension";
    case VerifyCode::weak_key: return "weak_key";
    case VerifyCode::weak_signature_algorithm: return "weak_signature_algorithm";
    case VerifyCode::hostname_mismatch: return "hostname_mismatch";
    case VerifyCode::revoked: return "revoked";
    case VerifyCode::revocation_unavailable: return "revocation_unavailable";
    case VerifyCode::invalid_key_identifier: return "invalid_key_identifier";
    case VerifyCode::invalid_name: return "invalid_name";
    case VerifyCode::invalid_name_constraints: return "invalid_name_constraints";
    case VerifyCode::name_constraints_too_complex: return "name_constraints_too_complex";
    default: return "malformed";
  }
}

std::string_view eku_oid(Purpose purpose) {
  return purpose == Purpose::server_auth ? kOidServerAuth : kOidClientAuth;
}

std::optional<Finding> check_validity(const CertificateFacts& c, std::int64_t now) {
  if (now < c.info.not_before) {
    return finding(VerifyCode::not_yet_valid,
                   "not valid before " + format_rfc3339(c.info.not_before));
  }
  if (now > c.info.not_after) {
    return finding(VerifyCode::expired, "expired at " + format_rfc3339(c.info.not_after));
  }
  return std::nullopt;
}

std::optional<Finding> check_encoding(const CertificateFacts& c) {
  if (c.version != 3) {
    return finding(VerifyCode::malformed,
                   "an X.509 v" + std::to_string(c.version) + " certificate (v3 required)");
  }
  if (c.serial_negative || c.serial_zero) {
    return finding(VerifyCode::malformed, "the serial number must be positive (RFC 5280 §4.1.2.2)");
  }
  if (c.serial_octets > 20) {
    return finding(VerifyCode::malformed, "the serial number is " +
                                              std::to_string(c.serial_octets) +
                                              " octets long (RFC 5280 §4.1.2.2: at most 20)");
  }
  if (c.signature_algorithm_mismatch) {
    return finding(VerifyCode::malformed,
                   "signatureAlgorithm differs from tbsCertificate.signature (RFC 5280 §4.1.1.2)");
  }
  if (c.has_policy_constraints && !c.policy_constraints_critical) {
    return finding(VerifyCode::malformed,
                   "policyConstraints is not marked critical (RFC 5280 §4.2.1.11)");
  }
  return std::nullopt;
}

std::optional<Finding> check_extensions(const CertificateFacts& c) {
  if (!c.undecodable_extensions.empty()) {
    return finding(VerifyCode::malformed, "extension " + c.undecodable_extensions.front() +
                                              " does not decode (RFC 5280 §4.2)");
  }
  if (c.invalid_extensions) {
    return finding(VerifyCode::malformed,
                   "an extension is repeated or cannot be decoded (RFC 5280 §4.2)");
  }
  if (!c.unknown_critical_extensions.empty()) {
    return finding(VerifyCode::unknown_critical_extension,
                   "critical extension " + c.unknown_critical_extensions.front() +
                       " is not understood (RFC 5280 §4.2)");
  }
  return std::nullopt;
}

std::optional<Finding> check_key_identifiers(const CertificateFacts& c, bool root) {
  auto wrong = [](std::string message) {
    return finding(VerifyCode::invalid_key_identifier, std::move(message));
  };
  if (c.is_ca && c.info.subject_key_id.empty()) {
    return wrong("a CA certificate without subjectKeyIdentifier (RFC 5280 §4.2.1.2)");
  }
  if (c.authority_key_id_critical || c.subject_key_id_critical) {
    return wrong(std::string(c.authority_key_id_critical ? "authority" : "subject") +
                 "KeyIdentifier is marked critical (RFC 5280 §4.2.1.1, §4.2.1.2)");
  }
  if (!root) {
    if (!c.has_authority_key_id || c.info.authority_key_id.empty()) {
      return wrong("no authorityKeyIdentifier with a keyIdentifier (RFC 5280 §4.2.1.1)");
    }
    return std::nullopt;
  }
  if (c.has_authority_key_id &&
      (c.authority_key_id_names_issuer || c.info.authority_key_id != c.info.subject_key_id)) {
    return wrong(
        "a root's authorityKeyIdentifier must hold only a keyIdentifier equal to its "
        "subjectKeyIdentifier (BR §7.1.2.1.3)");
  }
  return std::nullopt;
}

std::optional<Finding> check_names(const CertificateFacts& c, bool subscriber) {
  auto wrong = [](std::string message) {
    return finding(VerifyCode::invalid_name, std::move(message));
  };
  if (c.is_ca && c.subject_empty) {
    return wrong("a CA certificate with an empty subject (RFC 5280 §4.1.2.6)");
  }
  if (c.subject_empty && !c.has_san) {
    return wrong("an empty subject and no subjectAltName (RFC 5280 §4.1.2.6)");
  }
  if (c.has_san && c.subject_empty != c.san_critical) {
    return wrong(
        c.subject_empty
            ? "the subject is empty, so subjectAltName must be critical (RFC 5280 §4.2.1.6)"
            : "subjectAltName is critical though the subject is not empty (BR "
              "§7.1.2.7.12)");
  }
  for (const auto& name : c.info.dns_names) {
    if (name.find('_') != std::string::npos) {
      return wrong("dNSName " + name + " has an underscore (BR §7.1.4.2)");
    }
    if (!is_host_name(name, true)) {
      return wrong("dNSName " + name + " is not a valid host name (RFC 5280 §4.2.1.6)");
    }
  }
  for (const auto& address : c.san_ip_bytes) {
    if (address.size() != 4 && address.size() != 16) {
      return wrong("an iPAddress of " + std::to_string(address.size()) +
                   " bytes (4 or 16: RFC 5280 §4.2.1.6)");
    }
  }
  if (subscriber && !c.is_ca) {
    for (const auto& cn : c.common_names) {
      const bool listed = contains(c.info.dns_names, cn) ||
                          std::ranges::any_of(c.san_ip_bytes, [&](const std::string& address) {
                            return ip_address_text(address) == cn;
                          });
      if (!listed) {
        return wrong("common name \"" + cn +
                     "\" is not, character for character, one of the subjectAltNames (BR "
                     "§7.1.4.3)");
      }
    }
  }
  return std::nullopt;
}

std::optional<Finding> check_name_constraints_form(const CertificateFacts& c) {
  const NameConstraints& nc = c.name_constraints;
  if (!nc.present) {
    return std::nullopt;
  }
  auto wrong = [](std::string message) {
    return finding(VerifyCode::invalid_name_constraints, std::move(message));
  };
  if (!c.is_ca) {
    return wrong("nameConstraints in a certificate that is not a CA (RFC 5280 §4.2.1.10)");
  }
  if (!nc.critical) {
    return wrong("nameConstraints is not marked critical (RFC 5280 §4.2.1.10)");
  }
  if (nc.subtrees == 0) {
    return wrong(
        "nameConstraints with neither permitted nor excluded subtrees (RFC 5280 §4.2.1.10)");
  }
  for (const auto* list : {&nc.permitted_dns, &nc.excluded_dns}) {
    for (const auto& constraint : *list) {
      if (!valid_dns_constraint(constraint)) {
        return wrong("the DNS name constraint \"" + constraint + "\" is not a valid name");
      }
    }
  }
  for (const auto* list : {&nc.permitted_ip, &nc.excluded_ip}) {
    for (const auto& subtree : *list) {
      if (!valid_ip_subtree(subtree)) {
        return wrong("an IP address name constraint without a valid address and mask");
      }
    }
  }
  return std::nullopt;
}

std::optional<Finding> check_trust_anchor(const CertificateFacts& c, bool root, Purpose purpose,
                                          bool web_pki) {
  if (!c.has_extensions) {
    return std::nullopt;  // a v1 root: trusted as it is
  }
  if (!c.has_basic_constraints || !c.basic_constraints_critical) {
    return finding(VerifyCode::invalid_basic_constraints,
                   c.has_basic_constraints
                       ? "the trust anchor's basicConstraints is not critical (RFC 5280 §4.2.1.9)"
                       : "a trust anchor with extensions but no basicConstraints (RFC 5280 "
                         "§4.2.1.9)");
  }
  if (!c.is_ca &&
      ((c.has_key_usage && (c.key_usage & kKeyUsageKeyCertSign) != 0) || c.path_length >= 0)) {
    return finding(VerifyCode::invalid_basic_constraints,
                   "keyCertSign or pathLenConstraint without cA=TRUE (RFC 5280 §4.2.1.9)");
  }
  if (c.is_ca && c.has_key_usage && (c.key_usage & kKeyUsageKeyCertSign) == 0) {
    return finding(VerifyCode::invalid_key_usage,
                   "a CA trust anchor whose keyUsage lacks keyCertSign");
  }
  if (web_pki && root && c.has_extended_key_usage) {
    return finding(VerifyCode::invalid_eku,
                   "a root of the system's store with extendedKeyUsage (BR §7.1.2.1.2: none)");
  }
  if (!ca_eku_allows(c, purpose)) {
    return finding(
        VerifyCode::invalid_eku,
        std::string("the trust anchor's extendedKeyUsage does not allow ") + purpose_name(purpose));
  }
  if (auto f = check_key_identifiers(c, root)) {
    return f;
  }
  return check_names(c, false);
}

std::optional<Finding> check_key_strength(const CertificateFacts& c) {
  if (c.key_algorithm == "rsa") {
    if (c.key_bits < 2048 || c.key_bits % 8 != 0) {
      return finding(VerifyCode::weak_key, "RSA key of " + std::to_string(c.key_bits) +
                                               " bits (at least 2048, a multiple of 8)");
    }
    return std::nullopt;
  }
  if (c.key_algorithm == "ec") {
    if (c.ec_explicit_parameters) {
      return finding(VerifyCode::weak_key,
                     "an EC key with explicit curve parameters (RFC 5480 §2.1.1: a named curve)");
    }
    if (c.key_curve != "P-256" && c.key_curve != "P-384" && c.key_curve != "P-521") {
      return finding(VerifyCode::weak_key,
                     "ECDSA key on curve " + c.key_curve + " (P-256, P-384 or P-521 only)");
    }
    return std::nullopt;
  }
  if (c.key_algorithm == "ed25519" || c.key_algorithm == "ed448") {
    return std::nullopt;
  }
  return finding(VerifyCode::weak_key, "a " + c.key_algorithm + " key is not allowed");
}

std::optional<Finding> check_signature_algorithm(const CertificateFacts& c) {
  if (c.signature_digest == "md5" || c.signature_digest == "sha1" || c.signature_digest == "md2" ||
      c.signature_digest == "md4") {
    return finding(VerifyCode::weak_signature_algorithm,
                   "signed with " + c.signature_digest + " (SHA-256 or better required)");
  }
  return std::nullopt;
}

std::optional<Finding> check_end_entity(const CertificateFacts& c, Purpose purpose) {
  if (!c.is_ca && c.has_key_usage && (c.key_usage & kKeyUsageKeyCertSign) != 0) {
    return finding(VerifyCode::invalid_key_usage,
                   "keyCertSign in a certificate that is not a CA (RFC 5280 §4.2.1.3)");
  }
  if (c.has_key_usage &&
      (c.key_usage & (kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment)) == 0) {
    return finding(VerifyCode::invalid_key_usage,
                   "keyUsage allows neither digitalSignature nor keyEncipherment");
  }
  if (!c.has_extended_key_usage) {
    return std::nullopt;  // RFC 5280 §4.2.1.12: any purpose
  }
  if (c.extended_key_usage_critical) {
    return finding(VerifyCode::invalid_eku,
                   "extendedKeyUsage is marked critical in an end-entity certificate (BR "
                   "§7.1.2.7.10)");
  }
  if (contains(c.extended_key_usage, kOidAnyExtendedKeyUsage)) {
    return finding(VerifyCode::invalid_eku,
                   "anyExtendedKeyUsage in an end-entity certificate (BR §7.1.2.7.10)");
  }
  if (!contains(c.extended_key_usage, eku_oid(purpose))) {
    return finding(VerifyCode::invalid_eku,
                   std::string("extendedKeyUsage lacks ") +
                       (purpose == Purpose::server_auth ? "serverAuth" : "clientAuth"));
  }
  return std::nullopt;
}

std::optional<Finding> check_issuer(const CertificateFacts& c, Purpose purpose) {
  if (!c.is_ca) {
    return finding(VerifyCode::invalid_basic_constraints,
                   c.has_basic_constraints ? "issues certificates but is not a CA (cA=FALSE)"
                                           : "issues certificates but has no basicConstraints");
  }
  if (c.has_key_usage && (c.key_usage & kKeyUsageKeyCertSign) == 0) {
    return finding(VerifyCode::invalid_key_usage, "keyUsage lacks keyCertSign");
  }
  if (!ca_eku_allows(c, purpose)) {
    return finding(
        VerifyCode::invalid_eku,
        std::string("the CA's extendedKeyUsage does not allow ") + purpose_name(purpose));
  }
  return std::nullopt;
}

std::optional<Finding> check_path_length(std::span<const CertificateFacts* const> path,
                                         int max_intermediates) {
  int intermediates = 0;  // self-issued ones do not count (RFC 5280 §6.1.4 (l))
  for (std::size_t i = 1; i + 1 < path.size(); ++i) {
    intermediates += path[i]->info.self_issued ? 0 : 1;
  }
  if (max_intermediates >= 0 && intermediates > max_intermediates) {
    return finding(VerifyCode::path_length_exceeded,
                   std::to_string(intermediates) + " intermediate CAs (at most " +
                       std::to_string(max_intermediates) + " allowed)");
  }
  for (std::size_t ca = 1; ca < path.size(); ++ca) {
    if (path[ca]->path_length < 0) {
      continue;
    }
    int below = 0;  // non-self-issued intermediates between the leaf and this CA
    for (std::size_t i = 1; i < ca; ++i) {
      below += path[i]->info.self_issued ? 0 : 1;
    }
    if (below > path[ca]->path_length) {
      Finding f =
          finding(VerifyCode::path_length_exceeded, std::to_string(below) +
                                                        " intermediate CAs below a CA whose "
                                                        "pathLenConstraint is " +
                                                        std::to_string(path[ca]->path_length));
      f.certificate = static_cast<int>(ca);
      return f;
    }
  }
  return std::nullopt;
}

std::optional<Finding> check_name_constraints(std::span<const CertificateFacts* const> path) {
  // The work first, by counting alone: a hostile chain is refused before any of it is done.
  std::int64_t comparisons = 0;
  for (std::size_t ca = 1; ca < path.size(); ++ca) {
    const NameConstraints& nc = path[ca]->name_constraints;
    for (std::size_t i = 0; nc.present && i < ca; ++i) {
      comparisons += name_count(*path[i]) * nc.subtrees;
    }
    if (comparisons > kNameConstraintBudget) {
      Finding f = finding(VerifyCode::name_constraints_too_complex,
                          "checking the name constraints would take over " +
                              std::to_string(kNameConstraintBudget) + " comparisons");
      f.certificate = static_cast<int>(ca);
      return f;
    }
  }
  for (std::size_t ca = 1; ca < path.size(); ++ca) {
    const NameConstraints& nc = path[ca]->name_constraints;
    if (!nc.present) {
      continue;
    }
    for (std::size_t i = 0; i < ca; ++i) {
      if (i > 0 && path[i]->info.self_issued) {
        continue;  // RFC 5280 §6.1.3 (b): self-issued intermediates are exempt
      }
      if (std::string why = outside_constraints(*path[i], nc); !why.empty()) {
        Finding f =
            finding(VerifyCode::name_constraint_violation, why + " of " + path[ca]->info.subject);
        f.certificate = static_cast<int>(i);
        return f;
      }
    }
  }
  return std::nullopt;
}

bool dns_name_matches(std::string_view pattern_in, std::string_view host_in,
                      const PublicSuffixes& suffixes) {
  std::string host = lowercase(host_in);
  if (host.ends_with('.')) {
    host.pop_back();  // an absolute name is the same name
  }
  const std::string pattern = lowercase(pattern_in);
  if (host.empty() || pattern.empty() || host.front() == '.') {
    return false;
  }
  if (!pattern.starts_with("*.")) {
    return pattern.find('*') == std::string::npos && pattern == host;
  }
  const std::string_view suffix = std::string_view(pattern).substr(2);
  if (suffix.find('*') != std::string_view::npos || suffix.find('.') == std::string_view::npos ||
      suffixes.is_public_suffix(suffix)) {
    return false;
  }
  const std::size_t first_dot = host.find('.');
  return first_dot != std::string::npos && first_dot > 0 &&
         std::string_view(host).substr(first_dot + 1) == suffix;
}

std::optional<Finding> check_hostname(const CertificateFacts& leaf, std::string_view host,
                                      const PublicSuffixes& suffixes) {
  for (const auto& pattern : leaf.info.dns_names) {
    if (dns_name_matches(pattern, host, suffixes)) {
      return std::nullopt;
    }
  }
  std::string names;
  for (const auto& n : leaf.info.dns_names) {
    names += (names.empty() ? "" : ", ") + n;
  }
  Finding f = finding(VerifyCode::hostname_mismatch,
                      std::string(host) + " is not among the certificate's DNS names (" +
                          (names.empty() ? "none" : names) + ")");
  f.certificate = 0;
  return f;
}

std::optional<Finding> check_ip_address(const CertificateFacts& leaf, std::string_view address) {
  const std::string text(address);
  const auto wanted = ip_address_bytes(text);
  if (wanted && contains(leaf.san_ip_bytes, *wanted)) {
    return std::nullopt;
  }
  Finding f =
      finding(VerifyCode::hostname_mismatch, text + " is not among the certificate's IP addresses");
  f.certificate = 0;
  return f;
}

bool is_host_name(std::string_view name, bool wildcard) {
  if (wildcard && name.starts_with("*.")) {
    name.remove_prefix(2);
  }
  if (name.empty() || name.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::ranges::all_of(label, [](char ch) {
          return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-';
        })) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

bool dns_within_subtree(std::string_view name, std::string_view constraint) {
  // Without copies: the worst chain the budget allows compares 250,000 pairs.
  auto same = [](std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return std::ranges::equal(a, b, [&](char x, char y) { return lower(x) == lower(y); });
  };
  if (constraint.empty()) {
    return true;
  }
  if (name.size() < constraint.size()) {
    return false;
  }
  const std::string_view tail = name.substr(name.size() - constraint.size());
  if (constraint.front() == '.') {
    return name.size() > constraint.size() && same(tail, constraint);
  }
  return same(tail, constraint) &&
         (name.size() == constraint.size() || name[name.size() - constraint.size() - 1] == '.');
}

bool ip_within_subtree(std::string_view address, const IpSubtree& subtree) {
  if (address.size() != subtree.address.size() || address.size() != subtree.mask.size()) {
    return false;
  }
  for (std::size_t i = 0; i < address.size(); ++i) {
    if (((address[i] ^ subtree.address[i]) & subtree.mask[i]) != 0) {
      return false;
    }
  }
  return true;
}

VerifyCode most_severe(std::span<const Finding> findings) {
  // Earlier is told first: what makes the path meaningless, then what makes it
  // unusable now, then policy.
  static constexpr VerifyCode kOrder[] = {
      VerifyCode::malformed,
      VerifyCode::bad_signature,
      VerifyCode::missing_intermediate,
      VerifyCode::untrusted_root,
      VerifyCode::revoked,
      VerifyCode::expired,
      VerifyCode::not_yet_valid,
      VerifyCode::invalid_basic_constraints,
      VerifyCode::path_length_exceeded,
      VerifyCode::name_constraints_too_complex,
      VerifyCode::invalid_name_constraints,
      VerifyCode::name_constraint_violation,
      VerifyCode::unknown_critical_extension,
      VerifyCode::invalid_key_identifier,
      VerifyCode::invalid_name,
      VerifyCode::invalid_key_usage,
      VerifyCode::invalid_eku,
      VerifyCode::weak_key,
      VerifyCode::weak_signature_algorithm,
      VerifyCode::hostname_mismatch,
      VerifyCode::revocation_unavailable,
  };
  for (VerifyCode code : kOrder) {
    if (std::ranges::any_of(findings, [code](const Finding& f) { return f.code == code; })) {
      return code;
    }
  }
  return VerifyCode::ok;
}

}  // namespace ck::validator

#include "validator/rules.h"

#include "core/clock.h"
#include "core/ip_address.h"

#include <algorithm>

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

Finding finding(VerifyCode code, std::string message) {
  return Finding{code, -1, std::move(message)};
}

std::string ip_text(std::string_view bytes) {
  return ip_address_text(bytes).value_or("(malformed address)");
}

// The DNS and IP names of `c` that `nc` does not allow, as a message; "" when all fit.
std::string outside_constraints(const CertificateFacts& c, const NameConstraints& nc) {
  for (const auto& name : c.info.dns_names) {
    auto within = [&](const std::string& constraint) {
      return dns_within_subtree(name, constraint);
    };
    if (std::ranges::any_of(nc.excluded_dns, within)) {
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
  return "";
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
  if (c.invalid_extensions) {
    return finding(VerifyCode::malformed,
                   "an extension is repeated or cannot be decoded (RFC 5280 §4.2)");
  }
  if (c.signature_algorithm_mismatch) {
    return finding(VerifyCode::malformed,
                   "signatureAlgorithm differs from tbsCertificate.signature (RFC 5280 §4.1.1.2)");
  }
  return std::nullopt;
}

std::optional<Finding> check_critical_extensions(const CertificateFacts& c) {
  if (c.unknown_critical_extensions.empty()) {
    return std::nullopt;
  }
  return finding(VerifyCode::unknown_critical_extension, "critical extension " +
                                                             c.unknown_critical_extensions.front() +
                                                             " is not understood (RFC 5280 §4.2)");
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
  if (c.is_ca) {
    return finding(VerifyCode::invalid_basic_constraints,
                   "an end-entity certificate must not be a CA (basicConstraints cA=TRUE)");
  }
  if (c.has_key_usage &&
      (c.key_usage & (kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment)) == 0) {
    return finding(VerifyCode::invalid_key_usage,
                   "keyUsage allows neither digitalSignature nor keyEncipherment");
  }
  if (!c.has_extended_key_usage) {
    return finding(VerifyCode::invalid_eku,
                   "no extendedKeyUsage (required in end-entity certificates)");
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
  if (c.has_extended_key_usage && !contains(c.extended_key_usage, eku_oid(purpose)) &&
      !contains(c.extended_key_usage, kOidAnyExtendedKeyUsage)) {
    return finding(VerifyCode::invalid_eku,
                   std::string("the CA's extendedKeyUsage does not allow ") +
                       (purpose == Purpose::server_auth ? "serverAuth" : "clientAuth"));
  }
  return std::nullopt;
}

std::optional<Finding> check_path_length(std::span<const CertificateFacts* const> path,
                                         int max_intermediates) {
  const int intermediates = std::max(0, static_cast<int>(path.size()) - 2);
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
  for (std::size_t ca = 1; ca < path.size(); ++ca) {
    const NameConstraints& nc = path[ca]->name_constraints;
    if (!nc.present) {
      continue;
    }
    if (!nc.unsupported_forms.empty()) {
      Finding f = finding(VerifyCode::name_constraint_violation,
                          "name constraints of form " + nc.unsupported_forms.front() +
                              " are not evaluated by certkeeper: refused rather than guessed");
      f.certificate = static_cast<int>(ca);
      return f;
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

bool dns_within_subtree(std::string_view name_in, std::string_view constraint_in) {
  const std::string name = lowercase(name_in);
  const std::string constraint = lowercase(constraint_in);
  if (constraint.empty()) {
    return true;
  }
  if (constraint.front() == '.') {
    return name.size() > constraint.size() && name.ends_with(constraint);
  }
  return name == constraint || name.ends_with("." + constraint);
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
      VerifyCode::name_constraint_violation,
      VerifyCode::unknown_critical_extension,
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

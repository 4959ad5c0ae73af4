#include "validator/certificate_facts.h"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <array>

namespace ck::validator {
namespace {

std::string oid_text(const ASN1_OBJECT* object) {
  std::array<char, 128> buffer{};
  const int n = OBJ_obj2txt(buffer.data(), static_cast<int>(buffer.size()), object, 1);
  return n > 0 ? std::string(buffer.data()) : std::string("?");
}

std::string octets(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

void read_serial(const X509& cert, CertificateFacts& f) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(&cert);
  const std::string value = octets(serial);
  f.serial_negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
  f.serial_zero = value.find_first_not_of('\0') == std::string::npos;
  // DER puts a 0x00 before a positive value whose top bit is set.
  const bool pad = !f.serial_negative && !value.empty() && (value[0] & 0x80) != 0;
  f.serial_octets = static_cast<int>(value.size()) + (pad ? 1 : 0);
}

void read_key(const X509& cert, CertificateFacts& f) {
  const EVP_PKEY* key = X509_get0_pubkey(&cert);
  if (!key) {
    return;
  }
  f.key_bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: f.key_algorithm = "rsa"; break;
    case EVP_PKEY_DSA: f.key_algorithm = "dsa"; break;
    case EVP_PKEY_ED25519: f.key_algorithm = "ed25519"; break;
    case EVP_PKEY_ED448: f.key_algorithm = "ed448"; break;
    case EVP_PKEY_EC: {
      f.key_algorithm = "ec";
      std::array<char, 64> group{};
      if (EVP_PKEY_get_group_name(key, group.data(), group.size(), nullptr) == 1) {
        const std::string name = group.data();
        f.key_curve = name == "prime256v1"  ? "P-256"
                      : name == "secp384r1" ? "P-384"
                      : name == "secp521r1" ? "P-521"
                                            : name;
      }
      break;
    }
    default: f.key_algorithm = EVP_PKEY_get0_type_name(key); break;
  }
}

void read_signature_algorithm(const X509& cert, CertificateFacts& f) {
  int digest_nid = NID_undef;
  // X509_get_signature_info caches into the object; it is logically const.
  if (X509_get_signature_info(const_cast<X509*>(&cert), &digest_nid, nullptr, nullptr, nullptr) ==
          1 &&
      digest_nid != NID_undef) {
    f.signature_digest = OBJ_nid2sn(digest_nid);
    for (char& c : f.signature_digest) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  const X509_ALGOR* outer = nullptr;
  X509_get0_signature(nullptr, &outer, &cert);
  f.signature_algorithm_mismatch = X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(&cert)) != 0;
}

// Whether the extension `nid` is there, and critical.
struct Presence {
  bool present = false;
  bool critical = false;
};
Presence presence(const X509& cert, int nid) {
  const int at = X509_get_ext_by_NID(&cert, nid, -1);
  if (at < 0) {
    return {};
  }
  return {true, X509_EXTENSION_get_critical(X509_get_ext(&cert, at)) == 1};
}

// RFC 5280 §7.1 comparison folds case and white space in strings.
std::string folded(const ASN1_STRING* value) {
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n < 0) {
    ERR_clear_error();
    return "#" + octets(value);  // not a string type: compared as it is
  }
  const ossl::OpensslString owned(reinterpret_cast<char*>(utf8));
  std::string out;
  for (int i = 0; i < n; ++i) {
    const char c = owned.get()[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') {
        out += ' ';
      }
    } else {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

DistinguishedName distinguished_name(const X509_NAME* name) {
  DistinguishedName dn;
  int rdn = -1;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    if (X509_NAME_ENTRY_set(entry) != rdn) {
      rdn = X509_NAME_ENTRY_set(entry);
      dn.emplace_back();
    }
    dn.back().push_back(oid_text(X509_NAME_ENTRY_get_object(entry)) + "=" +
                        folded(X509_NAME_ENTRY_get_data(entry)));
  }
  for (auto& attributes : dn) {
    std::ranges::sort(attributes);
  }
  return dn;
}

// The name of a GENERAL_NAME form that is neither DNS, IP nor directoryName.
std::string other_form(int type) {
  switch (type) {
    case GEN_EMAIL: return "email";
    case GEN_URI: return "URI";
    case GEN_OTHERNAME: return "otherName";
    case GEN_X400: return "x400Address";
    case GEN_EDIPARTY: return "ediPartyName";
    case GEN_RID: return "registeredID";
    default: return "unknown";
  }
}

void add_form(std::vector<std::string>& forms, std::string form) {
  if (std::ranges::find(forms, form) == forms.end()) {
    forms.push_back(std::move(form));
  }
}

void read_general_subtrees(STACK_OF(GENERAL_SUBTREE) * subtrees, bool permitted,
                           NameConstraints& out) {
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(subtrees); ++i) {
    const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(subtrees, i)->base;
    ++out.subtrees;
    if (base->type == GEN_DNS) {
      (permitted ? out.permitted_dns : out.excluded_dns).push_back(octets(base->d.dNSName));
    } else if (base->type == GEN_IPADD) {
      // Address then mask; an odd or wrong length is kept as it is, to be refused.
      const std::string raw = octets(base->d.iPAddress);
      const std::size_t half = raw.size() / 2;
      (permitted ? out.permitted_ip : out.excluded_ip)
          .push_back({raw.substr(0, raw.size() - half), raw.substr(raw.size() - half)});
    } else if (base->type == GEN_DIRNAME) {
      (permitted ? out.permitted_dirs : out.excluded_dirs)
          .push_back(distinguished_name(base->d.directoryName));
    } else {
      add_form(out.other_forms, other_form(base->type));
    }
  }
}

void read_name_constraints(const X509& cert, CertificateFacts& f) {
  int critical = -1;
  ossl::NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(&cert, NID_name_constraints, &critical, nullptr)));
  if (!nc) {
    return;
  }
  auto& out = f.name_constraints;
  out.present = true;
  out.critical = critical == 1;
  read_general_subtrees(nc->permittedSubtrees, true, out);
  read_general_subtrees(nc->excludedSubtrees, false, out);
}

void read_subject(const X509& cert, CertificateFacts& f) {
  const X509_NAME* subject = X509_get_subject_name(&cert);
  f.subject_empty = X509_NAME_entry_count(subject) == 0;
  f.subject_dn = distinguished_name(subject);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    if (nid == NID_commonName) {
      unsigned char* utf8 = nullptr;
      const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
      const ossl::OpensslString owned(reinterpret_cast<char*>(utf8));
      f.common_names.push_back(n < 0 ? std::string("?") : std::string(owned.get(), n));
    } else if (nid == NID_pkcs9_emailAddress) {
      add_form(f.other_name_forms, "email");  // RFC 5280 §4.2.1.10: constrained as one
    }
  }
}

void read_key_identifiers(const X509& cert, CertificateFacts& f) {
  const Presence aki = presence(cert, NID_authority_key_identifier);
  f.has_authority_key_id = aki.present;
  f.authority_key_id_critical = aki.critical;
  ossl::AuthorityKeyId decoded(static_cast<AUTHORITY_KEYID*>(
      X509_get_ext_d2i(&cert, NID_authority_key_identifier, nullptr, nullptr)));
  f.authority_key_id_names_issuer = decoded && (decoded->issuer || decoded->serial);
  f.subject_key_id_critical = presence(cert, NID_subject_key_identifier).critical;
}

void read_other_extensions(const X509& cert, CertificateFacts& f) {
  f.has_extensions = X509_get_ext_count(&cert) > 0;
  f.basic_constraints_critical = presence(cert, NID_basic_constraints).critical;
  f.extended_key_usage_critical = presence(cert, NID_ext_key_usage).critical;
  const Presence policy = presence(cert, NID_policy_constraints);
  f.has_policy_constraints = policy.present;
  f.policy_constraints_critical = policy.critical;
  // Every extension OpenSSL knows must decode, to its last byte: one that does
  // not is never skipped as if it were absent.
  for (int i = 0; i < X509_get_ext_count(&cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(&cert, i);
    const X509V3_EXT_METHOD* method = X509V3_EXT_get(ext);
    if (!method || (!method->it && !method->d2i)) {
      continue;
    }
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    const unsigned char* start = ASN1_STRING_get0_data(data);
    const unsigned char* p = start;
    const long length = ASN1_STRING_length(data);
    ossl::ExtensionValue value(method->it ? static_cast<void*>(ASN1_item_d2i(
                                                nullptr, &p, length, ASN1_ITEM_ptr(method->it)))
                                          : method->d2i(nullptr, &p, length),
                               ossl::ExtensionValueFree{method});
    if (!value || p != start + length) {
      f.undecodable_extensions.push_back(oid_text(X509_EXTENSION_get_object(ext)));
    }
  }
}

void read_usages(const X509& cert, CertificateFacts& f) {
  X509* mutable_cert = const_cast<X509*>(&cert);  // extension flags are cached
  const std::uint32_t flags = X509_get_extension_flags(mutable_cert);
  f.invalid_extensions = (flags & EXFLAG_INVALID) != 0;
  f.has_basic_constraints = (flags & EXFLAG_BCONS) != 0;
  f.is_ca = (flags & EXFLAG_CA) != 0;
  f.path_length = static_cast<int>(X509_get_pathlen(mutable_cert));
  f.has_key_usage = (flags & EXFLAG_KUSAGE) != 0;
  f.key_usage = f.has_key_usage ? X509_get_key_usage(mutable_cert) : 0;
  ossl::ExtendedKeyUsage eku(static_cast<STACK_OF(ASN1_OBJECT)*>(
      X509_get_ext_d2i(&cert, NID_ext_key_usage, nullptr, nullptr)));
  f.has_extended_key_usage = eku != nullptr;
  for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    f.extended_key_usage.push_back(oid_text(sk_ASN1_OBJECT_value(eku.get(), i)));
  }
}

void read_locations(const X509& cert, CertificateFacts& f) {
  ossl::AuthorityInfoAccess aia(static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(&cert, NID_info_access, nullptr, nullptr)));
  for (int i = 0; aia && i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
    if (ad->location->type != GEN_URI) {
      continue;
    }
    const int method = OBJ_obj2nid(ad->method);
    auto& urls = method == NID_ad_OCSP ? f.ocsp_urls : f.ca_issuer_urls;
    if (method == NID_ad_OCSP || method == NID_ad_ca_issuers) {
      urls.push_back(octets(ad->location->d.uniformResourceIdentifier));
    }
  }
  ossl::CrlDistPoints points(static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(&cert, NID_crl_distribution_points, nullptr, nullptr)));
  for (int i = 0; points && i < sk_DIST_POINT_num(points.get()); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
    if (!point->distpoint || point->distpoint->type != 0) {
      continue;  // a relative name needs the issuer's name: not a fetchable URL
    }
    const GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type == GEN_URI) {
        f.crl_urls.push_back(octets(name->d.uniformResourceIdentifier));
      }
    }
  }
  ossl::TlsFeature features(static_cast<STACK_OF(ASN1_INTEGER)*>(
      X509_get_ext_d2i(&cert, NID_tlsfeature, nullptr, nullptr)));
  for (int i = 0; features && i < sk_ASN1_INTEGER_num(features.get()); ++i) {
    f.must_staple |= ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features.get(), i)) == 5;
  }
}

void read_sans(const X509& cert, CertificateFacts& f) {
  const Presence san = presence(cert, NID_subject_alt_name);
  f.has_san = san.present;
  f.san_critical = san.critical;
  ossl::GeneralNames names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_IPADD) {
      f.san_ip_bytes.push_back(octets(name->d.iPAddress));
    } else if (name->type == GEN_DIRNAME) {
      f.san_dirs.push_back(distinguished_name(name->d.directoryName));
    } else if (name->type != GEN_DNS) {
      add_form(f.other_name_forms, other_form(name->type));
    }
  }
}

// RFC 5480 §2.1.1: the parameters of an id-ecPublicKey are a namedCurve OID.
void read_ec_parameters(const X509& cert, CertificateFacts& f) {
  ASN1_OBJECT* algorithm = nullptr;
  X509_ALGOR* parameters = nullptr;
  if (X509_PUBKEY_get0_param(&algorithm, nullptr, nullptr, &parameters,
                             X509_get_X509_PUBKEY(&cert)) != 1 ||
      OBJ_obj2nid(algorithm) != NID_X9_62_id_ecPublicKey) {
    return;
  }
  int type = V_ASN1_UNDEF;
  X509_ALGOR_get0(nullptr, &type, nullptr, parameters);
  f.ec_explicit_parameters = type != V_ASN1_OBJECT;
}

void read_critical_extensions(const X509& cert, CertificateFacts& f) {
  for (int i = 0; i < X509_get_ext_count(&cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(&cert, i);
    // OpenSSL's list leaves out the key identifiers, which the rules read
    // (and refuse when critical).
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    const bool key_identifier =
        nid == NID_authority_key_identifier || nid == NID_subject_key_identifier;
    if (X509_EXTENSION_get_critical(ext) == 1 && X509_supported_extension(ext) != 1 &&
        !key_identifier) {
      f.unknown_critical_extensions.push_back(oid_text(X509_EXTENSION_get_object(ext)));
    }
  }
}

}  // namespace

Result<CertificateFacts> read_facts(const X509& cert) {
  CK_TRY(info, describe_certificate(cert));
  CertificateFacts f;
  f.info = std::move(info);
  f.version = static_cast<int>(X509_get_version(&cert)) + 1;
  read_serial(cert, f);
  read_key(cert, f);
  read_signature_algorithm(cert, f);
  read_usages(cert, f);
  read_name_constraints(cert, f);
  read_subject(cert, f);
  read_sans(cert, f);
  read_key_identifiers(cert, f);
  read_other_extensions(cert, f);
  read_ec_parameters(cert, f);
  read_locations(cert, f);
  read_critical_extensions(cert, f);
  ERR_clear_error();  // absent extensions leave decode notes behind
  return f;
}

Result<PreparedCertificate> prepare(ossl::X509Ptr cert) {
  CK_TRY(facts, read_facts(*cert));
  return PreparedCertificate{std::move(cert), std::move(facts)};
}

}  // namespace ck::validator

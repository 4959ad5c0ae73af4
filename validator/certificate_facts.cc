#include "validator/certificate_facts.h"

#include <openssl/err.h>
#include <openssl/objects.h>

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

void read_general_subtrees(STACK_OF(GENERAL_SUBTREE) * subtrees, std::vector<std::string>& dns,
                           std::vector<IpSubtree>& ips, std::vector<std::string>& unsupported) {
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(subtrees); ++i) {
    const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(subtrees, i)->base;
    if (base->type == GEN_DNS) {
      dns.push_back(octets(base->d.dNSName));
    } else if (base->type == GEN_IPADD) {
      const std::string raw = octets(base->d.iPAddress);
      const std::size_t half = raw.size() / 2;
      ips.push_back({raw.substr(0, half), raw.substr(half)});
    } else {
      unsupported.push_back(base->type == GEN_EMAIL     ? "email"
                            : base->type == GEN_URI     ? "URI"
                            : base->type == GEN_DIRNAME ? "dirName"
                                                        : "other");
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
  read_general_subtrees(nc->permittedSubtrees, out.permitted_dns, out.permitted_ip,
                        out.unsupported_forms);
  read_general_subtrees(nc->excludedSubtrees, out.excluded_dns, out.excluded_ip,
                        out.unsupported_forms);
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

void read_san_ips(const X509& cert, CertificateFacts& f) {
  ossl::GeneralNames names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_IPADD) {
      f.san_ip_bytes.push_back(octets(name->d.iPAddress));
    }
  }
}

void read_critical_extensions(const X509& cert, CertificateFacts& f) {
  for (int i = 0; i < X509_get_ext_count(&cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(&cert, i);
    if (X509_EXTENSION_get_critical(ext) == 1 && X509_supported_extension(ext) != 1) {
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
  read_san_ips(cert, f);
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

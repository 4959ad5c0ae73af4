#include "core/x509_info.h"

#include <openssl/err.h>

#include <algorithm>
#include <ctime>

#include "core/ip_address.h"
#include "core/keys.h"

namespace ck {
namespace {

std::string common_name(const X509_NAME* name) {
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) {
    return {};
  }
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    ERR_clear_error();
    return {};
  }
  ossl::OpensslString owner(reinterpret_cast<char*>(utf8));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

std::string octets_hex(const ASN1_OCTET_STRING* octets) {
  if (!octets) {
    return {};
  }
  return ossl::hex(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(octets)),
                                    static_cast<std::size_t>(ASN1_STRING_length(octets))));
}

std::string ip_to_string(const ASN1_OCTET_STRING* ip) {
  const std::string_view bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ip)),
                               static_cast<std::size_t>(ASN1_STRING_length(ip)));
  return ip_address_text(bytes).value_or("invalid-ip(" + octets_hex(ip) + ")");
}

void read_subject_alt_names(const X509& cert, CertificateInfo& info) {
  ossl::GeneralNames names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) {
    return;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                  static_cast<std::size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      info.ip_addresses.push_back(ip_to_string(name->d.iPAddress));
    }
  }
}

Result<std::string> serial_hex(const X509& cert) {
  ossl::BigNum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(&cert), nullptr));
  if (!bn) {
    return std::unexpected(ossl::error(Errc::parse, "unreadable serial number"));
  }
  ossl::OpensslString text(BN_bn2hex(bn.get()));
  if (!text) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot format serial number"));
  }
  std::string out(text.get());
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

Result<std::int64_t> asn1_time_to_unix(const ASN1_TIME& time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(&time, &tm) != 1) {
    return std::unexpected(ossl::error(Errc::parse, "invalid time encoding"));
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

std::vector<std::string> CertificateInfo::subject_alt_names() const {
  std::vector<std::string> out;
  for (const auto& dns : dns_names) {
    out.push_back("DNS:" + dns);
  }
  for (const auto& ip : ip_addresses) {
    out.push_back("IP:" + ip);
  }
  return out;
}

std::string CertificateInfo::display_name() const {
  if (!dns_names.empty()) {
    return dns_names.front();
  }
  if (!ip_addresses.empty()) {
    return ip_addresses.front();
  }
  if (!subject_cn.empty()) {
    return subject_cn;
  }
  return sha256.substr(0, 16);
}

std::string name_to_string(const X509_NAME* name) {
  ossl::Bio out = ossl::output_bio();
  if (!name || !out ||
      X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    ERR_clear_error();
    return {};
  }
  return ossl::bio_contents(out.get());
}

Result<CertificateInfo> describe_certificate(const X509& cert) {
  CertificateInfo info;
  CK_TRY(der, ossl::x509_to_der(cert));
  info.sha256 = ossl::hex(ossl::sha256(der));
  CK_TRY(serial, serial_hex(cert));
  info.serial = std::move(serial);
  info.subject = name_to_string(X509_get_subject_name(&cert));
  info.issuer = name_to_string(X509_get_issuer_name(&cert));
  info.subject_cn = common_name(X509_get_subject_name(&cert));
  info.issuer_cn = common_name(X509_get_issuer_name(&cert));
  read_subject_alt_names(cert, info);
  // X509_get_extension_flags caches parsed extensions; the object is logically const.
  X509* mutable_cert = const_cast<X509*>(&cert);
  uint32_t flags = X509_get_extension_flags(mutable_cert);
  info.is_ca = (flags & EXFLAG_CA) != 0;
  info.self_issued = (flags & EXFLAG_SI) != 0;
  info.subject_key_id = octets_hex(X509_get0_subject_key_id(mutable_cert));
  info.authority_key_id = octets_hex(X509_get0_authority_key_id(mutable_cert));
  CK_TRY(not_before, asn1_time_to_unix(*X509_get0_notBefore(&cert)));
  CK_TRY(not_after, asn1_time_to_unix(*X509_get0_notAfter(&cert)));
  info.not_before = not_before;
  info.not_after = not_after;
  const EVP_PKEY* key = X509_get0_pubkey(&cert);
  if (!key) {
    return std::unexpected(ossl::error(Errc::parse, "unsupported or invalid public key"));
  }
  info.key_type = describe_key(*key);
  CK_TRY(key_fingerprint, public_key_fingerprint(cert));
  info.public_key_sha256 = std::move(key_fingerprint);
  ERR_clear_error();
  return info;
}

}  // namespace ck

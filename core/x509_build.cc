#include "core/x509_build.h"

#include <openssl/err.h>
#include <openssl/rand.h>

namespace ck {
namespace {

Status set_serial(X509& cert, const std::string& serial_hex) {
  ossl::BigNum bn;
  if (serial_hex.empty()) {
    bn.reset(BN_new());
    if (bn && BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      bn.reset();
    }
  } else {
    BIGNUM* parsed = nullptr;
    if (BN_hex2bn(&parsed, serial_hex.c_str()) != 0) {
      bn.reset(parsed);
    }
  }
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(&cert))) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot set serial number"));
  }
  return {};
}

Status set_names(X509& cert, const CertificateSpec& spec, const X509* issuer) {
  X509_NAME* subject = X509_get_subject_name(&cert);
  auto add = [&](const char* field, const std::string& value) {
    return value.empty() ||
           X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                      0) == 1;
  };
  if (!add("O", spec.organization) || !add("CN", spec.common_name)) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot set subject name"));
  }
  const X509_NAME* issuer_name = issuer ? X509_get_subject_name(issuer) : subject;
  if (X509_set_issuer_name(&cert, issuer_name) != 1) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot set issuer name"));
  }
  return {};
}

Status set_validity(X509& cert, const CertificateSpec& spec) {
  if (!ASN1_TIME_set(X509_getm_notBefore(&cert), static_cast<time_t>(spec.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(&cert), static_cast<time_t>(spec.not_after))) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot set validity"));
  }
  return {};
}

std::string subject_alt_name_value(const CertificateSpec& spec) {
  std::string value;
  for (const auto& dns : spec.dns_names) {
    value += (value.empty() ? "DNS:" : ",DNS:") + dns;
  }
  for (const auto& ip : spec.ip_addresses) {
    value += (value.empty() ? "IP:" : ",IP:") + ip;
  }
  return value;
}

std::vector<std::pair<std::string, std::string>> extension_list(const CertificateSpec& spec,
                                                                const EVP_PKEY& subject_key) {
  std::vector<std::pair<std::string, std::string>> list;
  auto add = [&](const char* name, const std::string& value, const std::string& by_default) {
    if (value != "-") {
      list.emplace_back(name, value.empty() ? by_default : value);
    }
  };
  if (spec.is_ca) {
    std::string bc = "critical,CA:TRUE";
    if (spec.path_length >= 0) {
      bc += ",pathlen:" + std::to_string(spec.path_length);
    }
    add("basicConstraints", spec.basic_constraints, bc);
    add("keyUsage", spec.key_usage, "critical,keyCertSign,cRLSign");
    add("extendedKeyUsage", spec.extended_key_usage.empty() ? "-" : spec.extended_key_usage, "");
  } else {
    add("basicConstraints", spec.basic_constraints, "critical,CA:FALSE");
    bool rsa = EVP_PKEY_get_base_id(&subject_key) == EVP_PKEY_RSA;
    add("keyUsage", spec.key_usage,
        rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature");
    add("extendedKeyUsage", spec.extended_key_usage, "serverAuth");
  }
  add("subjectKeyIdentifier", spec.subject_key_id_hex, "hash");
  add("authorityKeyIdentifier", spec.authority_key_id, "keyid:always");
  if (std::string san = subject_alt_name_value(spec); !san.empty()) {
    const bool empty_subject = spec.common_name.empty() && spec.organization.empty();
    list.emplace_back("subjectAltName",
                      (spec.san_critical.value_or(empty_subject) ? "critical," : "") + san);
  }
  list.insert(list.end(), spec.extensions.begin(), spec.extensions.end());
  return list;
}

Status add_extensions(X509& cert, const CertificateSpec& spec, const X509* issuer,
                      const EVP_PKEY& subject_key) {
  ossl::Conf conf;
  if (!spec.config.empty()) {
    conf.reset(NCONF_new(nullptr));
    ossl::Bio text = ossl::memory_bio(spec.config);
    long bad_line = 0;
    if (!conf || !text || NCONF_load_bio(conf.get(), text.get(), &bad_line) != 1) {
      return std::unexpected(ossl::error(Errc::crypto, "cannot read the extension configuration"));
    }
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, const_cast<X509*>(issuer ? issuer : &cert), &cert, nullptr, nullptr, 0);
  X509V3_set_nconf(&ctx, conf.get());
  for (const auto& [name, value] : extension_list(spec, subject_key)) {
    ossl::X509ExtensionPtr ext(X509V3_EXT_nconf(conf.get(), &ctx, name.c_str(), value.c_str()));
    if (!ext || X509_add_ext(&cert, ext.get(), -1) != 1) {
      return std::unexpected(
          ossl::error(Errc::crypto, "cannot add extension " + name + "=" + value));
    }
  }
  return {};
}

const EVP_MD* signing_digest(const EVP_PKEY& key, const std::string& digest) {
  int id = EVP_PKEY_get_base_id(&key);
  if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) {
    return nullptr;  // EdDSA signs the message itself
  }
  return EVP_get_digestbyname(digest.c_str());
}

}  // namespace

Result<ossl::X509Ptr> build_certificate(const CertificateSpec& spec, EVP_PKEY& subject_key,
                                        const X509* issuer, EVP_PKEY& issuer_key) {
  ossl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_pubkey(cert.get(), &subject_key) != 1) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot create certificate"));
  }
  CK_TRY_STATUS(set_serial(*cert, spec.serial_hex));
  CK_TRY_STATUS(set_names(*cert, spec, issuer));
  CK_TRY_STATUS(set_validity(*cert, spec));
  CK_TRY_STATUS(add_extensions(*cert, spec, issuer, subject_key));
  const EVP_MD* md = signing_digest(issuer_key, spec.digest);
  if (X509_sign(cert.get(), &issuer_key, md) <= 0) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot sign certificate"));
  }
  return cert;
}

}  // namespace ck

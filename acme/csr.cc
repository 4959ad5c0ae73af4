#include "acme/csr.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/ip_address.h"
#include "core/x509_info.h"

namespace ck::acme {
namespace {

std::string subject_alt_names(const std::vector<Identifier>& identifiers) {
  std::string san;
  for (const auto& id : identifiers) {
    san += (san.empty() ? "" : ",") + std::string(id.type == "ip" ? "IP:" : "DNS:") + id.value;
  }
  return san;
}

Result<std::string> to_der(X509_REQ& req) {
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(&req, &der);
  if (len <= 0) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot encode CSR"));
  }
  ossl::OpensslString owner(reinterpret_cast<char*>(der));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

}  // namespace

Result<std::string> build_csr(EVP_PKEY& key, const std::vector<Identifier>& identifiers) {
  if (identifiers.empty()) {
    return fail(Errc::invalid_argument, "a certificate needs at least one identifier");
  }
  ossl::X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(req.get(), &key) != 1) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot create CSR"));
  }
  for (const auto& id : identifiers) {
    if (id.type == "dns" && id.value.size() <= 64) {
      X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(id.value.c_str()), -1, -1,
                                 0);
      break;
    }
  }
  const std::string san = subject_alt_names(identifiers);
  ossl::X509ExtensionPtr ext(
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
  ossl::X509ExtensionStack exts(sk_X509_EXTENSION_new_null());
  if (!ext || !exts || !sk_X509_EXTENSION_push(exts.get(), ext.get())) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot build subjectAltName " + san));
  }
  static_cast<void>(ext.release());  // now owned by the stack
  const int id = EVP_PKEY_get_base_id(&key);
  const EVP_MD* md = (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
      X509_REQ_sign(req.get(), &key, md) <= 0) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot sign CSR"));
  }
  return to_der(*req);
}

Result<std::vector<Identifier>> csr_identifiers(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) {
    return std::unexpected(ossl::error(Errc::parse, "not a valid CSR"));
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (!key || X509_REQ_verify(req.get(), key) != 1) {
    return std::unexpected(ossl::error(Errc::parse, "the CSR's signature does not verify"));
  }
  ossl::X509ExtensionStack exts(X509_REQ_get_extensions(req.get()));
  std::vector<Identifier> ids;
  ossl::GeneralNames names(exts ? static_cast<GENERAL_NAMES*>(X509V3_get_d2i(
                                      exts.get(), NID_subject_alt_name, nullptr, nullptr))
                                : nullptr);
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_STRING* s = name->d.dNSName;
      ids.push_back({"dns", std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                        static_cast<std::size_t>(ASN1_STRING_length(s)))});
    } else if (name->type == GEN_IPADD) {
      const ASN1_STRING* s = name->d.iPAddress;
      if (auto text = ip_address_text(
              std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<std::size_t>(ASN1_STRING_length(s))))) {
        ids.push_back({"ip", *text});
      }
    }
  }
  ERR_clear_error();
  if (ids.empty()) {
    return fail(Errc::invalid_argument,
                "the CSR names no DNS name or IP address in subjectAltName");
  }
  return ids;
}

Result<std::string> csr_der_from_file_data(std::string_view data) {
  if (data.find("-----BEGIN CERTIFICATE REQUEST-----") == std::string_view::npos &&
      data.find("-----BEGIN NEW CERTIFICATE REQUEST-----") == std::string_view::npos) {
    return std::string(data);  // DER
  }
  ossl::Bio bio = ossl::memory_bio(data);
  ossl::X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    return std::unexpected(ossl::error(Errc::parse, "not a valid PEM CSR"));
  }
  return to_der(*req);
}

}  // namespace ck::acme

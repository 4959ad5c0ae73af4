#pragma once
// Owning handles for every OpenSSL type certkeeper uses, and the bridge from the
// OpenSSL error queue into ck::Error. Wrap a get1/new result at once; release()
// into a set0 call only after that call succeeded. Borrowed objects pass as
// references or raw pointers that are never freed by the callee.

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/param_build.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ck::ossl {

template <auto FreeFn>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    FreeFn(p);
  }
};

using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using Asn1Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using Asn1Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using Asn1Enumerated = std::unique_ptr<ASN1_ENUMERATED, Deleter<ASN1_ENUMERATED_free>>;
using Asn1OctetString = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using BigNum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using GeneralNames = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using AuthorityKeyId = std::unique_ptr<AUTHORITY_KEYID, Deleter<AUTHORITY_KEYID_free>>;
using BasicConstraints = std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS_free>>;
using OcspRequest = std::unique_ptr<OCSP_REQUEST, Deleter<OCSP_REQUEST_free>>;
using OcspResponse = std::unique_ptr<OCSP_RESPONSE, Deleter<OCSP_RESPONSE_free>>;
using OcspBasicResponse = std::unique_ptr<OCSP_BASICRESP, Deleter<OCSP_BASICRESP_free>>;
using OcspCertId = std::unique_ptr<OCSP_CERTID, Deleter<OCSP_CERTID_free>>;
using SslCtx = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX_free>>;
using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using Ssl = std::unique_ptr<SSL, Deleter<SSL_free>>;
// Named free functions rather than lambdas as template arguments: one such
// lambda deleter declared inside a function body was seen never to run
// (LeakSanitizer), and one style is simpler anyway.
inline void free_openssl_string(char* p) {
  OPENSSL_free(p);
}
inline void free_x509_stack(STACK_OF(X509) * p) {
  sk_X509_pop_free(p, X509_free);
}
inline void free_extension_stack(STACK_OF(X509_EXTENSION) * p) {
  sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
}
inline void free_object_stack(STACK_OF(ASN1_OBJECT) * p) {
  sk_ASN1_OBJECT_pop_free(p, ASN1_OBJECT_free);
}
inline void free_integer_stack(STACK_OF(ASN1_INTEGER) * p) {
  sk_ASN1_INTEGER_pop_free(p, ASN1_INTEGER_free);
}
inline void free_cipher_stack(STACK_OF(SSL_CIPHER) * p) {
  sk_SSL_CIPHER_free(p);  // the ciphers themselves are the library's static tables
}
using OpensslString = std::unique_ptr<char, Deleter<free_openssl_string>>;
using CipherStack = std::unique_ptr<STACK_OF(SSL_CIPHER), Deleter<free_cipher_stack>>;
using ExtendedKeyUsage = std::unique_ptr<STACK_OF(ASN1_OBJECT), Deleter<free_object_stack>>;
using TlsFeature = std::unique_ptr<STACK_OF(ASN1_INTEGER), Deleter<free_integer_stack>>;
using NameConstraintsPtr = std::unique_ptr<NAME_CONSTRAINTS, Deleter<NAME_CONSTRAINTS_free>>;
using AuthorityInfoAccess =
    std::unique_ptr<AUTHORITY_INFO_ACCESS, Deleter<AUTHORITY_INFO_ACCESS_free>>;
using CrlDistPoints = std::unique_ptr<CRL_DIST_POINTS, Deleter<CRL_DIST_POINTS_free>>;
using X509Revoked = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED_free>>;
using X509Stack = std::unique_ptr<STACK_OF(X509), Deleter<free_x509_stack>>;
using X509ExtensionStack = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<free_extension_stack>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using Conf = std::unique_ptr<CONF, Deleter<NCONF_free>>;
// The decoded value of an extension, freed as its method says.
struct ExtensionValueFree {
  const X509V3_EXT_METHOD* method = nullptr;
  void operator()(void* value) const noexcept {
    if (method->it) {
      ASN1_item_free(static_cast<ASN1_VALUE*>(value), ASN1_ITEM_ptr(method->it));
    } else {
      method->ext_free(value);
    }
  }
};
using ExtensionValue = std::unique_ptr<void, ExtensionValueFree>;

// Drains the calling thread's OpenSSL error queue into one line ("; "-separated).
// Returns "" when the queue was empty. Always leaves the queue empty.
[[nodiscard]] std::string drain_errors();

// An Error whose message is `what` followed by the drained OpenSSL error queue.
[[nodiscard]] Error error(Errc code, std::string_view what, std::string context = {});

// A read-only memory BIO over `data` (which must outlive the BIO).
[[nodiscard]] Bio memory_bio(std::string_view data);
// A growable memory BIO for output.
[[nodiscard]] Bio output_bio();
// Everything written to an output BIO so far.
[[nodiscard]] std::string bio_contents(BIO* bio);

[[nodiscard]] Result<std::string> x509_to_der(const X509& cert);
// Parses exactly one DER certificate; trailing bytes are an error.
[[nodiscard]] Result<X509Ptr> x509_from_der(std::string_view der);

// Lowercase hex without separators.
[[nodiscard]] std::string hex(std::string_view bytes);
[[nodiscard]] std::string sha256(std::string_view bytes);  // raw 32 bytes

}  // namespace ck::ossl

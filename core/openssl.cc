#include "core/openssl.h"

#include <openssl/err.h>
#include <openssl/sha.h>

namespace ck::ossl {

std::string drain_errors() {
  std::string out;
  unsigned long code = 0;
  char buf[256];
  while ((code = ERR_get_error()) != 0) {
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out;
}

Error error(Errc code, std::string_view what, std::string context) {
  std::string message(what);
  if (std::string detail = drain_errors(); !detail.empty()) {
    message += " (" + detail + ")";
  }
  return Error{code, std::move(message), std::move(context), false};
}

Bio memory_bio(std::string_view data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

Bio output_bio() {
  return Bio(BIO_new(BIO_s_mem()));
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

Result<std::string> x509_to_der(const X509& cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(&cert, &der);
  if (len <= 0) {
    return std::unexpected(error(Errc::crypto, "cannot encode certificate as DER"));
  }
  OpensslString owner(reinterpret_cast<char*>(der));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

Result<X509Ptr> x509_from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    return std::unexpected(error(Errc::parse, "not a valid DER X.509 certificate"));
  }
  if (p != end) {
    return fail(Errc::parse, std::to_string(end - p) + " unexpected bytes after the certificate");
  }
  return cert;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string sha256(std::string_view bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

}  // namespace ck::ossl

#include "daemon/lifecycle/trust_anchors.h"

#include <openssl/x509.h>

#include <cstdlib>

#include "core/atomic_file.h"
#include "core/pem.h"

namespace ck::daemon {

std::string trust_anchor_file(const std::string& given) {
  const char* from_env = std::getenv(X509_get_default_cert_file_env());
  return !given.empty() ? given : from_env && *from_env ? from_env : X509_get_default_cert_file();
}

Result<std::vector<validator::PreparedCertificate>> read_certificates(const std::string& path,
                                                                      bool may_be_empty) {
  CK_TRY(data, read_file(path, 64u << 20));
  std::vector<validator::PreparedCertificate> out;
  if (may_be_empty && data.find_first_not_of(" \t\r\n") == std::string::npos) {
    return out;
  }
  auto bundle = parse_pem_bundle(data);
  if (!bundle) {
    return fail(bundle.error().within(path));
  }
  for (auto& cert : bundle->certificates) {
    auto prepared = validator::prepare(std::move(cert));
    if (!prepared) {
      return fail(Errc::parse, prepared.error().message, path);
    }
    out.push_back(std::move(*prepared));
  }
  if (out.empty() && !may_be_empty) {
    return fail(Errc::parse, "no certificate", path);
  }
  return out;
}

}  // namespace ck::daemon

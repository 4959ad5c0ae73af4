#include "acme/webroot.h"

#include "core/atomic_file.h"

namespace ck::acme {

std::filesystem::path WebrootSolver::token_path(const Challenge& challenge) const {
  return webroot_ / ".well-known" / "acme-challenge" / challenge.token;
}

Status WebrootSolver::present(const Identifier&, const Challenge& challenge,
                              const std::string& key_authorization) {
  // Tokens are base64url (RFC 8555 §8.1): anything else could escape the directory.
  if (challenge.token.empty() ||
      challenge.token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789-_") != std::string::npos) {
    return fail(Errc::protocol, "the CA sent a token that is not base64url", challenge.url);
  }
  CK_TRY_STATUS(make_directories(token_path(challenge).parent_path(), 0755));
  return write_file_atomic(token_path(challenge), key_authorization, WriteOptions{.mode = 0644});
}

void WebrootSolver::cleanup(const Identifier&, const Challenge& challenge) {
  std::error_code ec;
  std::filesystem::remove(token_path(challenge), ec);
}

}  // namespace ck::acme

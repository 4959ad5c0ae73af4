#include "acme/webroot.h"

#include <algorithm>

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
  // The folders this solver makes are its own to remove again (once empty).
  std::error_code ec;
  for (const auto& dir : {webroot_ / ".well-known", webroot_ / ".well-known" / "acme-challenge"}) {
    if (!std::filesystem::exists(dir, ec) && std::ranges::find(created_, dir) == created_.end()) {
      created_.push_back(dir);
    }
  }
  const auto write = [&]() -> Status {
    CK_TRY_STATUS(make_directories(token_path(challenge).parent_path(), 0755));
    // Renamed into place, so the CA never reads half a token; not synced: a
    // crash loses the order's validation, never anything kept.
    return write_file_atomic(token_path(challenge), key_authorization,
                             WriteOptions{.mode = 0644, .sync = WriteOptions::Sync::none});
  };
  // Once more when another run's cleanup removed the emptied folder between
  // the two steps (runs at once may share a webroot).
  auto written = write();
  return written ? written : write();
}

void WebrootSolver::cleanup(const Identifier&, const Challenge& challenge) {
  std::error_code ec;
  std::filesystem::remove(token_path(challenge), ec);
  // Innermost first; a folder still holding another token (or anything else)
  // is not removed.
  for (auto dir = created_.rbegin(); dir != created_.rend(); ++dir) {
    std::filesystem::remove(*dir, ec);
  }
}

}  // namespace ck::acme

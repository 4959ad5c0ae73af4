#include "acme/client.h"

namespace ck::acme {

std::optional<Directory> CaSession::directory(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (!directory_ || now - directory_fetched_ >= kDirectoryLife) {
    return std::nullopt;
  }
  return directory_;
}

void CaSession::keep_directory(const Directory& directory, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  directory_ = directory;
  directory_fetched_ = now;
}

std::optional<std::string> CaSession::take_nonce(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  while (!nonces_.empty() && now - nonces_.front().second >= kNonceLife) {
    nonces_.pop_front();
  }
  if (nonces_.empty()) {
    return std::nullopt;
  }
  std::string nonce = std::move(nonces_.back().first);
  nonces_.pop_back();
  return nonce;
}

void CaSession::keep_nonce(std::string nonce, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  nonces_.emplace_back(std::move(nonce), now);
  if (nonces_.size() > kMaxNonces) {
    nonces_.pop_front();
  }
}

std::shared_ptr<CaSession> CaSessions::of(const std::string& directory_url,
                                          const std::string& ca_file) {
  std::lock_guard lock(mutex_);
  auto& session = sessions_[{directory_url, ca_file}];
  if (!session) {
    session = std::make_shared<CaSession>();
  }
  return session;
}

}  // namespace ck::acme

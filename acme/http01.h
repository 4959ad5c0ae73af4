#pragma once
// The built-in http-01 responder (RFC 8555 §8.3): a small HTTP listener that
// answers GET /.well-known/acme-challenge/TOKEN with the key authorization for
// the tokens currently in flight, and 404 for anything else. One thread;
// every connection is bounded in size and time. Stops when destroyed.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "acme/issuance.h"
#include "acme/listener.h"

namespace ck::acme {

class Http01Responder final : public ChallengeSolver {
 public:
  // Listens on "ADDR:PORT" ("[::1]:80" for IPv6).
  [[nodiscard]] static Result<std::unique_ptr<Http01Responder>> start(const std::string& listen);
  ~Http01Responder() override = default;
  Http01Responder(const Http01Responder&) = delete;
  Http01Responder& operator=(const Http01Responder&) = delete;

  [[nodiscard]] std::string_view type() const override { return "http-01"; }
  [[nodiscard]] Status present(const Identifier& identifier, const Challenge& challenge,
                               const std::string& key_authorization) override;
  void cleanup(const Identifier& identifier, const Challenge& challenge) override;

  [[nodiscard]] int port() const { return listener_->port(); }

 private:
  Http01Responder() = default;
  void answer(int client);

  std::mutex mutex_;
  std::map<std::string, std::string> tokens_;     // token -> key authorization
  std::unique_ptr<ConnectionListener> listener_;  // last: stops before the rest goes
};

}  // namespace ck::acme

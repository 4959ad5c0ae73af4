#pragma once
// The built-in http-01 responder (RFC 8555 §8.3): a small HTTP listener that
// answers GET /.well-known/acme-challenge/TOKEN with the key authorization for
// the tokens currently in flight, and 404 for anything else. One thread;
// every connection is bounded in size and time. Stops when destroyed.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "acme/issuance.h"

namespace ck::acme {

class Http01Responder final : public ChallengeSolver {
 public:
  // Listens on "ADDR:PORT" ("[::1]:80" for IPv6).
  [[nodiscard]] static Result<std::unique_ptr<Http01Responder>> start(const std::string& listen);
  ~Http01Responder() override;
  Http01Responder(const Http01Responder&) = delete;
  Http01Responder& operator=(const Http01Responder&) = delete;

  [[nodiscard]] std::string_view type() const override { return "http-01"; }
  [[nodiscard]] Status present(const Identifier& identifier, const Challenge& challenge,
                               const std::string& key_authorization) override;
  void cleanup(const Identifier& identifier, const Challenge& challenge) override;

  [[nodiscard]] int port() const { return port_; }

 private:
  Http01Responder(int listen_fd, int wake_read, int wake_write, int port);
  void serve();
  void answer(int client);

  int listen_fd_;
  int wake_read_;  // a pipe: writing to it ends serve()
  int wake_write_;
  int port_;
  std::mutex mutex_;
  std::map<std::string, std::string> tokens_;  // token -> key authorization
  std::thread thread_;
};

// Splits "ADDR:PORT" / "[V6]:PORT" into a numeric host and port.
[[nodiscard]] Result<std::pair<std::string, int>> split_host_port(const std::string& text);

}  // namespace ck::acme

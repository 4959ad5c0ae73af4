#pragma once
// A TCP listener with one thread that hands each accepted connection to a
// handler, one at a time, and closes it afterwards. Used by the built-in
// challenge responders. Destroying it stops the thread and closes the socket:
// declare it as the last member of its owner, so it stops first.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "core/error.h"

namespace ck::acme {

class ConnectionListener {
 public:
  using Handler = std::function<void(int client_fd)>;
  // Listens on "ADDR:PORT" ("[::1]:80" for IPv6; port 0 picks one).
  [[nodiscard]] static Result<std::unique_ptr<ConnectionListener>> start(const std::string& listen,
                                                                         Handler handler);
  ~ConnectionListener();
  ConnectionListener(const ConnectionListener&) = delete;
  ConnectionListener& operator=(const ConnectionListener&) = delete;
  [[nodiscard]] int port() const { return port_; }

 private:
  ConnectionListener(int listen_fd, int wake_read, int wake_write, int port, Handler handler);
  void serve();

  int listen_fd_;
  int wake_read_;  // a pipe: writing to it ends serve()
  int wake_write_;
  int port_;
  Handler handler_;
  std::thread thread_;
};

}  // namespace ck::acme

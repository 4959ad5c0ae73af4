#pragma once
// The control socket's I/O: a Unix stream socket (its own, or the one systemd
// passed by socket activation), non-blocking, driven by the service's poll
// loop. Each connection's requests are framed and parsed by
// control_protocol.h and answered by the service's handler; the peer's
// credentials (SO_PEERCRED) decide what it may do. A malformed request gets an
// error answer; an oversized or silent one closes the connection; none of it
// ever blocks the loop.

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "daemon/service/control_protocol.h"

namespace ck::daemon {

// Where the answer to a request goes when it comes later (after a job).
struct PendingReply {
  int fd = -1;
  std::uint64_t connection = 0;  // the fd's connection then: a reused fd is another peer
};

class ControlServer {
 public:
  // Answers one request (already authorised) with a whole response line, or
  // with none when the answer comes later, by reply(to).
  using Handler =
      std::function<std::optional<std::string>(const ControlRequest&, const PendingReply& to)>;

  // Listens on `path` (a stale socket file is replaced; mode 0660), or adopts
  // `inherited_fd` (>= 0) from socket activation.
  [[nodiscard]] static Result<std::unique_ptr<ControlServer>> create(const std::string& path,
                                                                     int inherited_fd,
                                                                     ServiceIdentity identity,
                                                                     const Clock& clock,
                                                                     Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // The descriptors to poll (listener first, then connections).
  void add_poll_fds(std::vector<pollfd>& fds) const;
  // Handles what poll reported for one of them.
  void on_ready(const pollfd& ready);
  // Closes connections silent for too long; the soonest such deadline, if any.
  // One waiting for a later answer is not silent.
  [[nodiscard]] std::optional<MonoTime> expire_idle();
  // The later answer of a request; dropped when its peer has gone.
  void reply(const PendingReply& to, const std::string& answer);

 private:
  struct Connection {
    Peer peer;
    std::string in;
    std::string out;
    std::size_t sent =
        0;  // of `out`: erasing each sent piece would copy a huge answer over and over
    MonoTime last_activity{};
    bool closing = false;      // close once `out` is sent
    bool big_answer = false;   // over a megabyte: its memory goes back once sent
    std::uint64_t serial = 0;  // which connection this is (PendingReply)
    int awaiting = 0;          // answers to come later
    [[nodiscard]] std::size_t unsent() const { return out.size() - sent; }
  };
  ControlServer(int listen_fd, std::string path, ServiceIdentity identity, const Clock& clock,
                Handler handler)
      : listen_fd_(listen_fd),
        path_(std::move(path)),
        identity_(identity),
        clock_(clock),
        handler_(std::move(handler)) {}
  void accept_all();
  void read_from(int fd, Connection& c);
  void answer(int fd, Connection& c, const std::string& line);
  void flush(int fd, Connection& c);
  void close_connection(int fd);

  int listen_fd_ = -1;
  std::string path_;  // "" when inherited: not ours to unlink
  ServiceIdentity identity_;
  const Clock& clock_;
  Handler handler_;
  std::map<int, Connection> connections_;
  std::uint64_t accepted_ = 0;
};

}  // namespace ck::daemon

#pragma once
// The optional HTTP listener ([metrics] listen): read-only pages for
// Prometheus and people, on the service's poll loop like the control socket.
// HTTP/1.1, one request per connection (answered with Connection: close),
// GET and HEAD only, no request body. A request head over 8 KiB, or silent
// for 10 seconds, ends the connection; a malformed one gets 400. The
// handler runs on the loop and sees only the method and path.

#include <poll.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/host_port.h"

namespace ck::daemon {

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the usual ones
};

struct HttpRequest {
  std::string method;  // "GET" or "HEAD"
  std::string path;    // without the query
};

inline constexpr std::size_t kMaxRequestHead = 8 * 1024;

// The request in `head` once its header block is complete; nullopt while it
// is not. An error says what to answer (http_status_of): a malformed request
// (invalid_argument, 400), another method (unsupported, 405), a head over
// kMaxRequestHead (too_large, 431), not HTTP/1.x (protocol, 505).
[[nodiscard]] Result<std::optional<HttpRequest>> parse_http_request(std::string_view head);
[[nodiscard]] HttpResponse http_error_response(const Error& error);

// The status line and headers of a response, its blank line included.
[[nodiscard]] std::string format_http_head(const HttpResponse& response);

class HttpListener {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  [[nodiscard]] static Result<std::unique_ptr<HttpListener>> create(const HostPort& address,
                                                                    const Clock& clock,
                                                                    Handler handler);
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // The port bound (the one asked for, or the kernel's choice for port 0).
  [[nodiscard]] int port() const { return port_; }
  void add_poll_fds(std::vector<pollfd>& fds) const;
  // Whether `fd` is one of this listener's.
  [[nodiscard]] bool owns(int fd) const { return fd == listen_fd_ || connections_.contains(fd); }
  void on_ready(const pollfd& ready);
  // Closes connections silent for too long; the soonest such deadline, if any.
  [[nodiscard]] std::optional<MonoTime> expire_idle();

 private:
  struct Connection {
    std::string in;
    std::string head;  // then the body: sent as they are, never copied together
    std::string body;
    std::size_t sent = 0;  // of head and body
    MonoTime since{};
    bool answered = false;
  };
  HttpListener(int listen_fd, int port, const Clock& clock, Handler handler)
      : listen_fd_(listen_fd), port_(port), clock_(clock), handler_(std::move(handler)) {}
  void accept_all();
  void read_from(int fd, Connection& c);
  void flush(int fd, Connection& c);
  void close_connection(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  const Clock& clock_;
  Handler handler_;
  std::map<int, Connection> connections_;
};

}  // namespace ck::daemon

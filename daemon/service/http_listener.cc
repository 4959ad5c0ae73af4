#include "daemon/service/http_listener.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/service/connection_deadlines.h"

namespace ck::daemon {
namespace {

constexpr std::size_t kMaxConnections = 64;
constexpr std::chrono::seconds kIdleLimit{10};

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

Result<int> listen_on(const HostPort& address, int& port) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const bool v6 = address.host.find(':') != std::string::npos;
  if (v6) {
    auto& a = reinterpret_cast<sockaddr_in6&>(storage);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<std::uint16_t>(address.port));
    length = ::inet_pton(AF_INET6, address.host.c_str(), &a.sin6_addr) == 1 ? sizeof a : 0;
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(storage);
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(address.port));
    length = ::inet_pton(AF_INET, address.host.c_str(), &a.sin_addr) == 1 ? sizeof a : 0;
  }
  const std::string where = format_host_port(address);
  if (length == 0) {
    return fail(Errc::invalid_argument, "not an IP address", where);
  }
  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(Errc::io, std::string("socket: ") + std::strerror(errno), where);
  }
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (v6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0 ||
      ::listen(fd, 64) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return fail(Errc::io, "cannot listen: " + why, where);
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  port = ntohs(v6 ? reinterpret_cast<sockaddr_in6&>(storage).sin6_port
                  : reinterpret_cast<sockaddr_in&>(storage).sin_port);
  return fd;
}

}  // namespace

Result<std::optional<HttpRequest>> parse_http_request(std::string_view head) {
  const std::size_t end = head.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (head.size() > kMaxRequestHead) {
      return fail(Errc::too_large, "the request head is over 8 KiB");
    }
    return std::nullopt;  // not all of it yet
  }
  if (end > kMaxRequestHead) {
    return fail(Errc::too_large, "the request head is over 8 KiB");
  }
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const std::size_t first = line.find(' ');
  const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    return fail(Errc::invalid_argument, "not a request line (METHOD TARGET HTTP/1.1)");
  }
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, second - first - 1);
  const std::string_view version = line.substr(second + 1);
  if (!version.starts_with("HTTP/1.")) {
    return fail(Errc::protocol, "only HTTP/1.x is served");
  }
  if (!target.starts_with('/')) {
    return fail(Errc::invalid_argument, "the target is not a path");
  }
  if (method != "GET" && method != "HEAD") {
    return fail(Errc::unsupported, "only GET and HEAD: these pages are read-only");
  }
  return HttpRequest{std::string(method), std::string(target.substr(0, target.find('?')))};
}

HttpResponse http_error_response(const Error& error) {
  const int status = error.code == Errc::too_large     ? 431
                     : error.code == Errc::unsupported ? 405
                     : error.code == Errc::protocol    ? 505
                                                       : 400;
  HttpResponse out{status, "text/plain; charset=utf-8", error.message + "\n", {}};
  if (status == 405) {
    out.headers.emplace_back("Allow", "GET, HEAD");
  }
  return out;
}

std::string format_http_head(const HttpResponse& response) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                    std::string(reason_phrase(response.status)) +
                    "\r\nContent-Type: " + response.content_type +
                    "\r\nContent-Length: " + std::to_string(response.body.size()) +
                    "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff"
                    "\r\nConnection: close\r\n";
  for (const auto& [name, value] : response.headers) {
    out += name + ": " + value + "\r\n";
  }
  return out + "\r\n";
}

Result<std::unique_ptr<HttpListener>> HttpListener::create(const HostPort& address,
                                                           const Clock& clock, Handler handler) {
  int port = 0;
  CK_TRY(fd, listen_on(address, port));
  return std::unique_ptr<HttpListener>(new HttpListener(fd, port, clock, std::move(handler)));
}

HttpListener::~HttpListener() {
  while (!connections_.empty()) {
    close_connection(connections_.begin()->first);
  }
  ::close(listen_fd_);
}

void HttpListener::add_poll_fds(std::vector<pollfd>& fds) const {
  fds.push_back({listen_fd_, POLLIN, 0});
  for (const auto& [fd, c] : connections_) {
    fds.push_back({fd, static_cast<short>(c.answered ? POLLOUT : POLLIN), 0});
  }
}

void HttpListener::on_ready(const pollfd& ready) {
  if (ready.fd == listen_fd_) {
    accept_all();
    return;
  }
  auto it = connections_.find(ready.fd);
  if (it == connections_.end()) {
    return;
  }
  if (!it->second.answered) {
    read_from(ready.fd, it->second);
  }
  if (auto again = connections_.find(ready.fd); again != connections_.end()) {
    flush(ready.fd, again->second);
  }
}

void HttpListener::accept_all() {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;  // EAGAIN: no more waiting
    }
    if (connections_.size() >= kMaxConnections) {
      static const HttpResponse kBusy{
          503, "text/plain; charset=utf-8", "too many connections; try again\n", {}};
      static const std::string busy = format_http_head(kBusy) + kBusy.body;
      static_cast<void>(::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL));
      ::close(fd);
      continue;
    }
    connections_[fd] = Connection{"", "", "", 0, clock_.monotonic(), false};
  }
}

void HttpListener::read_from(int fd, Connection& c) {
  char buffer[4096];
  ssize_t n = 0;
  while (c.in.size() <= kMaxRequestHead && (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
    c.in.append(buffer, static_cast<std::size_t>(n));
  }
  auto request = parse_http_request(c.in);
  if (request && !*request) {
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      close_connection(fd);  // gone before asking anything
    }
    return;
  }
  const bool head_only = request && (*request)->method == "HEAD";
  HttpResponse response = request ? handler_(**request) : http_error_response(request.error());
  c.head = format_http_head(response);
  if (!head_only) {
    c.body = std::move(response.body);
  }
  c.answered = true;
  c.in.clear();
}

void HttpListener::flush(int fd, Connection& c) {
  const std::size_t total = c.head.size() + c.body.size();
  while (c.sent < total) {
    const bool in_head = c.sent < c.head.size();
    const std::string& part = in_head ? c.head : c.body;
    const std::size_t from = in_head ? c.sent : c.sent - c.head.size();
    const ssize_t n = ::send(fd, part.data() + from, part.size() - from, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;  // the rest when the peer reads
      }
      close_connection(fd);
      return;
    }
    c.sent += static_cast<std::size_t>(n);
  }
  if (c.answered) {
    const bool big = total > (1u << 20);
    close_connection(fd);
    if (big && connections_.empty()) {
      // A page or scrape of thousands of certificates was megabytes: its
      // free pages go back, so that the service's memory returns to its idle
      // size between scrapes.
      ::malloc_trim(0);
    }
  }
}

void HttpListener::close_connection(int fd) {
  ::close(fd);
  connections_.erase(fd);
}

std::optional<MonoTime> HttpListener::expire_idle() {
  // A whole exchange gets kIdleLimit: a slow reader of a big page, too.
  return close_expired(connections_, clock_.monotonic(),
                       [](const Connection& c) { return c.since + kIdleLimit; });
}

}  // namespace ck::daemon

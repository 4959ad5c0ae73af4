#include "acme/http01.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "core/atomic_file.h"

namespace ck::acme {
namespace {

constexpr std::string_view kPrefix = "GET /.well-known/acme-challenge/";
constexpr std::size_t kMaxRequest = 8192;
constexpr int kClientTimeoutMs = 5000;

std::string response(int status, std::string_view reason, std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + std::string(body);
}

// Reads the request head, bounded by size and a deadline.
std::string read_request(int client) {
  std::string request;
  char buf[1024];
  while (request.size() < kMaxRequest && request.find("\r\n\r\n") == std::string::npos) {
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, kClientTimeoutMs) <= 0) {
      break;
    }
    ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    request.append(buf, static_cast<std::size_t>(n));
  }
  return request;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

Result<std::pair<std::string, int>> split_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return fail(Errc::invalid_argument, "expected ADDR:PORT, got \"" + text + "\"");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535) {
    return fail(Errc::invalid_argument, "invalid port in \"" + text + "\"");
  }
  return std::pair(host.empty() ? std::string("0.0.0.0") : host, std::stoi(port));
}

Result<std::unique_ptr<Http01Responder>> Http01Responder::start(const std::string& listen) {
  CK_TRY(address, split_host_port(listen));
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.second);
  if (int rc = ::getaddrinfo(address.first.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return fail(Errc::invalid_argument, std::string("not a numeric address: ") + gai_strerror(rc),
                listen);
  }
  std::unique_ptr<addrinfo, ossl::Deleter<freeaddrinfo>> info(found);
  int fd = ::socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, info->ai_addr, info->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
    int err = errno;
    if (fd >= 0) {
      ::close(fd);
    }
    return fail(Errc::io, "cannot listen for http-01: " + errno_text(err), listen);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC) != 0) {
    ::close(fd);
    return fail(Errc::io, "pipe failed: " + errno_text(errno));
  }
  std::unique_ptr<Http01Responder> responder(new Http01Responder(fd, wake[0], wake[1], bound_port));
  responder->thread_ = std::thread([r = responder.get()] { r->serve(); });
  return responder;
}

Http01Responder::Http01Responder(int listen_fd, int wake_read, int wake_write, int port)
    : listen_fd_(listen_fd), wake_read_(wake_read), wake_write_(wake_write), port_(port) {}

Http01Responder::~Http01Responder() {
  static_cast<void>(::write(wake_write_, "x", 1));
  if (thread_.joinable()) {
    thread_.join();
  }
  ::close(listen_fd_);
  ::close(wake_read_);
  ::close(wake_write_);
}

Status Http01Responder::present(const Identifier&, const Challenge& challenge,
                                const std::string& key_authorization) {
  std::lock_guard lock(mutex_);
  tokens_[challenge.token] = key_authorization;
  return {};
}

void Http01Responder::cleanup(const Identifier&, const Challenge& challenge) {
  std::lock_guard lock(mutex_);
  tokens_.erase(challenge.token);
}

void Http01Responder::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      return;
    }
    if (fds[1].revents != 0) {
      return;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        answer(client);
        ::close(client);
      }
    }
  }
}

void Http01Responder::answer(int client) {
  const std::string request = read_request(client);
  std::string_view line(request);
  line = line.substr(0, line.find("\r\n"));
  if (!line.starts_with(kPrefix)) {
    send_all(client, response(404, "Not Found", "not found\n"));
    return;
  }
  line.remove_prefix(kPrefix.size());
  const std::string token(line.substr(0, line.find(' ')));
  std::string body;
  {
    std::lock_guard lock(mutex_);
    auto it = tokens_.find(token);
    if (it != tokens_.end()) {
      body = it->second;
    }
  }
  send_all(client,
           body.empty() ? response(404, "Not Found", "not found\n") : response(200, "OK", body));
}

}  // namespace ck::acme

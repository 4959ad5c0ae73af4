#include "acme/listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/atomic_file.h"
#include "core/host_port.h"
#include "core/openssl.h"

namespace ck::acme {

Result<std::unique_ptr<ConnectionListener>> ConnectionListener::start(const std::string& listen,
                                                                      Handler handler) {
  // ":PORT" listens on every IPv4 address.
  CK_TRY(address, parse_host_port(listen.starts_with(':') ? "0.0.0.0" + listen : listen, 0));
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (int rc = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
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
    return fail(Errc::io, "cannot listen: " + errno_text(err), listen);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(fd);
    return fail(Errc::io, "pipe failed: " + errno_text(err));
  }
  std::unique_ptr<ConnectionListener> listener(
      new ConnectionListener(fd, wake[0], wake[1], bound_port, std::move(handler)));
  listener->thread_ = std::thread([l = listener.get()] { l->serve(); });
  return listener;
}

ConnectionListener::ConnectionListener(int listen_fd, int wake_read, int wake_write, int port,
                                       Handler handler)
    : listen_fd_(listen_fd),
      wake_read_(wake_read),
      wake_write_(wake_write),
      port_(port),
      handler_(std::move(handler)) {}

ConnectionListener::~ConnectionListener() {
  static_cast<void>(::write(wake_write_, "x", 1));
  if (thread_.joinable()) {
    thread_.join();
  }
  ::close(listen_fd_);
  ::close(wake_read_);
  ::close(wake_write_);
}

void ConnectionListener::serve() {
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
        handler_(client);
        ::close(client);
      }
    }
  }
}

}  // namespace ck::acme

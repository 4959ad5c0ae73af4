#include "daemon/service/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/service/control_protocol.h"

namespace ck::daemon {
namespace {

// A connected socket to `path`, closed on every path out.
struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

}  // namespace

Result<ServiceAnswer> ask_service(const std::string& socket_path, const std::string& cmd,
                                  const nlohmann::json& args, std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    return fail(Errc::invalid_argument, "the socket path is too long", socket_path);
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  Socket s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0 ||
      ::connect(s.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int why = errno;
    return fail(why == ENOENT || why == ECONNREFUSED ? Errc::not_found : Errc::io,
                std::string("no service answers: ") + std::strerror(why), socket_path);
  }
  const std::string request = nlohmann::json{{"id", 1}, {"cmd", cmd}, {"args", args}}.dump() + "\n";
  if (::send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return fail(Errc::io, std::string("send: ") + std::strerror(errno), socket_path);
  }
  std::string answer;
  char buffer[64 * 1024];
  while (answer.find('\n') == std::string::npos) {
    pollfd p{s.fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
      return fail(Errc::timeout,
                  "the service did not answer within " + std::to_string(timeout.count()) + " ms",
                  socket_path, true);
    }
    const ssize_t n = ::recv(s.fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      return fail(Errc::protocol, "the service closed the connection", socket_path);
    }
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  nlohmann::json j = nlohmann::json::parse(answer.substr(0, answer.find('\n')), nullptr, false);
  if (!j.is_object() || !j.contains("ok")) {
    return fail(Errc::protocol, "the service's answer is not a response", socket_path);
  }
  if (j["ok"] != true) {
    const auto& e = j.value("error", nlohmann::json::object());
    return ServiceAnswer{false, nullptr, e.value("code", "error"), e.value("message", "")};
  }
  return ServiceAnswer{true, j.value("result", nlohmann::json()), "", ""};
}

}  // namespace ck::daemon

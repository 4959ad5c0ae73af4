#include "daemon/service/control_server.h"

#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "daemon/service/connection_deadlines.h"

namespace ck::daemon {
namespace {

constexpr std::size_t kMaxConnections = 64;
constexpr std::chrono::seconds kIdleLimit{30};
constexpr std::size_t kMaxPendingOutput = 16 * 1024 * 1024;

std::string errno_text() {
  return std::strerror(errno);
}

// The peer's credentials and its user's supplementary groups.
Peer peer_of(int fd) {
  Peer peer{static_cast<uid_t>(-1), static_cast<gid_t>(-1), {}};
  ucred cred{};
  socklen_t length = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    return peer;  // nobody: may do nothing
  }
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  if (const passwd* user = ::getpwuid(cred.uid)) {
    int count = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(user->pw_name, cred.gid, groups.data(), &count) >= 0) {
      groups.resize(static_cast<std::size_t>(count));
      peer.groups = std::move(groups);
    }
  }
  return peer;
}

Result<int> listen_on(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    return fail(Errc::invalid_argument, "the socket path is too long", path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(Errc::io, "socket: " + errno_text(), path);
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  ::unlink(path.c_str());                 // a stale socket of an earlier run
  const mode_t old_mask = ::umask(0117);  // 0660: the service's user and group
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::umask(old_mask);
  if (!bound || ::listen(fd, 64) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return fail(Errc::io, "cannot listen: " + why, path);
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::create(const std::string& path,
                                                             int inherited_fd,
                                                             ServiceIdentity identity,
                                                             const Clock& clock, Handler handler) {
  if (inherited_fd >= 0) {
    const int flags = ::fcntl(inherited_fd, F_GETFL);
    ::fcntl(inherited_fd, F_SETFL, flags | O_NONBLOCK);
    return std::unique_ptr<ControlServer>(
        new ControlServer(inherited_fd, "", identity, clock, std::move(handler)));
  }
  CK_TRY(fd, listen_on(path));
  return std::unique_ptr<ControlServer>(
      new ControlServer(fd, path, identity, clock, std::move(handler)));
}

ControlServer::~ControlServer() {
  while (!connections_.empty()) {
    close_connection(connections_.begin()->first);
  }
  ::close(listen_fd_);
  if (!path_.empty()) {
    ::unlink(path_.c_str());
  }
}

void ControlServer::add_poll_fds(std::vector<pollfd>& fds) const {
  fds.push_back({listen_fd_, POLLIN, 0});
  for (const auto& [fd, c] : connections_) {
    fds.push_back({fd, static_cast<short>(c.unsent() == 0 ? POLLIN : POLLIN | POLLOUT), 0});
  }
}

void ControlServer::on_ready(const pollfd& ready) {
  if (ready.fd == listen_fd_) {
    accept_all();
    return;
  }
  auto it = connections_.find(ready.fd);
  if (it == connections_.end()) {
    return;
  }
  Connection& c = it->second;
  if (ready.revents & (POLLIN | POLLHUP | POLLERR)) {
    read_from(ready.fd, c);
  }
  if (connections_.contains(ready.fd)) {
    flush(ready.fd, c);
  }
}

void ControlServer::accept_all() {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;  // EAGAIN: no more waiting
    }
    if (connections_.size() >= kMaxConnections) {
      static const std::string busy =
          error_response(nullptr, "busy", "too many connections; try again");
      static_cast<void>(::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL));
      ::close(fd);
      continue;
    }
    connections_[fd] =
        Connection{.peer = peer_of(fd), .last_activity = clock_.monotonic(), .serial = ++accepted_};
  }
}

void ControlServer::read_from(int fd, Connection& c) {
  char buffer[16 * 1024];
  ssize_t n = 0;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
    c.in.append(buffer, static_cast<std::size_t>(n));
    c.last_activity = clock_.monotonic();
    if (c.in.size() > 2 * kMaxRequestBytes) {
      break;  // take_lines says it is too large
    }
  }
  const bool peer_closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  auto lines = take_lines(c.in);
  if (!lines) {
    c.out += error_response(nullptr, "too_large", lines.error().message);
    c.closing = true;
    c.in.clear();
    return;
  }
  for (const auto& line : *lines) {
    if (line.empty()) {
      continue;
    }
    if (c.unsent() > kMaxPendingOutput) {
      // Requests piped in without reading the answers: memory stays bounded.
      c.out += error_response(id_of(line), "busy", "earlier answers are not read yet");
      continue;
    }
    answer(fd, c, line);
  }
  if (peer_closed) {
    c.closing = true;
  }
}

void ControlServer::answer(int fd, Connection& c, const std::string& line) {
  auto request = parse_request(line);
  if (!request) {
    c.out += error_response(id_of(line), to_string(request.error().code), request.error().message);
    return;
  }
  const auto access = access_of(request->cmd);
  if (!access) {
    c.out += error_response(request->id, "unknown_command",
                            "no command \"" + request->cmd +
                                "\"; known: status, metrics, list, show, events, alerts, "
                                "renew, revoke, probe, reload");
    return;
  }
  if (!may(c.peer, identity_, *access)) {
    c.out += error_response(request->id, "forbidden",
                            *access == Access::change
                                ? "only root or the service's user may " + request->cmd
                                : "only members of the service's group may " + request->cmd);
    return;
  }
  if (auto now = handler_(*request, PendingReply{fd, c.serial})) {
    c.out += *now;
  } else {
    ++c.awaiting;
  }
  c.big_answer = c.big_answer || c.out.size() > (1u << 20);
}

void ControlServer::flush(int fd, Connection& c) {
  while (c.unsent() > 0) {
    const ssize_t n = ::send(fd, c.out.data() + c.sent, c.unsent(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;  // the rest when the peer reads; one that never does meets the idle limit
      }
      close_connection(fd);
      return;
    }
    c.sent += static_cast<std::size_t>(n);
    c.last_activity = clock_.monotonic();
  }
  c.out.clear();
  c.sent = 0;
  if (c.big_answer) {
    // A status or metrics answer of thousands of certificates: its free
    // pages go back, so that the service returns to its idle size.
    c.big_answer = false;
    c.out.shrink_to_fit();
    ::malloc_trim(0);
  }
  if (c.closing && c.awaiting == 0) {
    close_connection(fd);
  }
}

void ControlServer::reply(const PendingReply& to, const std::string& answer) {
  auto it = connections_.find(to.fd);
  if (it == connections_.end() || it->second.serial != to.connection) {
    return;  // the peer left without it
  }
  Connection& c = it->second;
  --c.awaiting;
  c.out += answer;
  c.last_activity = clock_.monotonic();
  flush(to.fd, c);
}

void ControlServer::close_connection(int fd) {
  ::close(fd);
  connections_.erase(fd);
}

std::optional<MonoTime> ControlServer::expire_idle() {
  return close_expired(connections_, clock_.monotonic(),
                       [](const Connection& c) -> std::optional<MonoTime> {
                         if (c.awaiting > 0) {
                           return std::nullopt;  // its answer waits for a job
                         }
                         return c.last_activity + kIdleLimit;
                       });
}

}  // namespace ck::daemon

#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>

namespace ck::test {
namespace {

constexpr std::uint8_t kApplicationData = 0x17;

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    return fd;
  }
  if (fd >= 0) {
    ::close(fd);
  }
  return -1;
}

// The TLS records of one direction of a stream, from their 5-byte headers:
// finds where each application-data record starts.
class Records {
 public:
  // The offset in `data` of the next application-data record's first byte
  // (its header), or `size` when none starts in it; the bytes before it are
  // consumed. Call again with the rest to go on past it.
  std::size_t next_application_record(const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      if (skip_ > 0) {
        const std::size_t n = std::min(skip_, size - i);
        skip_ -= n;
        i += n - 1;
        continue;
      }
      if (filled_ == 0 && static_cast<std::uint8_t>(data[i]) == kApplicationData && !announced_) {
        announced_ = true;
        return i;
      }
      header_[filled_++] = static_cast<std::uint8_t>(data[i]);
      if (filled_ == 5) {
        skip_ = static_cast<std::size_t>(header_[3]) << 8 | header_[4];
        filled_ = 0;
        announced_ = false;
        application_ += header_[0] == kApplicationData ? 1 : 0;
      }
    }
    return size;
  }
  // Application-data records whose header has passed.
  [[nodiscard]] int application() const { return application_; }

 private:
  std::uint8_t header_[5] = {};
  std::size_t filled_ = 0;
  std::size_t skip_ = 0;
  bool announced_ = false;
  int application_ = 0;
};

}  // namespace

FaultProxy::FaultProxy(std::function<Fault(int)> fault_for, std::function<bool(int)> cut_handshake)
    : fault_for_(std::move(fault_for)), cut_handshake_(std::move(cut_handshake)) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error(std::string("fault proxy: ") + std::strerror(errno));
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  ::close(listener_);
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_) {
      ::shutdown(fd, SHUT_RDWR);  // wakes each relay's poll()
    }
  }
  for (auto& t : threads_) {
    t.join();
  }
}

std::map<Fault, int> FaultProxy::faults() const {
  std::lock_guard lock(mutex_);
  return faults_;
}

Fault FaultProxy::next_request() {
  // Under the lock: tunnels run side by side.
  std::lock_guard lock(mutex_);
  const Fault fault = fault_for_(requests_++);
  if (fault != Fault::none) {
    ++faults_[fault];
  }
  return fault;
}

void FaultProxy::accept_loop() {
  while (!stopping_) {
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      continue;  // stopping, or a connection that went away
    }
    const int tunnel = tunnels_++;
    const bool cut = cut_handshake_ && cut_handshake_(tunnel);
    std::lock_guard lock(mutex_);
    open_.push_back(client);
    threads_.emplace_back([this, client, cut] { serve(client, cut); });
  }
}

void FaultProxy::serve(int client, bool cut_handshake) {
  int upstream = -1;
  std::string head;
  char buffer[16384];
  while (head.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) {
      break;
    }
    head.append(buffer, static_cast<std::size_t>(n));
  }
  // "CONNECT 127.0.0.1:PORT HTTP/1.1" or "GET http://127.0.0.1:PORT/path HTTP/1.1":
  // to loopback only, whatever the name.
  const bool connect = head.starts_with("CONNECT ");
  const std::size_t scheme = head.find("://");
  const std::size_t authority =
      connect ? head.find(' ') + 1 : (scheme == std::string::npos ? head.size() : scheme + 3);
  const std::size_t authority_end = std::min(head.find('/', authority), head.find(' ', authority));
  const std::size_t colon = head.find(':', authority);
  const int port = colon < authority_end ? std::atoi(&head[colon + 1]) : 80;
  static constexpr char kEstablished[] = "HTTP/1.1 200 Connection established\r\n\r\n";
  const bool request = head.find("\r\n\r\n") != std::string::npos && authority < head.size();
  if (request && !connect) {
    forward(client, port, upstream, std::move(head));
  } else if (request && (upstream = open_upstream(port)) >= 0 &&
             send_all(client, kEstablished, sizeof kEstablished - 1)) {
    tunnel(client, upstream, cut_handshake);
  }
  std::lock_guard lock(mutex_);
  for (int fd : {client, upstream}) {
    if (fd >= 0) {
      std::erase(open_, fd);
      ::close(fd);
    }
  }
}

void FaultProxy::wait_for_close(int client) {
  char buffer[4096];
  while (!stopping_) {
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0 && ::recv(client, buffer, sizeof buffer, 0) <= 0) {
      return;
    }
  }
}

int FaultProxy::open_upstream(int port) {
  const int upstream = connect_loopback(port);
  if (upstream >= 0) {
    std::lock_guard lock(mutex_);
    open_.push_back(upstream);
  }
  return upstream;
}

void FaultProxy::forward(int client, int port, int& upstream, std::string head) {
  // Origin form for the server, and one request per connection:
  // "GET http://HOST:PORT/path HTTP/1.1" becomes "GET /path HTTP/1.1".
  const std::size_t target = head.find(' ') + 1;
  const std::size_t path = std::min(head.find('/', head.find("://") + 3), head.find(' ', target));
  head.erase(target, path - target);
  head.insert(head.find("\r\n") + 2, "Connection: close\r\n");
  const Fault fault = next_request();
  switch (fault) {
    case Fault::reset: {
      const linger abort{1, 0};
      ::setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      return;
    }
    case Fault::garbage: {
      const std::string noise = "\x16\x03\x01 not HTTP \xff\r\n\r\n";
      send_all(client, noise.data(), noise.size());
      return;
    }
    case Fault::delay: std::this_thread::sleep_for(std::chrono::seconds(1)); break;
    default: break;
  }
  // Only now: `openssl ocsp` 3.0 hangs on a connection closed without a request.
  upstream = open_upstream(port);
  if (upstream < 0 || !send_all(upstream, head.data(), head.size())) {
    return;
  }
  char buffer[16384];
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  while (!stopping_) {
    if (::poll(fds, 2, 1000) < 0) {
      return;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0 || !send_all(upstream, buffer, static_cast<std::size_t>(n))) {
        return;
      }
    }
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(upstream, buffer, sizeof buffer, 0);
      if (n <= 0) {
        return;  // the answer is complete
      }
      const auto size = static_cast<std::size_t>(n);
      if (fault == Fault::truncate || fault == Fault::stall) {
        send_all(client, buffer, size / 2);  // half of the answer's first part
        if (fault == Fault::stall) {
          wait_for_close(client);
        }
        return;
      }
      if (!send_all(client, buffer, size)) {
        return;
      }
    }
  }
}

void FaultProxy::tunnel(int client, int upstream, bool cut_handshake) {
  char buffer[16384];
  Records from_client;
  Records from_server;
  bool cut_next_server_record = false;
  bool stall_after_cut = false;
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  bool open = true;
  while (open && !stopping_) {
    if (::poll(fds, 2, 1000) < 0) {
      break;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      open = n > 0;
      std::size_t done = 0;
      const auto size = static_cast<std::size_t>(std::max<ssize_t>(n, 0));
      while (open && done < size) {
        const std::size_t at =
            done + from_client.next_application_record(buffer + done, size - done);
        open = send_all(upstream, buffer + done, at - done);
        done = at;
        // The client's first application-data record is its Finished (TLS 1.3).
        if (!open || done == size || from_client.application() == 0) {
          continue;
        }
        switch (const Fault fault = next_request(); fault) {
          case Fault::reset: {
            const linger abort{1, 0};
            ::setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
            open = false;
            break;
          }
          case Fault::garbage: {
            std::mt19937 random(static_cast<unsigned>(requests_));
            std::string noise(64, '\0');
            for (char& c : noise) {
              c = static_cast<char>(random());
            }
            send_all(client, noise.data(), noise.size());
            open = false;
            break;
          }
          case Fault::truncate:
          case Fault::stall:
            cut_next_server_record = true;
            stall_after_cut = fault == Fault::stall;
            break;
          case Fault::delay: std::this_thread::sleep_for(std::chrono::seconds(1)); break;
          case Fault::none:
          default: break;
        }
      }
    }
    if (open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(upstream, buffer, sizeof buffer, 0);
      const auto size = static_cast<std::size_t>(std::max<ssize_t>(n, 0));
      if (n <= 0) {
        open = false;
      } else if (cut_handshake) {
        ++handshakes_cut_;
        send_all(client, buffer, size / 2);  // half of the ServerHello's flight
        open = false;
      } else if (const std::size_t at = cut_next_server_record
                                            ? from_server.next_application_record(buffer, size)
                                            : size;
                 at < size) {
        send_all(client, buffer, at + (size - at) / 2);  // half of what there is of it
        if (stall_after_cut) {
          wait_for_close(client);
        }
        open = false;
      } else if (cut_next_server_record) {
        open = send_all(client, buffer, size);  // it has not started yet
      } else {
        std::size_t done = 0;
        while (done < size) {  // the records are only counted on the way
          done += from_server.next_application_record(buffer + done, size - done);
        }
        open = send_all(client, buffer, size);
      }
    }
  }
}

}  // namespace ck::test

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

Result<std::unique_ptr<Http01Responder>> Http01Responder::start(const std::string& listen) {
  std::unique_ptr<Http01Responder> responder(new Http01Responder());
  CK_TRY(listener, ConnectionListener::start(
                       listen, [r = responder.get()](int client) { r->answer(client); }));
  responder->listener_ = std::move(listener);
  return responder;
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

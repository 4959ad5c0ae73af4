#pragma once
// A network fault proxy for the tests: an HTTP proxy on loopback that
// certkeeper is pointed at (https_proxy= or http_proxy=http://127.0.0.1:PORT,
// which libcurl honours), passing what it is sent to a loopback target and
// breaking chosen requests on the way.
// - https (CONNECT tunnels): TLS stays end to end, the proxy only sees records,
//   and counts the client's application-data records (after its Finished) as
//   its requests, across every tunnel, whether a connection is reused or not.
// - plain http (absolute-form requests, as OCSP and CRLs are fetched): one
//   request per connection, sent on in origin form; the proxy closes the
//   connection after the answer.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ck::test {

enum class Fault {
  none,
  reset,     // the tunnel closed with a RST where the request would go
  garbage,   // random bytes to the client instead of the request going on
  truncate,  // the request goes on; the server's next record is cut in half
  delay,     // one second of silence, then on
  stall,     // the request goes on; half of the answer comes back, then silence until the
             // client gives up
};

class FaultProxy {
 public:
  // `fault_for(n)` decides what happens to the n-th request (0-based);
  // `cut_handshake(n)`, whether the n-th tunnel's TLS handshake is cut in the
  // middle of the server's first flight.
  explicit FaultProxy(std::function<Fault(int request)> fault_for,
                      std::function<bool(int tunnel)> cut_handshake = nullptr);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int tunnels() const { return tunnels_; }
  [[nodiscard]] int requests() const { return requests_; }
  [[nodiscard]] int handshakes_cut() const { return handshakes_cut_; }
  // Of each fault, how many requests it broke.
  [[nodiscard]] std::map<Fault, int> faults() const;

 private:
  void accept_loop();
  void serve(int client, bool cut_handshake);
  void tunnel(int client, int upstream, bool cut_handshake);
  // Sends `head` on to `port` (connecting `upstream` only when the request is to go on).
  void forward(int client, int port, int& upstream, std::string head);
  // A connection to the loopback `port`, closed at the end if the proxy stops first.
  int open_upstream(int port);
  // Until the client goes away (or the proxy stops): a stalled answer.
  void wait_for_close(int client);
  Fault next_request();

  std::function<Fault(int)> fault_for_;
  std::function<bool(int)> cut_handshake_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> tunnels_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> handshakes_cut_{0};
  mutable std::mutex mutex_;
  std::map<Fault, int> faults_;
  std::vector<int> open_;  // sockets to shut down at the end
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace ck::test

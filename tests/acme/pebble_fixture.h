#pragma once
// A private Pebble ACME CA for one test: Debian's `pebble` with
// `pebble-challtestsrv` as its DNS server (every name resolves to 127.0.0.1),
// on free loopback ports, with a TLS certificate for its listener made by the
// test. Clients trust Pebble only through ca_file(); verification stays on.

#include <map>
#include <memory>
#include <string>

#include "tests/support/test_support.h"

namespace ck::test {

struct PebbleOptions {
  std::map<std::string, std::string> eab_keys;  // kid -> base64url HMAC key; requires EAB
  std::map<std::string, std::string> env;       // e.g. PEBBLE_WFE_NONCEREJECT=50
  int certificate_validity_seconds = 0;         // 0: Pebble's default (years)
  std::string dns_server;  // where Pebble resolves, ADDR:PORT; "": pebble-challtestsrv
};

class Pebble {
 public:
  explicit Pebble(PebbleOptions options = {});
  [[nodiscard]] std::string directory_url() const;
  [[nodiscard]] std::string ca_file() const { return (dir_ / "pebble-tls-root.pem").string(); }
  // Where Pebble's VA connects for http-01 (on 127.0.0.1).
  [[nodiscard]] int http_port() const { return http_port_; }
  [[nodiscard]] std::string http_listen() const {
    return "127.0.0.1:" + std::to_string(http_port_);
  }
  // Where Pebble's VA connects for tls-alpn-01.
  [[nodiscard]] std::string tls_alpn_listen() const {
    return "127.0.0.1:" + std::to_string(tls_port_);
  }
  // Pebble stopped (pebble-challtestsrv stays): its port refuses connections.
  void stop_ca();
  // Pebble again on the same ports, knowing nothing of before (accounts,
  // orders, roots): a CA that lost its data. False when it did not come up.
  [[nodiscard]] bool start_ca();
  // The PEM of issuance root `index` (0 is the default chain's root).
  [[nodiscard]] std::string root_pem(int index = 0) const;
  // Pebble's management view of a certificate serial's status ("Valid", "Revoked", ...).
  [[nodiscard]] std::string management_get(const std::string& path) const;
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_.path(); }
  // pebble-challtestsrv: Pebble's DNS, and its management API (set-txt, clear-txt).
  [[nodiscard]] std::string dns_address() const { return "127.0.0.1:" + std::to_string(dns_port_); }
  [[nodiscard]] std::string challtestsrv_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(chall_management_port_) + path;
  }

 private:
  // Starts pebble-challtestsrv and Pebble on the current ports; false when
  // they are not both up and answering.
  bool start(const PebbleOptions& options);

  TempDir dir_;
  int listen_port_ = free_port();
  int management_port_ = free_port();
  int http_port_ = free_port();
  int tls_port_ = free_port();
  int dns_port_ = free_port();
  int chall_management_port_ = free_port();
  std::unique_ptr<Process> challtestsrv_;
  std::vector<std::string> pebble_argv_;
  std::unique_ptr<Process> pebble_;
};

}  // namespace ck::test

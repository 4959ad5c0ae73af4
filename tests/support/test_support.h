#pragma once
// Shared test fixtures: temporary directories, files, child processes, free
// loopback ports, and a test PKI made through the OpenSSL API with fixed dates.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/keys.h"
#include "core/openssl.h"
#include "core/x509_build.h"

namespace ck::test {

// 2026-01-01T00:00:00Z: the fixed "now" of the test PKI. Certificates are made
// relative to it and checked with an explicit time, so nothing expires.
inline constexpr std::int64_t kT0 = 1767225600;
inline constexpr std::int64_t kDay = 86400;

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& path, const std::string& text, mode_t mode = 0644);
[[nodiscard]] std::string read_text(const std::filesystem::path& path);

// A key and certificate issued by TestPki.
struct Issued {
  ossl::PKey key;
  ossl::X509Ptr cert;
  [[nodiscard]] std::string cert_pem() const;
  [[nodiscard]] std::string key_pem() const;
};

// Makes roots, intermediates and leaves. Defaults: ECDSA P-256, valid from
// kT0 - 1 day for 90 days (leaves) or 10 years (CAs).
class TestPki {
 public:
  [[nodiscard]] static Issued root(const std::string& cn, KeyType key = KeyType::ecdsa_p256);
  [[nodiscard]] static Issued intermediate(const Issued& issuer, const std::string& cn);
  [[nodiscard]] static Issued leaf(const Issued& issuer, std::vector<std::string> dns_names,
                                   std::int64_t not_before = kT0 - kDay,
                                   std::int64_t not_after = kT0 + 89 * kDay,
                                   KeyType key = KeyType::ecdsa_p256);
  // Full control: `spec` as given, signed by `issuer` (self-signed when null).
  [[nodiscard]] static Issued make(CertificateSpec spec, const Issued* issuer,
                                   KeyType key = KeyType::ecdsa_p256);
  // With a key made by the caller (a weak RSA key, say).
  [[nodiscard]] static Issued make(CertificateSpec spec, const Issued* issuer, ossl::PKey key);

  struct Revoked {
    std::string serial_hex;
    int reason = -1;  // CRLReason; -1 for none
    std::int64_t at = kT0 - kDay;
  };
  // A DER CRL of `issuer` listing `revoked`, signed by `signer` (default: the
  // issuer's own key).
  [[nodiscard]] static std::string crl(const Issued& issuer, const std::vector<Revoked>& revoked,
                                       std::int64_t this_update, std::int64_t next_update,
                                       EVP_PKEY* signer = nullptr);
};

// The result of running a program to completion.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv (no shell) with optional extra environment, capturing output.
[[nodiscard]] RunResult run(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env = {});
// Runs the certkeeper binary under test.
[[nodiscard]] RunResult certkeeper(const std::vector<std::string>& args);
[[nodiscard]] std::string certkeeper_binary();

// A background process, killed (SIGTERM, then SIGKILL) when destroyed.
class Process {
 public:
  explicit Process(const std::vector<std::string>& argv,
                   const std::filesystem::path& log = "/dev/null",
                   const std::filesystem::path& cwd = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running();
  // Sends `signal` and waits (up to `limit`, then SIGKILL) for the process to
  // end; its exit code, or 128 + the signal that ended it.
  int stop(int signal, std::chrono::milliseconds limit = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
};

// A loopback port (TCP and UDP) free a moment ago, outside the kernel's
// ephemeral range and not handed to any other test process running alongside.
[[nodiscard]] int free_port();
// Waits until something accepts connections on 127.0.0.1:port.
[[nodiscard]] bool wait_for_port(int port,
                                 std::chrono::milliseconds limit = std::chrono::seconds(10));
// The same on another IPv4 loopback address ("127.0.0.2").
[[nodiscard]] bool wait_for_address(const std::string& ipv4, int port,
                                    std::chrono::milliseconds limit = std::chrono::seconds(10));
// A loopback TCP port held for a peer whose port must be known before it
// starts (an OCSP URL inside certificates made first): bound without
// SO_REUSEADDR and not listening, so that neither free_port() nor any other
// bind gets it, until release() just before the peer binds it itself.
class ReservedPort {
 public:
  ReservedPort();
  ~ReservedPort() { release(); }
  ReservedPort(const ReservedPort&) = delete;
  ReservedPort& operator=(const ReservedPort&) = delete;
  [[nodiscard]] int port() const { return port_; }
  void release();

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Whether process `pid`, or one of its children (a master's workers), holds a
// TCP socket listening on `port` (on any local address): the peer we started
// owns the port, not some other process.
[[nodiscard]] bool holds_listener(pid_t pid, int port);

// A peer started by start_listening(), and the port it listens on.
struct Listening {
  std::unique_ptr<Process> process;
  int port = 0;
};
// Starts a peer on a free port and waits until it listens there itself. A
// port free a moment ago may be taken before the peer binds it (other tests
// run alongside): the peer then exits or never owns the port, and it is
// started again on a new port, five times at most. `launch` starts it on the
// port it is given; `log` says what went wrong when it never listened.
[[nodiscard]] Listening start_listening(
    const std::function<std::unique_ptr<Process>(int port)>& launch, const std::string& what,
    const std::function<std::string()>& log = [] { return std::string(); });

// nginx in the foreground under `prefix` (its config, pid and logs there),
// started by start_listening(): `http_block(port)` is the inside of the http
// {} block for the port it is given.
[[nodiscard]] Listening start_nginx(const std::filesystem::path& prefix,
                                    const std::function<std::string(int port)>& http_block);

// Fails the test (throws) when `program` is not installed: a missing peer never passes.
void require_program(const std::string& program);

// Runs `body` in a network namespace of its own (root only), on a thread of
// its own: loopback up with 127.0.0.1 and `addresses` (127.x.y.z), and every
// process it starts and socket it opens there, so that servers may take port
// 53 without meeting anyone else's. An exception `body` throws (a failed
// REQUIRE) comes back out.
void in_network_namespace(const std::vector<std::string>& addresses,
                          const std::function<void()>& body);

// A plain-HTTP server on a loopback port that answers each request with
// respond(request: its head and its body) on its own thread. An empty answer means: keep the
// connection open and say nothing (to test timeouts).
class ScriptedHttpServer {
 public:
  explicit ScriptedHttpServer(std::function<std::string(const std::string&)> respond);
  ~ScriptedHttpServer();
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;
  [[nodiscard]] std::string url(const std::string& path) const;
  [[nodiscard]] std::string last_request() const;

 private:
  void serve();
  std::function<std::string(const std::string&)> respond_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::string last_request_;
  std::thread thread_;
};

// "HTTP/1.1 STATUS" with the headers (each ending in \r\n), a Content-Length and the body.
[[nodiscard]] std::string http_response(const std::string& status, const std::string& headers,
                                        const std::string& body);

// A certificate for a live server on loopback: common name `cn`, `ips` as its
// IP SANs, issued by `issuer`, valid from a day ago for 30 days of the real
// clock (the peers that check it use the real time).
[[nodiscard]] Issued loopback_server_certificate(const Issued& issuer, const std::string& cn,
                                                 const std::vector<std::string>& ips = {
                                                     "127.0.0.1"});

// `openssl s_server -WWW` serving the files of dir() over TLS on 127.0.0.1,
// with a certificate for `ips` issued by a test root (root.pem in dir()).
struct StaticTlsServer {
  explicit StaticTlsServer(const std::vector<std::string>& ips = {"127.0.0.1"});
  [[nodiscard]] std::string url(const std::string& path) const;
  [[nodiscard]] std::string ca_file() const { return (dir / "root.pem").string(); }

  TempDir dir;
  Issued root = TestPki::root("HTTP Test Root");
  int port = 0;
  std::unique_ptr<Process> server;
};

}  // namespace ck::test

#include "tests/support/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/pem.h"

extern char** environ;

namespace ck::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base ? base : "/tmp") + "/certkeeper-test-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_text(const fs::path& path, const std::string& text, mode_t mode) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  fs::permissions(path, static_cast<fs::perms>(mode));
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Issued::cert_pem() const {
  return certificate_to_pem(*cert).value();
}
std::string Issued::key_pem() const {
  return private_key_to_pem(*key).value();
}

Issued TestPki::make(CertificateSpec spec, const Issued* issuer, KeyType key_type) {
  auto key = generate_key(key_type);
  if (!key) {
    throw std::runtime_error(key.error().describe());
  }
  return make(std::move(spec), issuer, std::move(*key));
}

Issued TestPki::make(CertificateSpec spec, const Issued* issuer, ossl::PKey key) {
  EVP_PKEY& signer = issuer ? *issuer->key : *key;
  auto cert = build_certificate(spec, *key, issuer ? issuer->cert.get() : nullptr, signer);
  if (!cert) {
    throw std::runtime_error(cert.error().describe());
  }
  return Issued{std::move(key), std::move(*cert)};
}

std::string TestPki::crl(const Issued& issuer, const std::vector<Revoked>& revoked,
                         std::int64_t this_update, std::int64_t next_update, EVP_PKEY* signer) {
  ossl::X509CrlPtr crl(X509_CRL_new());
  ossl::Asn1Time last(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update)));
  ossl::Asn1Time next(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
  if (!crl || !last || !next || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.cert.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    throw std::runtime_error("cannot start a CRL");
  }
  for (const auto& r : revoked) {
    ossl::X509Revoked entry(X509_REVOKED_new());
    BIGNUM* raw = nullptr;
    if (BN_hex2bn(&raw, r.serial_hex.c_str()) == 0) {
      throw std::runtime_error("bad serial " + r.serial_hex);
    }
    ossl::BigNum bn(raw);
    ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    ossl::Asn1Time when(ASN1_TIME_set(nullptr, static_cast<time_t>(r.at)));
    if (!entry || !serial || !when ||
        X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1) {
      throw std::runtime_error("cannot make a CRL entry");
    }
    if (r.reason >= 0) {
      ossl::Asn1Enumerated reason(ASN1_ENUMERATED_new());
      if (!reason || ASN1_ENUMERATED_set(reason.get(), r.reason) != 1 ||
          X509_REVOKED_add1_ext_i2d(entry.get(), NID_crl_reason, reason.get(), 0, 0) != 1) {
        throw std::runtime_error("cannot set a CRL reason");
      }
    }
    if (X509_CRL_add0_revoked(crl.get(), entry.get()) != 1) {
      throw std::runtime_error("cannot add a CRL entry");
    }
    entry.release();  // owned by the CRL
  }
  if (X509_CRL_sort(crl.get()) != 1 ||
      X509_CRL_sign(crl.get(), signer ? signer : issuer.key.get(), EVP_sha256()) <= 0) {
    throw std::runtime_error("cannot sign the CRL");
  }
  unsigned char* der = nullptr;
  const int length = i2d_X509_CRL(crl.get(), &der);
  ossl::OpensslString owned(reinterpret_cast<char*>(der));
  if (length <= 0) {
    throw std::runtime_error("cannot encode the CRL");
  }
  return std::string(owned.get(), static_cast<std::size_t>(length));
}

Issued TestPki::root(const std::string& cn, KeyType key) {
  CertificateSpec spec;
  spec.common_name = cn;
  spec.organization = "certkeeper tests";
  spec.is_ca = true;
  spec.not_before = kT0 - 365 * kDay;
  spec.not_after = kT0 + 10 * 365 * kDay;
  return make(spec, nullptr, key);
}

Issued TestPki::intermediate(const Issued& issuer, const std::string& cn) {
  CertificateSpec spec;
  spec.common_name = cn;
  spec.organization = "certkeeper tests";
  spec.is_ca = true;
  spec.path_length = 0;
  spec.not_before = kT0 - 365 * kDay;
  spec.not_after = kT0 + 5 * 365 * kDay;
  return make(spec, &issuer);
}

Issued TestPki::leaf(const Issued& issuer, std::vector<std::string> dns_names,
                     std::int64_t not_before, std::int64_t not_after, KeyType key) {
  CertificateSpec spec;
  spec.common_name = dns_names.empty() ? "" : dns_names.front();
  spec.dns_names = std::move(dns_names);
  spec.not_before = not_before;
  spec.not_after = not_after;
  return make(spec, &issuer, key);
}

namespace {

std::vector<char*> c_args(std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (auto& a : argv) {
    out.push_back(a.data());
  }
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> environment_with(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    if (!extra.contains(entry.substr(0, entry.find('=')))) {
      env.push_back(entry);
    }
  }
  for (const auto& [k, v] : extra) {
    env.push_back(k + "=" + v);
  }
  return env;
}

}  // namespace

RunResult run(const std::vector<std::string>& argv_in,
              const std::map<std::string, std::string>& env_in) {
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> env = environment_with(env_in);
  auto args = c_args(argv);
  auto envp = c_args(env);
  fs::path out_file = fs::temp_directory_path() /
                      ("ck-out-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
  fs::path err_file = out_file.string() + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + argv_in[0]);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(out_file);
  result.err = read_text(err_file);
  fs::remove(out_file);
  fs::remove(err_file);
  return result;
}

std::string certkeeper_binary() {
  return CERTKEEPER_BINARY;
}

RunResult certkeeper(const std::vector<std::string>& args) {
  std::vector<std::string> argv{certkeeper_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

Process::Process(const std::vector<std::string>& argv_in, const fs::path& log,
                 const fs::path& cwd) {
  std::vector<std::string> argv = argv_in;
  auto args = c_args(argv);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  if (!cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  }
  int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + argv_in[0]);
  }
}

int Process::stop(int signal, std::chrono::milliseconds limit) {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool Process::running() {
  int status = 0;
  return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
}

Process::~Process() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

namespace {

// A port picked by bind(0) lies in the kernel's ephemeral range, where any
// outgoing connection (curl to Pebble, Pebble's validation, a probe) or another
// test's bind(0) may take it before the peer it was picked for binds it: seen as
// "cannot listen: Address already in use" about one suite run in twenty under
// load. So free_port() hands out ports the kernel never picks by itself, from a
// block of them that this test process alone holds.
struct PortRange {
  int first;
  int last;  // inclusive
};

PortRange ports_outside_ephemeral_range() {
  int low = 32768;
  int high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
  const PortRange below{10000, low - 1};
  const PortRange above{high + 1, 65535};
  return below.last - below.first >= above.last - above.first ? below : above;
}

bool loopback_port_bindable(int type, int port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return bound;
}

// The block is held by binding an abstract UNIX socket named after it: test
// processes running alongside skip it, and the kernel lets it go when the
// process ends, however it ends.
class PortBlock {
 public:
  static constexpr int kSize = 1000;

  PortBlock() {
    const PortRange range = ports_outside_ephemeral_range();
    const int blocks = (range.last - range.first + 1) / kSize;
    for (int i = 0; i < blocks; ++i) {
      const int block = (static_cast<int>(::getpid()) + i) % blocks;
      if (hold(block)) {
        first_ = range.first + block * kSize;
        return;
      }
    }
    throw std::runtime_error("free_port: every block of ports from " + std::to_string(range.first) +
                             " to " + std::to_string(range.last) +
                             " is held by another test process");
  }
  PortBlock(const PortBlock&) = delete;
  PortBlock& operator=(const PortBlock&) = delete;
  ~PortBlock() { ::close(holder_); }

  int next() {
    std::lock_guard lock(mutex_);
    for (int tries = 0; tries < kSize; ++tries) {
      const int port = first_ + next_++ % kSize;
      if (loopback_port_bindable(SOCK_STREAM, port) && loopback_port_bindable(SOCK_DGRAM, port)) {
        return port;
      }
    }
    throw std::runtime_error("free_port: no free port left in " + std::to_string(first_) + "-" +
                             std::to_string(first_ + kSize - 1));
  }

 private:
  bool hold(int block) {
    holder_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string name = "certkeeper-test-ports-" + std::to_string(block);
    std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] == 0: abstract
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (::bind(holder_, reinterpret_cast<sockaddr*>(&addr), len) == 0) {
      return true;
    }
    ::close(holder_);
    holder_ = -1;
    return false;
  }

  int holder_ = -1;
  int first_ = 0;
  int next_ = 0;
  std::mutex mutex_;
};

}  // namespace

int free_port() {
  static PortBlock block;
  return block.next();
}

bool wait_for_port(int port, std::chrono::milliseconds limit) {
  return wait_for_address("127.0.0.1", port, limit);
}

bool wait_for_address(const std::string& ipv4, int port, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (::inet_pton(AF_INET, ipv4.c_str(), &addr.sin_addr) != 1) {
      ::close(fd);
      return false;
    }
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

ReservedPort::ReservedPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot reserve a loopback port");
  }
  port_ = ntohs(addr.sin_port);
}

void ReservedPort::release() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

namespace {

// The inodes of TCP sockets listening on `port`, from /proc/net/tcp and tcp6.
std::vector<std::string> listening_inodes(int port) {
  std::vector<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      const auto colon = local.rfind(':');
      if (state == "0A" && colon != std::string::npos &&
          std::stoi(local.substr(colon + 1), nullptr, 16) == port) {
        inodes.push_back(inode);
      }
    }
  }
  return inodes;
}

}  // namespace

namespace {

// The children of `pid` (a master process's workers), from /proc.
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');  // the command may hold spaces and parentheses
    if (close == std::string::npos) {
      continue;
    }
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t parent = 0;
    rest >> state >> parent;
    if (parent == pid) {
      out.push_back(static_cast<pid_t>(std::stoi(name)));
    }
  }
  return out;
}

bool owns_socket(pid_t pid, const std::vector<std::string>& inodes) {
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    const std::string target = fs::read_symlink(fd.path(), ec).string();
    for (const std::string& inode : inodes) {
      if (target == "socket:[" + inode + "]") {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

bool holds_listener(pid_t pid, int port) {
  const auto inodes = listening_inodes(port);
  if (owns_socket(pid, inodes)) {
    return true;
  }
  // A master process may hand its listeners to its workers (HAProxy -W).
  for (pid_t child : children_of(pid)) {
    if (owns_socket(child, inodes)) {
      return true;
    }
  }
  return false;
}

Listening start_listening(const std::function<std::unique_ptr<Process>(int port)>& launch,
                          const std::string& what, const std::function<std::string()>& log) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    Listening peer{nullptr, free_port()};
    peer.process = launch(peer.port);
    for (int i = 0; i < 500 && peer.process->running(); ++i) {
      if (holds_listener(peer.process->pid(), peer.port)) {
        return peer;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  throw std::runtime_error(what + " did not start listening on a free port: " + log());
}

Listening start_nginx(const fs::path& prefix,
                      const std::function<std::string(int port)>& http_block) {
  require_program("nginx");
  fs::create_directories(prefix / "logs");
  return start_listening(
      [&](int port) {
        write_text(prefix / "nginx.conf",
                   "pid " + (prefix / "nginx.pid").string() + ";\nerror_log " +
                       (prefix / "logs/error.log").string() +
                       ";\nevents {}\nhttp {\n  access_log off;\n" + http_block(port) + "}\n");
        return std::make_unique<Process>(
            std::vector<std::string>{"nginx", "-p", prefix.string(), "-c",
                                     (prefix / "nginx.conf").string(), "-g", "daemon off;"},
            prefix / "logs/stdout.log");
      },
      "nginx", [&] { return read_text(prefix / "logs/error.log"); });
}

void in_network_namespace(const std::vector<std::string>& addresses,
                          const std::function<void()>& body) {
  if (::geteuid() != 0) {
    throw std::runtime_error("needs root, to make a network namespace of its own");
  }
  // A thread of its own: unshare(CLONE_NEWNET) moves only the calling thread,
  // and what it starts and opens afterwards.
  std::async(std::launch::async, [&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
    }
    if (run({"ip", "link", "set", "lo", "up"}).exit_code != 0) {
      throw std::runtime_error("cannot bring up loopback in the new network namespace");
    }
    for (const auto& address : addresses) {
      if (run({"ip", "addr", "add", address + "/8", "dev", "lo"}).exit_code != 0) {
        throw std::runtime_error("cannot add " + address + " to loopback");
      }
    }
    body();
  }).get();
}

void require_program(const std::string& program) {
  if (run({"sh", "-c", "command -v " + program}).exit_code != 0) {
    throw std::runtime_error("required test peer not installed: " + program +
                             " (run scripts/install-deps.sh)");
  }
}

Issued loopback_server_certificate(const Issued& issuer, const std::string& cn,
                                   const std::vector<std::string>& ips) {
  CertificateSpec spec;
  spec.common_name = cn;
  spec.ip_addresses = ips;
  spec.not_before = std::time(nullptr) - kDay;
  spec.not_after = std::time(nullptr) + 30 * kDay;
  return TestPki::make(spec, &issuer);
}

StaticTlsServer::StaticTlsServer(const std::vector<std::string>& ips) {
  require_program("openssl");
  const Issued leaf = loopback_server_certificate(root, "localhost", ips);
  write_text(dir / "server.pem", leaf.cert_pem());
  write_text(dir / "server.key", leaf.key_pem(), 0600);
  write_text(dir / "root.pem", root.cert_pem());
  auto peer = start_listening(
      [&](int on) {
        return std::make_unique<Process>(
            std::vector<std::string>{"openssl", "s_server", "-accept",
                                     "127.0.0.1:" + std::to_string(on), "-cert",
                                     (dir / "server.pem").string(), "-key",
                                     (dir / "server.key").string(), "-WWW", "-quiet"},
            dir / "s_server.log", dir.path());
      },
      "openssl s_server", [&] { return read_text(dir / "s_server.log"); });
  server = std::move(peer.process);
  port = peer.port;
}

std::string StaticTlsServer::url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(port) + path;
}

ScriptedHttpServer::ScriptedHttpServer(std::function<std::string(const std::string&)> respond)
    : respond_(std::move(respond)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0) {
    throw std::runtime_error("cannot listen on loopback");
  }
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ScriptedHttpServer::~ScriptedHttpServer() {
  stop_ = true;
  ::shutdown(fd_, SHUT_RDWR);
  ::close(fd_);
  thread_.join();
}

std::string ScriptedHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string ScriptedHttpServer::last_request() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

void ScriptedHttpServer::serve() {
  while (!stop_) {
    int client = ::accept(fd_, nullptr, nullptr);
    if (client < 0) {
      return;
    }
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(client, buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      request.append(buf, static_cast<std::size_t>(n));
    }
    // The body too, as long as its Content-Length says.
    std::string lower = request.substr(0, request.find("\r\n\r\n"));
    std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (const auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
      const std::size_t length = std::strtoul(lower.c_str() + at + 17, nullptr, 10);
      const std::size_t body_at = request.find("\r\n\r\n") + 4;
      while (request.size() < body_at + length) {
        ssize_t n = ::read(client, buf, sizeof buf);
        if (n <= 0) {
          break;
        }
        request.append(buf, static_cast<std::size_t>(n));
      }
    }
    {
      std::lock_guard lock(mutex_);
      last_request_ = request;
    }
    std::string answer = respond_(request);
    if (answer.empty()) {
      while (!stop_ && ::read(client, buf, sizeof buf) > 0) {
      }
    } else {
      static_cast<void>(::write(client, answer.data(), answer.size()));
    }
    ::close(client);
  }
}

std::string http_response(const std::string& status, const std::string& headers,
                          const std::string& body) {
  return "HTTP/1.1 " + status + "\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace ck::test

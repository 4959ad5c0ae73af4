#include "tests/acme/pebble_fixture.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

namespace ck::test {

Pebble::Pebble(PebbleOptions options) {
  require_program("pebble");
  require_program("pebble-challtestsrv");
  require_program("curl");
  Issued root = TestPki::root("Pebble TLS Test Root");
  CertificateSpec spec;
  spec.common_name = "localhost";
  spec.dns_names = {"localhost"};
  spec.ip_addresses = {"127.0.0.1"};
  spec.not_before = std::time(nullptr) - kDay;  // the client checks it at the real time
  spec.not_after = std::time(nullptr) + 30 * kDay;
  Issued tls = TestPki::make(spec, &root);
  write_text(dir_ / "pebble-tls-root.pem", root.cert_pem());
  write_text(dir_ / "tls.pem", tls.cert_pem());
  write_text(dir_ / "tls.key", tls.key_pem(), 0600);

  // A port free a moment ago may be taken by the time Pebble binds it (other
  // tests run alongside): then Pebble exits, and it starts again on new ports.
  for (int attempt = 1; !start(options); ++attempt) {
    const std::string logs = read_text(dir_ / "pebble.log") + read_text(dir_ / "challtestsrv.log");
    REQUIRE_MESSAGE(attempt < 5, "pebble did not start:\n" << logs);
    pebble_.reset();
    challtestsrv_.reset();
    for (int* port : {&listen_port_, &management_port_, &http_port_, &tls_port_, &dns_port_,
                      &chall_management_port_}) {
      *port = free_port();
    }
  }
}

bool Pebble::start(const PebbleOptions& options) {
  nlohmann::json config{
      {"pebble",
       {{"listenAddress", "127.0.0.1:" + std::to_string(listen_port_)},
        {"managementListenAddress", "127.0.0.1:" + std::to_string(management_port_)},
        {"certificate", (dir_ / "tls.pem").string()},
        {"privateKey", (dir_ / "tls.key").string()},
        {"httpPort", http_port_},
        {"tlsPort", tls_port_},
        {"ocspResponderURL", ""},
        {"externalAccountBindingRequired", !options.eab_keys.empty()},
        {"externalAccountMACKeys", options.eab_keys}}}};
  if (options.certificate_validity_seconds > 0) {
    config["pebble"]["certificateValidityPeriod"] = options.certificate_validity_seconds;
  }
  write_text(dir_ / "pebble.json", config.dump(2));

  const std::string dns = "127.0.0.1:" + std::to_string(dns_port_);
  challtestsrv_ = std::make_unique<Process>(
      std::vector<std::string>{"pebble-challtestsrv", "-http01", "", "-https01", "", "-tlsalpn01",
                               "", "-dns01", dns, "-management",
                               "127.0.0.1:" + std::to_string(chall_management_port_),
                               "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""},
      dir_ / "challtestsrv.log");
  pebble_argv_ = {"env", "PEBBLE_VA_NOSLEEP=1"};
  for (const auto& [k, v] : options.env) {
    pebble_argv_.push_back(k + "=" + v);
  }
  for (const std::string& a :
       {std::string("pebble"), std::string("-config"), (dir_ / "pebble.json").string(),
        std::string("-dnsserver"), options.dns_server.empty() ? dns : options.dns_server}) {
    pebble_argv_.push_back(a);
  }
  return wait_for_port(chall_management_port_) && start_ca();
}

void Pebble::stop_ca() {
  pebble_.reset();
}

bool Pebble::start_ca() {
  pebble_ = std::make_unique<Process>(pebble_argv_, dir_ / "pebble.log");
  if (!wait_for_port(listen_port_) || !wait_for_port(management_port_)) {
    return false;
  }
  // Listening is not enough: the ports may belong to someone else. Our Pebble
  // answers its directory and its root over TLS with our certificate.
  for (const std::string& url :
       {directory_url(), "https://127.0.0.1:" + std::to_string(management_port_) + "/roots/0"}) {
    if (run({"curl", "-sS", "--fail", "--max-time", "10", "--cacert", ca_file(), url}).exit_code !=
        0) {
      return false;
    }
  }
  return pebble_->running() && challtestsrv_->running();
}

std::string Pebble::directory_url() const {
  return "https://127.0.0.1:" + std::to_string(listen_port_) + "/dir";
}

std::string Pebble::management_get(const std::string& path) const {
  auto r = run({"curl", "-sS", "--fail", "--cacert", ca_file(),
                "https://127.0.0.1:" + std::to_string(management_port_) + path});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out;
}

std::string Pebble::root_pem(int index) const {
  return management_get("/roots/" + std::to_string(index));
}

}  // namespace ck::test

#pragma once
// The TOML configuration (default /etc/certkeeper/certkeeper.toml) and its
// validation. Parsing never stops at the first problem: every unknown key,
// wrong type, bad duration, unknown issuer reference and duplicate name is
// reported with its file, line and key path.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ck::daemon {

inline constexpr const char* kDefaultConfigPath = "/etc/certkeeper/certkeeper.toml";
inline constexpr const char* kDefaultStateDir = "/var/lib/certkeeper";
inline constexpr const char* kDefaultSocket = "/run/certkeeper/control.sock";

struct DaemonConfig {
  std::string state_dir = kDefaultStateDir;
  std::string socket = kDefaultSocket;
  std::string log_level = "info";
};

struct IssuerConfig {
  std::string name;
  std::string directory;             // ACME directory URL
  std::vector<std::string> contact;  // "mailto:..."
  std::string profile;               // ACME profile, "" = CA default
  std::string ca_file;               // trust for the ACME server's TLS, "" = system store
  std::string eab_kid;               // External Account Binding (RFC 8555 §7.3.4)
  std::string eab_hmac_key;          // base64url
  std::string preferred_chain;       // issuer CN of the preferred chain's top certificate
};

struct ChallengeConfig {
  std::string type = "http-01";        // http-01, dns-01, tls-alpn-01
  std::string webroot;                 // http-01 by files
  std::string listen;                  // http-01 / tls-alpn-01 built-in listener, ADDR:PORT
  std::vector<std::string> dns_hook;   // dns-01 hook argv
  std::string rfc2136_server;          // dns-01 by RFC 2136 update to ADDR[:PORT]...
  std::string tsig_key;                // ...signed with this BIND key file
  std::vector<std::string> resolvers;  // dns-01 propagation check, ADDR[:PORT]
};

struct DeployConfig {
  std::string fullchain;
  std::string cert;
  std::string chain;
  std::string key;
  std::string combined;             // HAProxy: the full chain and the key in one file
  std::vector<std::string> reload;  // argv run after a deploy
  std::string owner;
  std::string group;
  [[nodiscard]] bool any() const {
    return !fullchain.empty() || !cert.empty() || !chain.empty() || !key.empty() ||
           !combined.empty() || !reload.empty();
  }
};

struct CertificateConfig {
  std::string name;
  std::vector<std::string> domains;
  std::vector<std::string> ips;
  std::vector<std::string> issuers;  // in order of preference
  std::string key = "ecdsa-p256";
  bool reuse_key = false;
  std::string profile;
  std::string preferred_chain;
  std::optional<std::chrono::seconds> renew_before;  // unset: ARI, else a third of the lifetime
  ChallengeConfig challenge;
  DeployConfig deploy;
  std::string staple;              // OCSP staple output path
  std::vector<std::string> probe;  // HOST:PORT endpoints expected to serve it
  int line = 0;
};

// An expiry alert threshold: a time before notAfter ("14d") or a fraction of
// the lifetime left ("25%"), so that one rule fits 6-day and 90-day certificates.
struct ExpiryThreshold {
  std::optional<std::chrono::seconds> before;  // set for a time
  int percent_left = 0;                        // 1 to 99, for a fraction
  std::string label;                           // as written: "14d", "25%"
  bool operator==(const ExpiryThreshold&) const = default;
};

inline constexpr const char* kDefaultSendmail = "/usr/sbin/sendmail";

struct AlertsConfig {
  std::vector<ExpiryThreshold> before_expiry = {{std::chrono::days(30), 0, "30d"},
                                                {std::chrono::days(14), 0, "14d"},
                                                {std::chrono::days(7), 0, "7d"},
                                                {std::chrono::days(1), 0, "1d"},
                                                {std::nullopt, 25, "25%"}};
  int failure_streak = 3;            // renewal failures in a row that make a critical alert
  std::string webhook;               // JSON POST, TLS verified
  std::string webhook_ca_file;       // trust for the webhook's TLS; "" = system store
  std::vector<std::string> command;  // argv, the alert in its environment
  std::vector<std::string> email;    // recipients, through the local sendmail
  std::string sendmail = kDefaultSendmail;
};

// The optional HTTP listener for Prometheus metrics and the status page.
struct MetricsConfig {
  std::string listen;         // HOST:PORT, an IP literal; "" = no listener
  bool allow_remote = false;  // must be set for an address that is not loopback
};

struct Config {
  std::string path;  // where it was read from, "" for defaults
  DaemonConfig daemon;
  std::map<std::string, IssuerConfig> issuers;
  std::vector<CertificateConfig> certificates;
  AlertsConfig alerts;
  MetricsConfig metrics;
};

struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // "certificate[2].issuer", "" for syntax errors
  std::string message;

  // "file:line:column: key: message"
  [[nodiscard]] std::string describe() const;
};

struct ConfigResult {
  Config config;                        // meaningful only when ok()
  std::vector<Diagnostic> diagnostics;  // every problem found
  [[nodiscard]] bool ok() const { return diagnostics.empty(); }
};

// Why a name cannot be a dNSName identifier (an IP address, not LDH labels, a
// trailing dot...), or "" when it can; the same for an IP address. The
// configuration and `issue` check identifiers with these, before any CA is asked.
[[nodiscard]] std::string domain_problem(const std::string& domain);
[[nodiscard]] std::string ip_problem(const std::string& ip);

// What the configuration names on this machine and is not there: deploy
// directories, the reload program (present and executable), the owner and
// group. config check reports them; the service finds them at deploy time.
[[nodiscard]] std::vector<std::string> environment_problems(const Config& config);

// The ca_file of the configured issuer with this ACME directory; "" when none.
[[nodiscard]] std::string ca_file_for(const Config& config, const std::string& directory);

// What a valid configuration asks for that certkeeper does not do yet, one
// sentence each ("certificate www: deploy is not built yet: ..."), so that
// config check, the service and renew can say so instead of ignoring it.
// `only` limits it to one certificate's entries ("" = all, and [alerts]).
[[nodiscard]] std::vector<std::string> not_yet_built(const Config& config,
                                                     const std::string& only = "");

// Parses and validates configuration text; `file` names it in diagnostics.
[[nodiscard]] ConfigResult parse_config(std::string_view text, const std::string& file);
// Reads and parses a file; a missing or unreadable file is a diagnostic too.
[[nodiscard]] ConfigResult load_config(const std::filesystem::path& path);

}  // namespace ck::daemon

#include "daemon/lifecycle/config.h"

#include <grp.h>
#include <pwd.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <initializer_list>
#include <set>
#include <tuple>

#include "acme/rfc2136.h"
#include "core/atomic_file.h"
#include "core/base64.h"
#include "core/duration.h"
#include "core/host_port.h"
#include "core/ip_address.h"
#include "core/keys.h"
#include "store/layout.h"

namespace ck::daemon {
namespace {

using Keys = std::initializer_list<std::string_view>;

std::string node_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    default: return "a value";
  }
}

bool valid_ip(const std::string& text) {
  return ip_address_bytes(text).has_value();
}

// A DNS name as ACME accepts it: LDH labels, an optional leading "*." wildcard.
bool valid_domain(std::string_view name) {
  if (name.starts_with("*.")) {
    name.remove_prefix(2);
  }
  if (name.empty() || name.size() > 253 || name.back() == '.') {
    return false;
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63 || name[i - 1] == '-' || name[i - label] == '-') {
        return false;
      }
      label = 0;
      continue;
    }
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
    ++label;
  }
  return true;
}

// Walks the parsed TOML, collecting diagnostics and filling Config.
class Checker {
 public:
  Checker(std::string file, std::vector<Diagnostic>& out) : file_(std::move(file)), out_(out) {}

  void error(const toml::source_region& where, const std::string& key, std::string message) {
    out_.push_back(Diagnostic{file_, static_cast<int>(where.begin.line),
                              static_cast<int>(where.begin.column), key, std::move(message)});
  }

  void unknown_keys(const toml::table& table, const std::string& path, Keys allowed) {
    for (auto&& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        std::string list;
        for (auto a : allowed) {
          list += (list.empty() ? "" : ", ") + std::string(a);
        }
        error(key.source(), join(path, key.str()),
              "unknown key \"" + std::string(key.str()) + "\" (expected one of: " + list + ")");
      }
    }
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  // Reads an optional string into `out`; a wrong type is reported.
  bool string(const toml::table& t, const std::string& path, std::string_view key,
              std::string& out) {
    const toml::node* node = t.get(key);
    if (!node) {
      return false;
    }
    if (const auto* s = node->as_string()) {
      out = s->get();
      return true;
    }
    type_error(*node, join(path, key), "a string");
    return false;
  }

  bool boolean(const toml::table& t, const std::string& path, std::string_view key, bool& out) {
    const toml::node* node = t.get(key);
    if (!node) {
      return false;
    }
    if (const auto* b = node->as_boolean()) {
      out = b->get();
      return true;
    }
    type_error(*node, join(path, key), "a boolean");
    return false;
  }

  bool strings(const toml::table& t, const std::string& path, std::string_view key,
               std::vector<std::string>& out) {
    const toml::node* node = t.get(key);
    if (!node) {
      return false;
    }
    const auto* array = node->as_array();
    if (!array) {
      type_error(*node, join(path, key), "an array of strings");
      return false;
    }
    out.clear();
    bool ok = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& item = *array->get(i);
      if (const auto* s = item.as_string()) {
        out.push_back(s->get());
      } else {
        type_error(item, join(path, key) + "[" + std::to_string(i + 1) + "]", "a string");
        ok = false;
      }
    }
    return ok;
  }

  // A string or an array of strings, e.g. issuer = "a" or issuer = ["a", "b"].
  bool string_or_strings(const toml::table& t, const std::string& path, std::string_view key,
                         std::vector<std::string>& out) {
    const toml::node* node = t.get(key);
    if (node && node->is_string()) {
      out = {node->as_string()->get()};
      return true;
    }
    if (node && !node->is_array()) {
      type_error(*node, join(path, key), "a string or an array of strings");
      return false;
    }
    return strings(t, path, key, out);
  }

  std::optional<std::chrono::seconds> duration(const toml::node& node, const std::string& key) {
    const auto* s = node.as_string();
    if (!s) {
      type_error(node, key, "a duration string such as \"30d\"");
      return std::nullopt;
    }
    auto parsed = parse_duration(s->get());
    if (!parsed) {
      error(node.source(), key, parsed.error().message);
      return std::nullopt;
    }
    return *parsed;
  }

  const toml::table* table(const toml::table& t, const std::string& path, std::string_view key) {
    const toml::node* node = t.get(key);
    if (!node) {
      return nullptr;
    }
    if (!node->is_table()) {
      type_error(*node, join(path, key), "a table");
      return nullptr;
    }
    return node->as_table();
  }

  void type_error(const toml::node& node, const std::string& key, std::string_view expected) {
    error(node.source(), key,
          "expected " + std::string(expected) + ", found " + node_type_name(node));
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<Diagnostic>& out_;
};

void check_daemon(Checker& c, const toml::table& t, DaemonConfig& out) {
  c.unknown_keys(t, "daemon", {"state_dir", "socket", "log_level"});
  if (c.string(t, "daemon", "state_dir", out.state_dir) && out.state_dir.empty()) {
    c.error(t.get("state_dir")->source(), "daemon.state_dir", "must not be empty");
  }
  c.string(t, "daemon", "socket", out.socket);
  if (c.string(t, "daemon", "log_level", out.log_level)) {
    static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
    if (!kLevels.contains(out.log_level)) {
      c.error(t.get("log_level")->source(), "daemon.log_level",
              "unknown log level \"" + out.log_level + "\" (trace, debug, info, warn, error)");
    }
  }
}

// ACME is HTTPS (RFC 8555 §6.1); plain http:// only for a CA on this machine
// (a test CA on loopback), where nothing crosses a network.
std::string acme_directory_problem(const std::string& url) {
  if (url.starts_with("https://")) {
    return "";
  }
  if (!url.starts_with("http://")) {
    return "not an https URL: \"" + url + "\"";
  }
  const std::string_view rest = std::string_view(url).substr(7);
  const std::string_view authority = rest.substr(0, rest.find('/'));
  auto endpoint = parse_host_port(authority, 80);
  const bool local =
      endpoint &&
      (endpoint->host == "localhost" ||
       (ip_address_bytes(endpoint->host) && is_loopback(*ip_address_bytes(endpoint->host))));
  return local ? ""
               : "ACME needs https (RFC 8555 §6.1): \"" + url +
                     "\" (plain http:// only for a CA on loopback)";
}

void check_issuer(Checker& c, const std::string& name, const toml::node& node, IssuerConfig& out) {
  const std::string path = "issuer." + name;
  const auto* t = node.as_table();
  if (!t) {
    c.type_error(node, path, "a table");
    return;
  }
  out.name = name;
  c.unknown_keys(
      *t, path,
      {"directory", "contact", "profile", "ca_file", "eab_kid", "eab_hmac_key", "preferred_chain"});
  if (!c.string(*t, path, "directory", out.directory)) {
    if (!t->contains("directory")) {
      c.error(t->source(), path + ".directory", "missing: the ACME directory URL");
    }
  } else if (auto problem = acme_directory_problem(out.directory); !problem.empty()) {
    c.error(t->get("directory")->source(), path + ".directory", problem);
  }
  if (c.strings(*t, path, "contact", out.contact)) {
    for (const auto& contact : out.contact) {
      if (!contact.starts_with("mailto:")) {
        c.error(t->get("contact")->source(), path + ".contact",
                "contact \"" + contact + "\" must be a mailto: URI");
      }
    }
  }
  c.string(*t, path, "profile", out.profile);
  c.string(*t, path, "ca_file", out.ca_file);
  c.string(*t, path, "preferred_chain", out.preferred_chain);
  bool has_kid = c.string(*t, path, "eab_kid", out.eab_kid);
  bool has_key = c.string(*t, path, "eab_hmac_key", out.eab_hmac_key);
  if (has_kid != has_key) {
    c.error(t->source(), path, "eab_kid and eab_hmac_key go together: set both or neither");
  }
  if (has_key && !base64url_decode(out.eab_hmac_key)) {
    c.error(t->get("eab_hmac_key")->source(), path + ".eab_hmac_key",
            "not base64url (the CA gives the MAC key base64url-encoded, without padding)");
  }
}

// rfc2136 = { server = "ADDR[:PORT]", tsig_key = "PATH" }: the key file is
// read now, so that a wrong mode or a malformed key is said at load.
void check_rfc2136(Checker& c, const toml::table& t, const std::string& path,
                   ChallengeConfig& out) {
  c.unknown_keys(t, path, {"server", "tsig_key"});
  if (!c.string(t, path, "server", out.rfc2136_server) ||
      !c.string(t, path, "tsig_key", out.tsig_key)) {
    c.error(t.source(), path, "rfc2136 needs server (ADDR[:PORT]) and tsig_key (a key file)");
    return;
  }
  if (!acme::is_ipv4_server(out.rfc2136_server)) {
    c.error(t.get("server")->source(), path + ".server",
            "expected an IPv4 ADDR[:PORT] (IPv6 is not supported yet), found \"" +
                out.rfc2136_server + "\"");
  }
  if (auto key = acme::load_tsig_key(out.tsig_key); !key) {
    c.error(t.get("tsig_key")->source(), path + ".tsig_key", key.error().describe());
  }
}

void check_challenge(Checker& c, const toml::table& t, const std::string& path,
                     ChallengeConfig& out) {
  c.unknown_keys(t, path, {"type", "webroot", "listen", "dns_hook", "rfc2136", "resolvers"});
  c.string(t, path, "type", out.type);
  c.string(t, path, "webroot", out.webroot);
  c.string(t, path, "listen", out.listen);
  c.strings(t, path, "dns_hook", out.dns_hook);
  if (const auto* update = c.table(t, path, "rfc2136")) {
    check_rfc2136(c, *update, path + ".rfc2136", out);
  }
  if (c.strings(t, path, "resolvers", out.resolvers)) {
    for (const auto& resolver : out.resolvers) {
      if (auto server = parse_host_port(resolver, 53); !server) {
        c.error(t.get("resolvers")->source(), path + ".resolvers", server.error().message);
      }
    }
  }
  if (!out.listen.empty() && !parse_host_port(out.listen, 0)) {
    c.error(t.get("listen")->source(), path + ".listen",
            "expected ADDR:PORT, found \"" + out.listen + "\"");
  }
  if (out.type == "http-01") {
    if (out.webroot.empty() == out.listen.empty()) {
      c.error(t.source(), path, "http-01 needs exactly one of webroot or listen");
    }
  } else if (out.type == "dns-01") {
    if (out.dns_hook.empty() == out.rfc2136_server.empty()) {
      c.error(t.source(), path,
              "dns-01 needs exactly one of dns_hook (the program that sets the TXT record) or "
              "rfc2136 = { server, tsig_key } (dynamic updates)");
    }
  } else if (out.type == "tls-alpn-01") {
    if (out.listen.empty()) {
      c.error(t.source(), path, "tls-alpn-01 needs listen (ADDR:PORT of the built-in listener)");
    }
  } else {
    c.error(t.get("type") ? t.get("type")->source() : t.source(), path + ".type",
            "unknown challenge type \"" + out.type + "\" (http-01, dns-01, tls-alpn-01)");
  }
}

void check_deploy(Checker& c, const toml::table& t, const std::string& path, DeployConfig& out) {
  c.unknown_keys(t, path,
                 {"fullchain", "cert", "chain", "key", "combined", "reload", "owner", "group"});
  for (auto [key, field] : {std::pair{"fullchain", &out.fullchain}, std::pair{"cert", &out.cert},
                            std::pair{"chain", &out.chain}, std::pair{"key", &out.key},
                            std::pair{"combined", &out.combined}}) {
    if (c.string(t, path, key, *field) && !std::filesystem::path(*field).is_absolute()) {
      c.error(t.get(key)->source(), path + "." + key,
              "\"" + *field + "\" is relative: deploy paths are absolute");
    }
  }
  c.string(t, path, "owner", out.owner);
  c.string(t, path, "group", out.group);
  if (c.strings(t, path, "reload", out.reload) && out.reload.empty()) {
    c.error(t.get("reload")->source(), path + ".reload", "an empty command; remove it or fill it");
  }
  if (!out.key.empty() && out.fullchain.empty() && out.cert.empty() && out.combined.empty()) {
    c.error(t.source(), path, "a key without a certificate: add fullchain or cert");
  }
}

void check_identifiers(Checker& c, const toml::table& t, const std::string& path,
                       CertificateConfig& out) {
  if (c.strings(t, path, "domains", out.domains)) {
    for (const auto& domain : out.domains) {
      if (auto problem = domain_problem(domain); !problem.empty()) {
        c.error(t.get("domains")->source(), path + ".domains", problem);
      }
    }
  }
  if (c.strings(t, path, "ips", out.ips)) {
    for (const auto& ip : out.ips) {
      if (auto problem = ip_problem(ip); !problem.empty()) {
        c.error(t.get("ips")->source(), path + ".ips", problem);
      }
    }
  }
  if (!t.contains("domains") && !t.contains("ips")) {
    c.error(t.source(), path, "needs domains or ips (the names to certify)");
  }
}

void check_certificate(Checker& c, const toml::table& t, const std::string& path,
                       CertificateConfig& out) {
  out.line = static_cast<int>(t.source().begin.line);
  c.unknown_keys(t, path,
                 {"name", "domains", "ips", "issuer", "key", "reuse_key", "profile",
                  "preferred_chain", "renew_before", "challenge", "deploy", "staple", "probe"});
  if (!c.string(t, path, "name", out.name)) {
    if (!t.contains("name")) {
      c.error(t.source(), path + ".name", "missing: every certificate needs a name");
    }
  } else if (auto valid = store::validate_certificate_name(out.name); !valid) {
    c.error(t.get("name")->source(), path + ".name", valid.error().message);
  }
  check_identifiers(c, t, path, out);
  c.string_or_strings(t, path, "issuer", out.issuers);
  if (c.string(t, path, "key", out.key) && !parse_key_type(out.key)) {
    c.error(t.get("key")->source(), path + ".key", parse_key_type(out.key).error().message);
  }
  c.boolean(t, path, "reuse_key", out.reuse_key);
  c.string(t, path, "profile", out.profile);
  c.string(t, path, "preferred_chain", out.preferred_chain);
  if (const toml::node* node = t.get("renew_before")) {
    out.renew_before = c.duration(*node, path + ".renew_before");
  }
  if (const auto* challenge = c.table(t, path, "challenge")) {
    check_challenge(c, *challenge, path + ".challenge", out.challenge);
  }
  if (const auto* deploy = c.table(t, path, "deploy")) {
    check_deploy(c, *deploy, path + ".deploy", out.deploy);
  }
  c.string(t, path, "staple", out.staple);
  if (c.strings(t, path, "probe", out.probe)) {
    for (const auto& target : out.probe) {
      if (auto endpoint = parse_host_port(target, 443); !endpoint) {
        c.error(t.get("probe")->source(), path + ".probe", endpoint.error().message);
      }
    }
  }
}

// "14d" or "25%".
std::optional<ExpiryThreshold> expiry_threshold(Checker& c, const toml::node& node,
                                                const std::string& key) {
  const auto* text = node.as_string();
  if (text && text->get().ends_with('%')) {
    const std::string digits = text->get().substr(0, text->get().size() - 1);
    int percent = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), percent);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        percent < 1 || percent > 99) {
      c.error(node.source(), key, "a fraction of the lifetime must be 1% to 99%");
      return std::nullopt;
    }
    return ExpiryThreshold{std::nullopt, percent, text->get()};
  }
  auto before = c.duration(node, key);
  if (!before) {
    return std::nullopt;
  }
  return ExpiryThreshold{*before, 0, text->get()};
}

void check_alerts(Checker& c, const toml::table& t, AlertsConfig& out) {
  c.unknown_keys(t, "alerts",
                 {"before_expiry", "failure_streak", "webhook", "webhook_ca_file", "command",
                  "email", "sendmail"});
  if (const toml::node* node = t.get("before_expiry")) {
    if (const auto* array = node->as_array()) {
      out.before_expiry.clear();
      for (std::size_t i = 0; i < array->size(); ++i) {
        auto threshold = expiry_threshold(c, *array->get(i),
                                          "alerts.before_expiry[" + std::to_string(i + 1) + "]");
        if (threshold) {
          out.before_expiry.push_back(*threshold);
        }
      }
    } else {
      c.type_error(*node, "alerts.before_expiry", "an array of durations or percentages");
    }
  }
  if (const toml::node* node = t.get("failure_streak")) {
    const auto* n = node->as_integer();
    if (!n || n->get() < 2 || n->get() > 1000) {
      c.error(node->source(), "alerts.failure_streak", "must be a whole number from 2 to 1000");
    } else {
      out.failure_streak = static_cast<int>(n->get());
    }
  }
  if (c.string(t, "alerts", "webhook", out.webhook) && !out.webhook.starts_with("https://") &&
      !out.webhook.starts_with("http://")) {
    c.error(t.get("webhook")->source(), "alerts.webhook", "not an http(s) URL");
  }
  if (c.string(t, "alerts", "webhook_ca_file", out.webhook_ca_file) && out.webhook.empty()) {
    c.error(t.get("webhook_ca_file")->source(), "alerts.webhook_ca_file",
            "given without a webhook");
  }
  if (c.strings(t, "alerts", "command", out.command) && out.command.empty()) {
    c.error(t.get("command")->source(), "alerts.command", "an empty argv");
  }
  if (c.strings(t, "alerts", "email", out.email)) {
    for (const auto& address : out.email) {
      // One recipient each: sendmail -t reads them from the To: header.
      if (address.find('@') == std::string::npos ||
          address.find_first_of(",<>\r\n \t") != std::string::npos) {
        c.error(t.get("email")->source(), "alerts.email",
                "\"" + address + "\" is not one plain address (name@host)");
      }
    }
  }
  if (c.string(t, "alerts", "sendmail", out.sendmail) &&
      !std::filesystem::path(out.sendmail).is_absolute()) {
    c.error(t.get("sendmail")->source(), "alerts.sendmail", "must be an absolute path");
  }
}

// The listener serves unauthenticated pages: loopback only, unless the
// operator says otherwise in so many words.
void check_metrics(Checker& c, const toml::table& t, MetricsConfig& out) {
  c.unknown_keys(t, "metrics", {"listen", "allow_remote"});
  c.boolean(t, "metrics", "allow_remote", out.allow_remote);
  if (!c.string(t, "metrics", "listen", out.listen)) {
    return;
  }
  const auto& where = t.get("listen")->source();
  auto endpoint = parse_host_port(out.listen, 0);
  if (!endpoint) {
    c.error(where, "metrics.listen", endpoint.error().message + " (expected IP:PORT)");
    return;
  }
  auto bytes = ip_address_bytes(endpoint->host);
  if (!bytes) {
    c.error(where, "metrics.listen",
            "\"" + endpoint->host + "\" is not an IP address (give 127.0.0.1 or ::1, say)");
    return;
  }
  if (!is_loopback(*bytes) && !out.allow_remote) {
    c.error(where, "metrics.listen",
            endpoint->host +
                " is not a loopback address: the status page and metrics have no "
                "authentication; set metrics.allow_remote = true to serve them there anyway");
  }
}

// Issuer references and duplicate names need the whole file.
void check_references(Checker& c, const toml::array* certificates, Config& config) {
  std::map<std::string, int> first_line;
  for (std::size_t i = 0; i < config.certificates.size(); ++i) {
    CertificateConfig& cert = config.certificates[i];
    const toml::table& table = *certificates->get(i)->as_table();
    // Point at the key itself where it is present, else at the [[certificate]] header.
    auto where = [&](std::string_view key) -> const toml::source_region& {
      const toml::node* node = table.get(key);
      return node ? node->source() : table.source();
    };
    const std::string path = "certificate[" + std::to_string(i + 1) + "]";
    if (!cert.name.empty()) {
      auto [it, inserted] = first_line.emplace(cert.name, cert.line);
      if (!inserted) {
        c.error(where("name"), path + ".name",
                "duplicate certificate name \"" + cert.name + "\" (first defined on line " +
                    std::to_string(it->second) + ")");
      }
    }
    if (cert.issuers.empty() && config.issuers.size() == 1) {
      cert.issuers = {config.issuers.begin()->first};
    } else if (cert.issuers.empty()) {
      c.error(where("issuer"), path + ".issuer",
              config.issuers.empty() ? "no issuer: define an [issuer.NAME] table"
                                     : "missing: several issuers are defined, name one");
    }
    for (const auto& issuer : cert.issuers) {
      if (!config.issuers.contains(issuer)) {
        std::string known;
        for (const auto& [name, _] : config.issuers) {
          known += (known.empty() ? "" : ", ") + name;
        }
        c.error(where("issuer"), path + ".issuer",
                "unknown issuer \"" + issuer + "\" (defined: " + (known.empty() ? "none" : known) +
                    ")");
      }
    }
  }
}

void check_document(Checker& c, const toml::table& root, Config& config) {
  c.unknown_keys(root, "", {"daemon", "issuer", "certificate", "alerts", "metrics"});
  if (const auto* daemon = c.table(root, "", "daemon")) {
    check_daemon(c, *daemon, config.daemon);
  }
  if (const auto* issuers = c.table(root, "", "issuer")) {
    for (auto&& [name, node] : *issuers) {
      check_issuer(c, std::string(name.str()), node, config.issuers[std::string(name.str())]);
    }
  }
  const toml::array* certificates = nullptr;
  if (const toml::node* node = root.get("certificate")) {
    if (node->is_array_of_tables()) {
      certificates = node->as_array();
      for (std::size_t i = 0; i < certificates->size(); ++i) {
        check_certificate(c, *certificates->get(i)->as_table(),
                          "certificate[" + std::to_string(i + 1) + "]",
                          config.certificates.emplace_back());
      }
      check_references(c, certificates, config);
    } else {
      c.type_error(*node, "certificate", "an array of tables ([[certificate]])");
    }
  }
  if (const auto* alerts = c.table(root, "", "alerts")) {
    check_alerts(c, *alerts, config.alerts);
  }
  if (const auto* metrics = c.table(root, "", "metrics")) {
    check_metrics(c, *metrics, config.metrics);
  }
}

}  // namespace

std::string Diagnostic::describe() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  out += ": ";
  if (!key.empty()) {
    out += key + ": ";
  }
  return out + message;
}

std::string domain_problem(const std::string& domain) {
  if (valid_ip(domain)) {
    return "\"" + domain + "\" is an IP address: list it under ips (RFC 8738)";
  }
  if (!valid_domain(domain)) {
    return "\"" + domain + "\" is not a valid DNS name" +
           (domain.ends_with('.') ? " (no trailing dot)" : "");
  }
  return "";
}

std::string ip_problem(const std::string& ip) {
  return valid_ip(ip) ? "" : "\"" + ip + "\" is not an IP address";
}

std::vector<std::string> environment_problems(const Config& config) {
  std::vector<std::string> out;
  for (const auto& c : config.certificates) {
    const DeployConfig& d = c.deploy;
    const std::string who = "certificate " + c.name + ": deploy: ";
    for (const std::string* file : {&d.fullchain, &d.cert, &d.chain, &d.key, &d.combined}) {
      std::error_code ec;
      const auto folder = std::filesystem::path(*file).parent_path();
      if (!file->empty() && !std::filesystem::is_directory(folder, ec)) {
        out.push_back(who + "the folder " + folder.string() + " does not exist");
      }
    }
    if (!d.reload.empty() && d.reload.front().find('/') != std::string::npos &&
        ::access(d.reload.front().c_str(), X_OK) != 0) {
      out.push_back(who + "the reload program " + d.reload.front() +
                    " is not there or not executable");
    }
    if (!d.owner.empty() && ::getpwnam(d.owner.c_str()) == nullptr) {
      out.push_back(who + "no user named " + d.owner);
    }
    if (!d.group.empty() && ::getgrnam(d.group.c_str()) == nullptr) {
      out.push_back(who + "no group named " + d.group);
    }
  }
  const AlertsConfig& a = config.alerts;
  if (!a.command.empty() && a.command.front().find('/') != std::string::npos &&
      ::access(a.command.front().c_str(), X_OK) != 0) {
    out.push_back("alerts: the command " + a.command.front() + " is not there or not executable");
  }
  if (!a.email.empty() && ::access(a.sendmail.c_str(), X_OK) != 0) {
    out.push_back("alerts: e-mail needs " + a.sendmail +
                  ", which is not there or not executable (install an MTA, or set sendmail)");
  }
  if (!a.webhook_ca_file.empty() && ::access(a.webhook_ca_file.c_str(), R_OK) != 0) {
    out.push_back("alerts: the webhook_ca_file " + a.webhook_ca_file + " cannot be read");
  }
  return out;
}

std::string ca_file_for(const Config& config, const std::string& directory) {
  for (const auto& [name, issuer] : config.issuers) {
    if (issuer.directory == directory) {
      return issuer.ca_file;
    }
  }
  return "";
}

std::vector<std::string> not_yet_built(const Config&, const std::string&) {
  // Every key the configuration accepts is acted on today. A key accepted
  // before its behaviour lands is named here, in the words above.
  return {};
}

ConfigResult parse_config(std::string_view text, const std::string& file) {
  ConfigResult result;
  result.config.path = file;
  Checker checker(file, result.diagnostics);
  try {
    toml::table root = toml::parse(text, file);
    check_document(checker, root, result.config);
  } catch (const toml::parse_error& e) {
    checker.error(e.source(), "", std::string(e.description()));
  }
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  return result;
}

// Room for 100,000 [[certificate]] tables of a few lines each; a bound all the
// same, so that a wrong path (a disk image, /dev/zero) is refused, not read.
constexpr std::size_t kMaxConfigBytes = 64u << 20;

ConfigResult load_config(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxConfigBytes);
  if (!text) {
    ConfigResult result;
    result.diagnostics.push_back(Diagnostic{path.string(), 0, 0, "", text.error().message});
    return result;
  }
  return parse_config(*text, path.string());
}

}  // namespace ck::daemon

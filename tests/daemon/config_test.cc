#include <doctest/doctest.h>

#include "daemon/lifecycle/config.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::daemon;

namespace {

// The sketch from DESIGN.md, which must stay valid.
constexpr const char* kDesignExample = R"toml(
[daemon]
state_dir = "/var/lib/certkeeper"        # inventory.db, keys/, certs/
socket = "/run/certkeeper/control.sock"

[issuer.letsencrypt]
directory = "https://acme-v02.api.letsencrypt.org/directory"
contact = ["mailto:ops@example.com"]
profile = "tlsserver"                      # optional ACME profile

[[certificate]]
name = "www"
domains = ["example.com", "www.example.com"]
issuer = "letsencrypt"
key = "ecdsa-p256"
challenge = { type = "http-01", webroot = "/var/www/acme" }
deploy = { fullchain = "/etc/nginx/tls/www.pem", key = "/etc/nginx/tls/www.key", reload = ["systemctl", "reload", "nginx"] }
staple = "/etc/nginx/tls/www.ocsp"
probe = ["example.com:443"]

[alerts]
before_expiry = ["30d", "14d", "7d", "1d", "33%"]   # durations or fractions of the lifetime
webhook = "https://hooks.example.com/certkeeper"
command = ["/usr/local/bin/page-oncall"]
)toml";

std::string describe_all(const ConfigResult& result) {
  std::string out;
  for (const auto& d : result.diagnostics) {
    out += d.describe() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("good: the DESIGN.md example parses into its values") {
  auto result = parse_config(kDesignExample, "certkeeper.toml");
  INFO(describe_all(result));
  REQUIRE(result.ok());
  const Config& c = result.config;
  CHECK(c.daemon.state_dir == "/var/lib/certkeeper");
  REQUIRE(c.issuers.contains("letsencrypt"));
  CHECK(c.issuers.at("letsencrypt").profile == "tlsserver");
  REQUIRE(c.certificates.size() == 1);
  const auto& www = c.certificates[0];
  CHECK(www.name == "www");
  CHECK(www.issuers == std::vector<std::string>{"letsencrypt"});
  CHECK(www.challenge.webroot == "/var/www/acme");
  CHECK(www.deploy.reload == std::vector<std::string>{"systemctl", "reload", "nginx"});
  CHECK(www.line == 11);
  REQUIRE(c.alerts.before_expiry.size() == 5);
  CHECK(c.alerts.before_expiry[1].before == std::chrono::days(14));
  CHECK(c.alerts.before_expiry[1].label == "14d");
  CHECK_FALSE(c.alerts.before_expiry[4].before);
  CHECK(c.alerts.before_expiry[4].percent_left == 33);
  CHECK(c.alerts.webhook == "https://hooks.example.com/certkeeper");
  CHECK(c.alerts.sendmail == kDefaultSendmail);
}

TEST_CASE("good: defaults fill what is left out, and a lone issuer is implied") {
  auto result = parse_config(R"toml(
[issuer.ca]
directory = "https://ca.example/dir"
[[certificate]]
name = "api"
ips = ["192.0.2.10", "2001:db8::1"]
challenge = { type = "tls-alpn-01", listen = "0.0.0.0:443" }
renew_before = "10d"
)toml",
                             "c.toml");
  INFO(describe_all(result));
  REQUIRE(result.ok());
  CHECK(result.config.daemon.state_dir == kDefaultStateDir);
  CHECK(result.config.certificates[0].issuers == std::vector<std::string>{"ca"});
  CHECK(result.config.certificates[0].key == "ecdsa-p256");
  CHECK(result.config.certificates[0].renew_before == std::chrono::days(10));
}

TEST_CASE("bad configurations are reported with line and key") {
  struct Case {
    std::string name;
    const char* toml;
    int line;
    const char* key;
    const char* message;
  };
  const Case cases[] = {
      {"bad_syntax", "[daemon\nstate_dir = 1\n", 1, "", ""},
      {"bad_unknown_top_level", "[deamon]\nstate_dir = \"/x\"\n", 1, "deamon", "unknown key"},
      {"bad_unknown_key", "[daemon]\nstate_dir = \"/x\"\nstatedir = \"/y\"\n", 3, "daemon.statedir",
       "unknown key \"statedir\""},
      {"bad_type", "[daemon]\n\nstate_dir = 42\n", 3, "daemon.state_dir",
       "expected a string, found an integer"},
      {"bad_duration", "[alerts]\nbefore_expiry = [\"30d\",\n  \"2 weeks\"]\n", 3,
       "alerts.before_expiry[2]", "invalid duration"},
      {"bad_duration_type", "[alerts]\nbefore_expiry = [30]\n", 2, "alerts.before_expiry[1]",
       "expected a duration string"},
      {"bad_percent", "[alerts]\nbefore_expiry = [\"100%\"]\n", 2, "alerts.before_expiry[1]",
       "1% to 99%"},
      {"bad_percent_text", "[alerts]\nbefore_expiry = [\"x%\"]\n", 2, "alerts.before_expiry[1]",
       "1% to 99%"},
      {"bad_email", "[alerts]\nemail = [\"ops@example.com, cto@example.com\"]\n", 2, "alerts.email",
       "not one plain address"},
      {"bad_sendmail", "[alerts]\nemail = [\"ops@example.com\"]\nsendmail = \"sendmail\"\n", 3,
       "alerts.sendmail", "absolute path"},
      {"bad_webhook_ca", "[alerts]\nwebhook_ca_file = \"/etc/ca.pem\"\n", 2,
       "alerts.webhook_ca_file", "without a webhook"},
      {"bad_streak", "[alerts]\nfailure_streak = 1\n", 2, "alerts.failure_streak", "2 to 1000"},
      {"bad_log_level", "[daemon]\nlog_level = \"loud\"\n", 2, "daemon.log_level",
       "unknown log level"},
      {"bad_issuer_url", "[issuer.x]\ndirectory = \"ftp://x\"\n", 2, "issuer.x.directory",
       "not an https URL"},
      {"bad_issuer_plain_http", "[issuer.x]\ndirectory = \"http://acme.example/dir\"\n", 2,
       "issuer.x.directory", "ACME needs https"},
      {"bad_issuer_missing_directory", "[issuer.x]\ncontact = [\"mailto:a@b\"]\n", 1,
       "issuer.x.directory", "missing"},
      {"bad_contact", "[issuer.x]\ndirectory = \"https://x\"\ncontact = [\"ops@example.com\"]\n", 3,
       "issuer.x.contact", "mailto:"},
      {"bad_eab_half", "[issuer.x]\ndirectory = \"https://x\"\neab_kid = \"k\"\n", 1, "issuer.x",
       "eab_kid and eab_hmac_key go together"},
      {"bad_metrics_name", "[metrics]\nlisten = \"localhost:9118\"\n", 2, "metrics.listen",
       "not an IP address"},
      {"bad_metrics_port", "[metrics]\nlisten = \"127.0.0.1\"\n", 2, "metrics.listen", "IP:PORT"},
      {"bad_metrics_remote", "[metrics]\nlisten = \"0.0.0.0:9118\"\n", 2, "metrics.listen",
       "allow_remote"},
      {"bad_certificate_not_array", "[certificate]\nname = \"x\"\n", 1, "certificate",
       "array of tables"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto result = parse_config(c.toml, "test.toml");
    INFO(describe_all(result));
    REQUIRE_FALSE(result.ok());
    const Diagnostic& d = result.diagnostics.front();
    CHECK(d.file == "test.toml");
    CHECK(d.line == c.line);
    CHECK(d.key == c.key);
    CHECK(d.message.find(c.message) != std::string::npos);
  }
}

TEST_CASE("bad certificate entries are each reported against their own entry") {
  const char* toml = R"toml([issuer.a]
directory = "https://a.example/dir"

[issuer.b]
directory = "https://b.example/dir"

[[certificate]]
name = "www"
domains = ["www.example.com"]
issuer = "a"
challenge = { type = "http-01", webroot = "/srv/acme" }

[[certificate]]
name = "www"
domains = ["bad_name!.example.com"]
issuer = ["a", "c"]
key = "rsa1024"
challenge = { type = "dns-01" }
renew_before = "soon"
colour = "blue"

[[certificate]]
name = "../etc"
ips = ["300.1.1.1"]
)toml";
  auto result = parse_config(toml, "multi.toml");
  const std::string all = describe_all(result);
  INFO(all);
  CHECK(result.diagnostics.size() == 10);
  for (std::size_t i = 1; i < result.diagnostics.size(); ++i) {
    CHECK(result.diagnostics[i - 1].line <= result.diagnostics[i].line);  // in file order
  }
  // Every problem is reported, not only the first.
  for (std::string expected : {
           "multi.toml:14:8: certificate[2].name: duplicate certificate name \"www\" (first "
           "defined on line 7)",
           "multi.toml:15:11: certificate[2].domains: \"bad_name!.example.com\" is not a valid DNS "
           "name",
           "multi.toml:16:10: certificate[2].issuer: unknown issuer \"c\" (defined: a, b)",
           "multi.toml:17:7: certificate[2].key: unknown key type \"rsa1024\"",
           "certificate[2].challenge: dns-01 needs exactly one of dns_hook",
           "multi.toml:19:16: certificate[2].renew_before: invalid duration \"soon\"",
           "multi.toml:20:1: certificate[2].colour: unknown key \"colour\"",
           "multi.toml:23:8: certificate[3].name: invalid certificate name \"../etc\"",
           "multi.toml:24:7: certificate[3].ips: \"300.1.1.1\" is not an IP address",
           "certificate[3].issuer: missing: several issuers are defined, name one",
       }) {
    CAPTURE(expected);
    CHECK(all.find(expected) != std::string::npos);
  }
}

TEST_CASE("metrics: off by default; loopback as given; another address only when allowed") {
  CHECK(parse_config("", "t.toml").config.metrics.listen.empty());
  auto loopback = parse_config("[metrics]\nlisten = \"[::1]:9118\"\n", "t.toml");
  REQUIRE(loopback.ok());
  CHECK(loopback.config.metrics.listen == "[::1]:9118");
  auto remote =
      parse_config("[metrics]\nlisten = \"0.0.0.0:9118\"\nallow_remote = true\n", "t.toml");
  INFO(describe_all(remote));
  CHECK(remote.ok());
}

TEST_CASE("bad: a missing file is a diagnostic naming it") {
  auto result = load_config("/nonexistent/certkeeper.toml");
  REQUIRE_FALSE(result.ok());
  CHECK(result.diagnostics[0].describe().find("/nonexistent/certkeeper.toml") != std::string::npos);
  CHECK(result.diagnostics[0].message.find("No such file") != std::string::npos);
}

TEST_CASE("bad: an IP address among the domains is pointed to ips") {
  auto result = parse_config(R"toml([issuer.a]
directory = "https://a.example/dir"

[[certificate]]
name = "box"
domains = ["192.0.2.7"]
challenge = { type = "http-01", webroot = "/srv/acme" }
)toml",
                             "ip.toml");
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].describe() ==
        "ip.toml:6:11: certificate[1].domains: \"192.0.2.7\" is an IP address: list it under ips "
        "(RFC 8738)");
}

TEST_CASE("probe targets and resolvers take HOST[:PORT] as the command line does") {
  auto with = [](const std::string& lines) {
    return "[issuer.a]\ndirectory = \"https://ca.example\"\n\n[[certificate]]\nname = \"www\"\n"
           "domains = [\"example.com\"]\n" +
           lines;
  };
  const std::string good[] = {
      "probe = [\"example.com\", \"example.com:8443\", \"[2001:db8::1]:443\", \"192.0.2.1\"]\n",
      "challenge = { type = \"dns-01\", dns_hook = [\"/bin/true\"], resolvers = [\"127.0.0.1\", "
      "\"127.0.0.1:5353\"] }\n",
  };
  for (const auto& lines : good) {
    CAPTURE(lines);
    auto result = parse_config(with(lines), "t.toml");
    CHECK_MESSAGE(result.ok(), describe_all(result));
  }
  const std::pair<std::string, std::string> bad[] = {
      {"probe = [\"example.com:99999\"]\n", "is not 1-65535"},
      {"probe = [\":443\"]\n", "no host"},
      {"challenge = { type = \"dns-01\", dns_hook = [\"/bin/true\"], resolvers = [\"[::1\"] }\n",
       "unbalanced ["},
  };
  for (const auto& [lines, message] : bad) {
    CAPTURE(lines);
    auto result = parse_config(with(lines), "t.toml");
    REQUIRE_FALSE(result.ok());
    CHECK(describe_all(result).find(message) != std::string::npos);
  }
}

TEST_CASE("dns-01 by RFC 2136: a server and a key file, read and checked at load") {
  ck::test::TempDir dir;
  const auto key = dir.path() / "ck.key";
  ck::test::write_text(
      key, "key \"ck-key\" { algorithm hmac-sha256; secret \"c2VjcmV0LXNlY3JldA==\"; };\n", 0600);
  const auto open_key = dir.path() / "open.key";
  ck::test::write_text(open_key, ck::test::read_text(key), 0644);
  auto with = [](const std::string& challenge) {
    return "[issuer.a]\ndirectory = \"https://ca.example\"\n\n[[certificate]]\nname = \"www\"\n"
           "domains = [\"example.com\"]\nchallenge = " +
           challenge + "\n";
  };
  auto good = parse_config(
      with("{ type = \"dns-01\", rfc2136 = { server = \"127.0.0.1:5353\", tsig_key = \"" +
           key.string() + "\" } }"),
      "t.toml");
  REQUIRE_MESSAGE(good.ok(), describe_all(good));
  CHECK(good.config.certificates[0].challenge.rfc2136_server == "127.0.0.1:5353");
  CHECK(good.config.certificates[0].challenge.tsig_key == key.string());
  const std::pair<std::string, std::string> bad[] = {
      {"{ type = \"dns-01\", rfc2136 = { server = \"ns1.example.com\", tsig_key = \"" +
           key.string() + "\" } }",
       "expected an IPv4 ADDR[:PORT]"},
      {"{ type = \"dns-01\", rfc2136 = { server = \"[::1]:53\", tsig_key = \"" + key.string() +
           "\" } }",
       "IPv6 is not supported yet"},
      {"{ type = \"dns-01\", rfc2136 = { server = \"127.0.0.1\" } }", "needs server"},
      {"{ type = \"dns-01\", rfc2136 = { server = \"127.0.0.1\", tsig_key = \"" +
           open_key.string() + "\" } }",
       "mode 0644"},
      {"{ type = \"dns-01\", rfc2136 = { server = \"127.0.0.1\", tsig_key = \"" + key.string() +
           "\", zone = \"x\" } }",
       "unknown key \"zone\""},
      {"{ type = \"dns-01\", dns_hook = [\"/bin/true\"], rfc2136 = { server = \"127.0.0.1\", "
       "tsig_key = \"" +
           key.string() + "\" } }",
       "exactly one of dns_hook"},
  };
  for (const auto& [challenge, message] : bad) {
    CAPTURE(challenge);
    auto result = parse_config(with(challenge), "t.toml");
    REQUIRE_FALSE(result.ok());
    CHECK_MESSAGE(describe_all(result).find(message) != std::string::npos, describe_all(result));
    CHECK(describe_all(result).find("c2VjcmV0") == std::string::npos);
  }
}

TEST_CASE("deploy paths are absolute, and a key goes with a certificate") {
  auto with = [](const std::string& deploy) {
    return "[issuer.a]\ndirectory = \"https://ca.example\"\n\n[[certificate]]\nname = \"www\"\n"
           "domains = [\"example.com\"]\ndeploy = " +
           deploy + "\n";
  };
  CHECK(parse_config(with("{ fullchain = \"/etc/x/www.pem\", key = \"/etc/x/www.key\", combined = "
                          "\"/etc/haproxy/www.pem\", reload = [\"/bin/true\"] }"),
                     "t.toml")
            .ok());
  const std::pair<std::string, std::string> bad[] = {
      {"{ fullchain = \"tls/www.pem\" }", "is relative: deploy paths are absolute"},
      {"{ combined = \"www.pem\" }", "is relative"},
      {"{ key = \"/etc/x/www.key\" }", "a key without a certificate"},
      {"{ fullchain = \"/etc/x/www.pem\", colour = \"red\" }", "unknown key \"colour\""},
  };
  for (const auto& [deploy, message] : bad) {
    CAPTURE(deploy);
    auto result = parse_config(with(deploy), "t.toml");
    REQUIRE_FALSE(result.ok());
    CHECK(describe_all(result).find(message) != std::string::npos);
  }
}

#pragma once
// dns-01 (RFC 8555 §8.4) without a script: the TXT record written by a DNS
// dynamic update (RFC 2136) signed with TSIG (RFC 8945), the way BIND, Knot,
// PowerDNS and Windows DNS take them.
//
// For each challenge: _acme-challenge.NAME's CNAMEs are followed (a challenge
// delegated to a zone only automation writes), the zone of the record found by
// its SOA, the record added with a short TTL, and the CA is told only once the
// updated server, every server of the zone's NS set (and every --dns-resolver)
// serves it. Afterwards exactly the
// value that was added is deleted, so that concurrent orders for one name
// never remove each other's records. Built on ldns: it encodes and signs the
// messages and checks the server's signature on its answers.

#include <chrono>
#include <filesystem>
#include <stop_token>
#include <string>
#include <vector>

#include "acme/issuance.h"

namespace ck::acme {

// A TSIG key as BIND's tsig-keygen writes it:
//   key "NAME" { algorithm hmac-sha256; secret "BASE64"; };
// The secret is never printed, logged or put in an error.
struct TsigKey {
  std::string name;       // "ck-key"
  std::string algorithm;  // hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512
  std::string secret;     // base64, as in the file
};

// The key in `text`; Errc::parse saying what is wrong (never quoting the secret).
[[nodiscard]] Result<TsigKey> parse_tsig_key(std::string_view text);

// The key file at `path`, refused unless it is a regular file owned by root or
// by this process's user, and readable by its owner and group only (mode 0600,
// 0640 or stricter).
[[nodiscard]] Result<TsigKey> load_tsig_key(const std::filesystem::path& path);

// Whether `server` is an IPv4 ADDR[:PORT], as the RFC 2136 server must be (the
// propagation check asks over IPv4; IPv6 is not supported yet).
[[nodiscard]] bool is_ipv4_server(const std::string& server);

struct Rfc2136Options {
  std::string server;  // the primary that takes updates: an IPv4 ADDR[:PORT]
  TsigKey key;
  std::vector<std::string> resolvers;  // also checked before the CA is told, ADDR[:PORT]
  std::chrono::seconds propagation_timeout{120};
  std::stop_token stop;
};

class Rfc2136Solver final : public ChallengeSolver {
 public:
  explicit Rfc2136Solver(Rfc2136Options options) : options_(std::move(options)) {}
  [[nodiscard]] std::string_view type() const override { return "dns-01"; }
  [[nodiscard]] Status present(const Identifier& identifier, const Challenge& challenge,
                               const std::string& key_authorization) override;
  void cleanup(const Identifier& identifier, const Challenge& challenge) override;

 private:
  struct Written {
    std::string challenge_url;
    std::string record;  // the name written, after CNAMEs, absolute
    std::string zone;
    std::string value;
  };
  Rfc2136Options options_;
  std::vector<Written> written_;
};

// The name that `name` (absolute) leads to through CNAMEs at `server`, at
// most 8 of them; the name itself when it is not a CNAME.
[[nodiscard]] Result<std::string> follow_cnames(const std::string& server, std::string name);

// The IPv4 addresses (ADDR:53) of `zone`'s name servers: its NS set at
// `server`, each name's A records from `server` (in-zone names, glue) or else
// from the system's resolver.
[[nodiscard]] Result<std::vector<std::string>> name_servers(const std::string& server,
                                                            const std::string& zone);

// The zone `name` (absolute) is in, by the SOA `server` gives for it.
[[nodiscard]] Result<std::string> find_zone(const std::string& server, const std::string& name);

}  // namespace ck::acme

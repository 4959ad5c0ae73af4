#include "acme/rfc2136.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <sstream>

#include "acme/dns01.h"
#include "core/base64.h"
#include "core/host_port.h"
#include "core/openssl.h"

namespace ck::acme {
namespace {

// ldns objects (and what ldns allocates for us), each freed by its own
// function, as core/openssl.h's handles are.
template <auto FreeFn>
using FreedBy = ossl::Deleter<FreeFn>;
using Resolver = std::unique_ptr<ldns_resolver, FreedBy<ldns_resolver_deep_free>>;
using Packet = std::unique_ptr<ldns_pkt, FreedBy<ldns_pkt_free>>;
using Rdf = std::unique_ptr<ldns_rdf, FreedBy<ldns_rdf_deep_free>>;
using Rr = std::unique_ptr<ldns_rr, FreedBy<ldns_rr_free>>;
using RrList = std::unique_ptr<ldns_rr_list, FreedBy<ldns_rr_list_deep_free>>;
using Text = std::unique_ptr<char, FreedBy<free>>;
using Wire = std::unique_ptr<std::uint8_t, FreedBy<free>>;
using Buffer = std::unique_ptr<ldns_buffer, FreedBy<ldns_buffer_free>>;
using SocketAddress = std::unique_ptr<sockaddr_storage, FreedBy<free>>;

constexpr int kMaxCnames = 8;
constexpr std::uint32_t kRecordTtl = 60;  // short: the record lives for one validation
constexpr std::array kAlgorithms{"hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"};

std::string rdf_text(const ldns_rdf* rdf) {
  const Text text(ldns_rdf2str(rdf));
  return text ? std::string(text.get()) : std::string("?");
}

// The words of a BIND configuration: quoted strings, braces, semicolons and
// bare words; comments (#, //, /* */) dropped.
Result<std::vector<std::string>> tokens(std::string_view text) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#' || text.substr(i, 2) == "//") {
      i = text.find('\n', i);
    } else if (text.substr(i, 2) == "/*") {
      const std::size_t end = text.find("*/", i + 2);
      if (end == std::string_view::npos) {
        return fail(Errc::parse, "a comment that never ends");
      }
      i = end + 2;
    } else if (c == '"') {
      const std::size_t end = text.find('"', i + 1);
      if (end == std::string_view::npos) {
        return fail(Errc::parse, "a quoted string that never ends");
      }
      out.emplace_back(text.substr(i, end - i + 1));
      i = end + 1;
    } else if (c == '{' || c == '}' || c == ';') {
      out.emplace_back(1, c);
      ++i;
    } else {
      std::size_t end = i;
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
             text[end] != ';' && text[end] != '{' && text[end] != '}' && text[end] != '"') {
        ++end;
      }
      out.emplace_back(text.substr(i, end - i));
      i = end;
    }
    if (i == std::string_view::npos) {
      break;
    }
  }
  return out;
}

std::string unquoted(const std::string& token) {
  return token.size() >= 2 && token.front() == '"' ? token.substr(1, token.size() - 2) : token;
}

// The address of "ADDR[:PORT]" as ldns holds one, and its port.
Result<std::pair<Rdf, std::uint16_t>> server_address(const std::string& server) {
  CK_TRY(address, parse_host_port(server, 53));
  const bool v6 = address.host.find(':') != std::string::npos;
  Rdf rdf(ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, address.host.c_str()));
  if (!rdf) {
    return fail(Errc::invalid_argument, "the DNS server must be an IP ADDR[:PORT]", server);
  }
  return std::pair{std::move(rdf), static_cast<std::uint16_t>(address.port)};
}

// A resolver that asks only `server`, without recursion; signing with `key` when given.
Result<Resolver> resolver_for(const std::string& server, const TsigKey* key) {
  CK_TRY(address, server_address(server));
  const auto& [rdf, port] = address;
  Resolver r(ldns_resolver_new());
  if (!r) {
    return fail(Errc::internal, "cannot make a DNS resolver", server);
  }
  if (ldns_resolver_push_nameserver(r.get(), rdf.get()) != LDNS_STATUS_OK) {
    return fail(Errc::internal, "cannot use the DNS server", server);
  }
  ldns_resolver_set_port(r.get(), port);
  ldns_resolver_set_recursive(r.get(), false);
  ldns_resolver_set_timeout(r.get(), timeval{5, 0});
  ldns_resolver_set_retry(r.get(), 2);
  if (key) {
    ldns_resolver_set_tsig_keyname(r.get(), (key->name + ".").c_str());
    ldns_resolver_set_tsig_algorithm(r.get(), (key->algorithm + ".").c_str());
    ldns_resolver_set_tsig_keydata(r.get(), key->secret.c_str());
  }
  return r;
}

Result<Packet> ask(const std::string& server, const std::string& name, ldns_rr_type type) {
  CK_TRY(r, resolver_for(server, nullptr));
  const Rdf dname(ldns_dname_new_frm_str(name.c_str()));
  if (!dname) {
    return fail(Errc::invalid_argument, "not a DNS name", name);
  }
  ldns_pkt* answer = nullptr;
  const ldns_status status =
      ldns_resolver_query_status(&answer, r.get(), dname.get(), type, LDNS_RR_CLASS_IN, 0);
  Packet owned(answer);
  if (status != LDNS_STATUS_OK || !owned) {
    return fail(Errc::network,
                std::string("no answer from the DNS server: ") + ldns_get_errorstr_by_id(status),
                server, true);
  }
  const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(owned.get());
  if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
    const ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, rcode);
    return fail(
        Errc::protocol,
        "the DNS server answered " + std::string(entry ? entry->name : "an error") + " for " + name,
        server);
  }
  return owned;
}

bool same_name(const ldns_rdf* a, const std::string& b) {
  const Rdf other(ldns_dname_new_frm_str(b.c_str()));
  return other && ldns_dname_compare(a, other.get()) == 0;
}

// What a refused update says: the rcode, and the TSIG error the server put in its answer.
std::string refusal(const ldns_pkt* answer) {
  const ldns_lookup_table* rcode = ldns_lookup_by_id(ldns_rcodes, ldns_pkt_get_rcode(answer));
  std::string why = rcode ? rcode->name : "an error";
  const ldns_rr* tsig = ldns_pkt_tsig(answer);
  if (tsig && ldns_rr_rd_count(tsig) > 5) {
    switch (ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5))) {
      case 16: why += " (BADSIG: the key's secret differs from the server's)"; break;
      case 17: why += " (BADKEY: the server does not know this key)"; break;
      case 18: why += " (BADTIME: this machine's clock and the server's differ)"; break;
      default: break;
    }
  }
  return why;
}

// Sends the signed `request` to the server by TCP; its answer, whose TSIG
// `verified` says. (ldns's own send drops an answer it cannot verify, and with
// it the server's reason: BADKEY, BADSIG, BADTIME come back unsigned.)
struct Answer {
  Packet packet;
  bool verified = false;
};
Result<Answer> exchange(const std::string& server, const TsigKey& key, const ldns_pkt& request) {
  CK_TRY(address, server_address(server));
  std::size_t to_length = 0;
  const SocketAddress to(
      ldns_rdf2native_sockaddr_storage(address.first.get(), address.second, &to_length));
  const Buffer query(ldns_buffer_new(LDNS_MAX_PACKETLEN));
  if (!to || !query || ldns_pkt2buffer_wire(query.get(), &request) != LDNS_STATUS_OK) {
    return fail(Errc::invalid_argument, "cannot send an update to the DNS server", server);
  }
  std::uint8_t* raw = nullptr;
  std::size_t length = 0;
  const ldns_status sent = ldns_tcp_send(
      &raw, query.get(), to.get(), static_cast<socklen_t>(to_length), timeval{10, 0}, &length);
  const Wire wire(raw);
  ldns_pkt* parsed = nullptr;
  if (sent != LDNS_STATUS_OK || !wire ||
      ldns_wire2pkt(&parsed, wire.get(), length) != LDNS_STATUS_OK) {
    return fail(Errc::network,
                std::string("no answer from the DNS server: ") + ldns_get_errorstr_by_id(sent),
                server, true);
  }
  Answer answer{Packet(parsed), false};
  const ldns_rr* request_tsig = ldns_pkt_tsig(&request);
  answer.verified =
      request_tsig && ldns_pkt_tsig(answer.packet.get()) &&
      ldns_pkt_tsig_verify(answer.packet.get(), wire.get(), length, (key.name + ".").c_str(),
                           key.secret.c_str(), ldns_rr_rdf(request_tsig, 3));
  return answer;
}

// Adds (or, with `add` false, deletes exactly) the TXT `value` at `record` in `zone`.
Status update(const Rfc2136Options& options, const std::string& zone, const std::string& record,
              const std::string& value, bool add) {
  const std::string where = options.server + ", zone " + zone + ", key " + options.key.name;
  CK_TRY(r, resolver_for(options.server, &options.key));
  ldns_rr* parsed = nullptr;
  const std::string text = record + " " + std::to_string(kRecordTtl) + " IN TXT \"" + value + "\"";
  if (ldns_rr_new_frm_str(&parsed, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
    return fail(Errc::internal, "cannot make the TXT record", record);
  }
  Rr rr(parsed);
  if (!add) {  // RFC 2136 §2.5.4: class NONE, TTL 0 deletes this one RR
    ldns_rr_set_class(rr.get(), LDNS_RR_CLASS_NONE);
    ldns_rr_set_ttl(rr.get(), 0);
  }
  const RrList updates(ldns_rr_list_new());
  ldns_rr_list_push_rr(updates.get(), rr.release());
  const Packet request(ldns_update_pkt_new(ldns_dname_new_frm_str(zone.c_str()), LDNS_RR_CLASS_IN,
                                           nullptr, updates.get(), nullptr));
  if (!request) {
    return fail(Errc::internal, "cannot make the update", where);
  }
  ldns_pkt_set_random_id(request.get());
  if (ldns_update_pkt_tsig_add(request.get(), r.get()) != LDNS_STATUS_OK) {
    return fail(Errc::invalid_argument, "cannot sign the update with the key", where);
  }
  const std::string action = add ? "the update adding the TXT record" : "the update deleting it";
  auto answer = exchange(options.server, options.key, *request);
  if (!answer) {
    return fail(answer.error().within(where));
  }
  if (ldns_pkt_get_rcode(answer->packet.get()) != LDNS_RCODE_NOERROR) {
    return fail(Errc::rejected, action + " was refused: " + refusal(answer->packet.get()), where);
  }
  if (!answer->verified) {  // a success only counts when the server signed it
    return fail(Errc::rejected, action + ": the server's answer is not signed with the key", where);
  }
  return {};
}

std::string bare_domain(const Identifier& identifier) {
  std::string_view d = identifier.value;
  return std::string(d.starts_with("*.") ? d.substr(2) : d);
}

}  // namespace

bool is_ipv4_server(const std::string& server) {
  auto address = parse_host_port(server, 53);
  in_addr parsed{};
  return address && ::inet_pton(AF_INET, address->host.c_str(), &parsed) == 1;
}

Result<TsigKey> parse_tsig_key(std::string_view text) {
  CK_TRY(words, tokens(text));
  // key "NAME" { algorithm ALG ; secret "B64" ; } ;
  if (words.size() < 4 || words[0] != "key" || words[2] != "{") {
    return fail(Errc::parse, "not a TSIG key file: expected key \"NAME\" { ... };");
  }
  TsigKey key;
  key.name = unquoted(words[1]);
  std::size_t i = 3;
  for (; i + 2 < words.size() && words[i] != "}"; i += 3) {
    if (words[i + 2] != ";") {
      return fail(Errc::parse, "expected ';' after " + words[i]);
    }
    if (words[i] == "algorithm") {
      key.algorithm = unquoted(words[i + 1]);
    } else if (words[i] == "secret") {
      key.secret = unquoted(words[i + 1]);
    } else {
      return fail(Errc::parse, "unknown statement " + words[i] + " in the key");
    }
  }
  if (i >= words.size() || words[i] != "}") {
    return fail(Errc::parse, "the key's '{' is never closed");
  }
  if (key.name.empty() || !Rdf(ldns_dname_new_frm_str(key.name.c_str()))) {
    return fail(Errc::parse, "the key has no valid name");
  }
  if (std::ranges::find(kAlgorithms, key.algorithm) == kAlgorithms.end()) {
    return fail(Errc::parse, "algorithm " + (key.algorithm.empty() ? "(none)" : key.algorithm) +
                                 ": use hmac-sha256 or hmac-sha512 (or hmac-sha224, hmac-sha384)");
  }
  auto secret = base64_decode(key.secret);
  if (key.secret.empty() || !secret || secret->empty()) {
    return fail(Errc::parse, "the key's secret is missing or not base64");
  }
  return key;
}

Result<TsigKey> load_tsig_key(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(Errc::invalid_argument, "no TSIG key file there", path.string());
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return fail(Errc::invalid_argument,
                "the TSIG key file must be owned by root or by the user certkeeper runs as",
                path.string());
  }
  if ((st.st_mode & 0037) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return fail(Errc::invalid_argument,
                std::string("the TSIG key file is mode ") + mode +
                    ": only its owner (and group, to read) may have it: chmod 600 or 640",
                path.string());
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return fail(Errc::io, "cannot read the TSIG key file", path.string());
  }
  auto key = parse_tsig_key(text.str());
  if (!key) {
    return fail(key.error().within(path.string()));
  }
  return key;
}

Result<std::string> follow_cnames(const std::string& server, std::string name) {
  for (int hop = 0; hop <= kMaxCnames; ++hop) {
    CK_TRY(answer, ask(server, name, LDNS_RR_TYPE_CNAME));
    const RrList cnames(
        ldns_pkt_rr_list_by_type(answer.get(), LDNS_RR_TYPE_CNAME, LDNS_SECTION_ANSWER));
    const ldns_rr* next = nullptr;
    for (std::size_t i = 0; cnames && i < ldns_rr_list_rr_count(cnames.get()); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(cnames.get(), i);
      if (same_name(ldns_rr_owner(rr), name)) {
        next = rr;
      }
    }
    if (!next) {
      return name;
    }
    name = rdf_text(ldns_rr_rdf(next, 0));
  }
  return fail(Errc::protocol, "more than " + std::to_string(kMaxCnames) + " CNAMEs in a row", name);
}

Result<std::string> find_zone(const std::string& server, const std::string& name) {
  CK_TRY(answer, ask(server, name, LDNS_RR_TYPE_SOA));
  for (const ldns_pkt_section section : {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY}) {
    const RrList soa(ldns_pkt_rr_list_by_type(answer.get(), LDNS_RR_TYPE_SOA, section));
    if (soa && ldns_rr_list_rr_count(soa.get()) > 0) {
      return rdf_text(ldns_rr_owner(ldns_rr_list_rr(soa.get(), 0)));
    }
  }
  return fail(Errc::protocol, "no SOA for " + name + ": is the server authoritative for its zone?",
              server);
}

Result<std::vector<std::string>> name_servers(const std::string& server, const std::string& zone) {
  CK_TRY(answer, ask(server, zone, LDNS_RR_TYPE_NS));
  const RrList ns(ldns_pkt_rr_list_by_type(answer.get(), LDNS_RR_TYPE_NS, LDNS_SECTION_ANSWER));
  if (!ns || ldns_rr_list_rr_count(ns.get()) == 0) {
    return fail(Errc::protocol, "no NS records for zone " + zone, server);
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(ns.get()); ++i) {
    const std::string name = rdf_text(ldns_rr_rdf(ldns_rr_list_rr(ns.get(), i), 0));
    std::vector<std::string> addresses;
    // In-zone names (and glue) from the server itself; others from the system's resolver.
    if (auto a = ask(server, name, LDNS_RR_TYPE_A)) {
      const RrList found(ldns_pkt_rr_list_by_type(a->get(), LDNS_RR_TYPE_A, LDNS_SECTION_ANSWER));
      for (std::size_t j = 0; found && j < ldns_rr_list_rr_count(found.get()); ++j) {
        addresses.push_back(rdf_text(ldns_rr_rdf(ldns_rr_list_rr(found.get(), j), 0)) + ":53");
      }
    }
    if (addresses.empty()) {
      addrinfo hints{};
      hints.ai_family = AF_INET;  // the TXT check asks over IPv4
      hints.ai_socktype = SOCK_DGRAM;
      addrinfo* list = nullptr;
      if (::getaddrinfo(name.c_str(), nullptr, &hints, &list) == 0) {
        const std::unique_ptr<addrinfo, FreedBy<freeaddrinfo>> owned(list);
        for (const addrinfo* ai = list; ai; ai = ai->ai_next) {
          char text[INET_ADDRSTRLEN] = {};
          const auto* in = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
          if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) {
            addresses.push_back(std::string(text) + ":53");
          }
        }
      }
    }
    if (addresses.empty()) {
      return fail(Errc::network,
                  "cannot find an IPv4 address of " + name + ", a name server of zone " + zone,
                  server, true);
    }
    for (auto& address : addresses) {
      if (std::ranges::find(out, address) == out.end()) {
        out.push_back(std::move(address));
      }
    }
  }
  return out;
}

Status Rfc2136Solver::present(const Identifier& identifier, const Challenge& challenge,
                              const std::string& key_authorization) {
  if (!is_ipv4_server(options_.server)) {  // the TXT check (query_txt) asks over IPv4
    return fail(Errc::invalid_argument,
                "the RFC 2136 server must be an IPv4 ADDR[:PORT] (IPv6 is not supported yet)",
                options_.server);
  }
  const std::string domain = bare_domain(identifier);
  const std::string asked = "_acme-challenge." + domain + ".";
  const std::string value = dns01_txt_value(key_authorization);
  CK_TRY(record, follow_cnames(options_.server, asked));
  CK_TRY(zone, find_zone(options_.server, record));
  CK_TRY(servers, name_servers(options_.server, zone));
  CK_TRY_STATUS(update(options_, zone, record, value, true));
  written_.push_back({challenge.url, record, zone, value});
  // The updated server first (it may be a hidden primary), then every server
  // of the zone's NS set, where the CA will look, then every resolver the
  // operator named (which follow the CNAMEs).
  servers.insert(servers.begin(), options_.server);
  CK_TRY_STATUS(
      wait_until_served(record, value, servers, options_.propagation_timeout, options_.stop));
  if (!options_.resolvers.empty()) {
    CK_TRY_STATUS(wait_until_served(asked, value, options_.resolvers, options_.propagation_timeout,
                                    options_.stop));
  }
  return {};
}

void Rfc2136Solver::cleanup(const Identifier&, const Challenge& challenge) {
  auto it = std::ranges::find(written_, challenge.url, &Written::challenge_url);
  if (it == written_.end()) {
    return;
  }
  // Best effort, as a hook's cleanup: the order's outcome does not hang on it.
  static_cast<void>(update(options_, it->zone, it->record, it->value, false));
  written_.erase(it);
}

}  // namespace ck::acme

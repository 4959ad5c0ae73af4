#include "acme/tls_alpn01.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "core/atomic_file.h"
#include "core/ip_address.h"
#include "core/keys.h"
#include "core/x509_build.h"

namespace ck::acme {
namespace {

constexpr unsigned char kAlpn[] = "acme-tls/1";
constexpr int kHandshakeTimeoutSeconds = 5;

// Offers "acme-tls/1" or refuses the handshake (RFC 8737 §3: no other protocol).
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  for (unsigned int i = 0; i < inlen;) {
    const unsigned int len = in[i];
    if (i + 1 + len <= inlen && len == sizeof kAlpn - 1 &&
        std::memcmp(in + i + 1, kAlpn, len) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

int select_certificate(SSL* ssl, int* alert, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  auto* responder = static_cast<TlsAlpnResponder*>(arg);
  if (!name || !responder->use_certificate_for(*ssl, name)) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

std::string hex_with_colons(std::string_view bytes) {
  std::string hex = ossl::hex(bytes);
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    out += (out.empty() ? "" : ":") + hex.substr(i, 2);
  }
  return out;
}

}  // namespace

std::string acme_identifier_extension_der(std::string_view key_authorization) {
  return std::string("\x04\x20", 2) + ossl::sha256(key_authorization);
}

Result<std::unique_ptr<TlsAlpnResponder>> TlsAlpnResponder::start(const std::string& listen,
                                                                  const Clock& clock) {
  ossl::SslCtx ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot create the TLS context"));
  }
  std::unique_ptr<TlsAlpnResponder> responder(new TlsAlpnResponder(std::move(ctx), clock));
  SSL_CTX_set_alpn_select_cb(responder->ctx_.get(), select_alpn, nullptr);
// OpenSSL's macro casts the callback C-style; the cast is its, not ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
  SSL_CTX_set_tlsext_servername_callback(responder->ctx_.get(), select_certificate);
#pragma GCC diagnostic pop
  SSL_CTX_set_tlsext_servername_arg(responder->ctx_.get(), responder.get());
  CK_TRY(listener, ConnectionListener::start(
                       listen, [r = responder.get()](int client) { r->handshake(client); }));
  responder->listener_ = std::move(listener);
  return responder;
}

TlsAlpnResponder::TlsAlpnResponder(ossl::SslCtx ctx, const Clock& clock)
    : ctx_(std::move(ctx)), clock_(clock) {}

Result<std::string> reverse_dns_name(const std::string& ip) {
  const auto bytes = ip_address_bytes(ip);
  if (!bytes) {
    return fail(Errc::invalid_argument, "not an IP address", ip);
  }
  std::string name;
  for (auto byte = bytes->rbegin(); byte != bytes->rend(); ++byte) {
    const auto b = static_cast<unsigned char>(*byte);
    if (bytes->size() == 4) {
      name += std::to_string(b) + ".";
    } else {
      constexpr char kDigits[] = "0123456789abcdef";
      name += {kDigits[b & 0xf], '.', kDigits[b >> 4], '.'};
    }
  }
  return name + (bytes->size() == 4 ? "in-addr.arpa" : "ip6.arpa");
}

// The SNI name the CA sends for an identifier (RFC 8738 §6: reverse DNS for IPs).
Result<std::string> server_name_of(const Identifier& identifier) {
  if (identifier.type == "ip") {
    return reverse_dns_name(identifier.value);
  }
  if (identifier.type == "dns") {
    return identifier.value;
  }
  return fail(Errc::unsupported, "tls-alpn-01 answers DNS and IP identifiers only",
              identifier.type + ":" + identifier.value);
}

Status TlsAlpnResponder::present(const Identifier& identifier, const Challenge&,
                                 const std::string& key_authorization) {
  CK_TRY(server_name, server_name_of(identifier));
  CK_TRY(key, generate_key(KeyType::ecdsa_p256));
  CertificateSpec spec;
  (identifier.type == "ip" ? spec.ip_addresses : spec.dns_names) = {identifier.value};
  spec.not_before = clock_.unix_seconds() - 3600;
  spec.not_after = clock_.unix_seconds() + 7 * 86400;
  spec.extended_key_usage = "-";
  spec.extensions = {
      {"1.3.6.1.5.5.7.1.31",
       "critical,DER:" + hex_with_colons(acme_identifier_extension_der(key_authorization))}};
  CK_TRY(cert, build_certificate(spec, *key, nullptr, *key));
  std::lock_guard lock(mutex_);
  validations_[server_name] = Validation{std::move(cert), std::move(key)};
  return {};
}

void TlsAlpnResponder::cleanup(const Identifier& identifier, const Challenge&) {
  auto server_name = server_name_of(identifier);
  std::lock_guard lock(mutex_);
  if (server_name) {
    validations_.erase(*server_name);
  }
}

bool TlsAlpnResponder::use_certificate_for(SSL& ssl, const std::string& server_name) {
  std::lock_guard lock(mutex_);
  auto it = validations_.find(server_name);
  return it != validations_.end() && SSL_use_certificate(&ssl, it->second.cert.get()) == 1 &&
         SSL_use_PrivateKey(&ssl, it->second.key.get()) == 1;
}

void TlsAlpnResponder::handshake(int client) {
  timeval timeout{kHandshakeTimeoutSeconds, 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  ossl::Ssl ssl(SSL_new(ctx_.get()));
  if (ssl && SSL_set_fd(ssl.get(), client) == 1 && SSL_accept(ssl.get()) == 1) {
    SSL_shutdown(ssl.get());  // RFC 8737 §3: the handshake is the whole exchange
  }
  ERR_clear_error();
}

}  // namespace ck::acme

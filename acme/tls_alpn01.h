#pragma once
// The built-in tls-alpn-01 responder (RFC 8737): a TLS listener that accepts
// only ALPN "acme-tls/1" and, for the SNI name of a challenge in flight (the
// reverse DNS name for an IP identifier, RFC 8738 §6), presents a self-signed
// certificate whose critical acmeIdentifier extension holds SHA-256 of the key
// authorization. One thread; every handshake bounded in time. Stops when destroyed.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "acme/issuance.h"
#include "acme/listener.h"
#include "core/clock.h"
#include "core/openssl.h"

namespace ck::acme {

class TlsAlpnResponder final : public ChallengeSolver {
 public:
  // Listens on "ADDR:PORT". `clock` dates the validation certificates.
  [[nodiscard]] static Result<std::unique_ptr<TlsAlpnResponder>> start(const std::string& listen,
                                                                       const Clock& clock);
  ~TlsAlpnResponder() override = default;
  TlsAlpnResponder(const TlsAlpnResponder&) = delete;
  TlsAlpnResponder& operator=(const TlsAlpnResponder&) = delete;

  [[nodiscard]] std::string_view type() const override { return "tls-alpn-01"; }
  [[nodiscard]] Status present(const Identifier& identifier, const Challenge& challenge,
                               const std::string& key_authorization) override;
  void cleanup(const Identifier& identifier, const Challenge& challenge) override;

  // Finds the validation certificate for an SNI name (for the TLS callback).
  [[nodiscard]] bool use_certificate_for(SSL& ssl, const std::string& server_name);

 private:
  struct Validation {
    ossl::X509Ptr cert;
    ossl::PKey key;
  };
  TlsAlpnResponder(ossl::SslCtx ctx, const Clock& clock);
  void handshake(int client);

  ossl::SslCtx ctx_;
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, Validation> validations_;  // by SNI name
  std::unique_ptr<ConnectionListener> listener_;   // last: stops before the rest goes
};

// "1.2.0.192.in-addr.arpa" for 192.0.2.1; nibbles under ip6.arpa for IPv6
// (RFC 8738 §6: the SNI of a tls-alpn-01 validation of an IP identifier).
[[nodiscard]] Result<std::string> reverse_dns_name(const std::string& ip);

// The acmeIdentifier extension value: DER OCTET STRING of SHA-256(key authorization).
[[nodiscard]] std::string acme_identifier_extension_der(std::string_view key_authorization);

}  // namespace ck::acme

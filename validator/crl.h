#pragma once
// Certificate revocation lists (RFC 5280 §5), parsed once into a hash index of
// serial numbers. The revoked list is walked with our own DER reader (der.h)
// rather than materialised through OpenSSL: a CRL of a million entries is
// parsed in a fraction of a second into about 40 bytes per entry. OpenSSL
// verifies the signature over the tbsCertList octets.
//
// A Crl owns its DER; everything in it is a view into that buffer. Immutable
// after parse(): share it freely between threads.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/openssl.h"
#include "validator/certificate_facts.h"

namespace ck::validator {

struct RevokedEntry {
  std::string_view serial;  // the INTEGER's content octets, leading zero octets removed
  std::int64_t revocation_date = 0;
  int reason = -1;  // RFC 5280 §5.3.1 CRLReason; -1 when absent
};

class Crl {
 public:
  [[nodiscard]] static Result<std::shared_ptr<const Crl>> parse(std::string der);

  [[nodiscard]] std::int64_t this_update() const { return this_update_; }
  [[nodiscard]] std::optional<std::int64_t> next_update() const { return next_update_; }
  [[nodiscard]] const std::string& crl_number_hex() const { return crl_number_hex_; }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] const std::string& der() const { return der_; }
  [[nodiscard]] std::string issuer_text() const;

  // The entry for a serial (big-endian octets; leading zeros ignored), if revoked.
  [[nodiscard]] const RevokedEntry* find(std::string_view serial) const;

  // RFC 5280 §6.3.3 (f), (g): the issuer's name is the CRL's, and its key
  // signed the CRL (with cRLSign when it has a keyUsage).
  [[nodiscard]] Status verify_issued_by(const X509& issuer) const;

  // Does this CRL speak about `cert`? RFC 5280 §5.2.5: a CRL only for user or
  // only for CA certificates. Indirect, delta and partial-reason CRLs are
  // refused at parse time.
  [[nodiscard]] bool covers(const CertificateFacts& cert) const;

 private:
  Crl() = default;
  Status parse_tbs(std::string_view tbs);
  Status parse_extensions(std::string_view extensions);
  Status parse_entries(std::string_view revoked);

  std::string der_;
  std::string_view tbs_;  // tbsCertList, whole encoding
  std::string_view inner_algorithm_;
  std::string_view algorithm_;  // signatureAlgorithm, whole encoding
  std::string_view signature_;  // BIT STRING content, unused-bits octet removed
  ossl::X509NamePtr issuer_;    // parsed once, for comparison and display
  std::int64_t this_update_ = 0;
  std::optional<std::int64_t> next_update_;
  std::string crl_number_hex_;
  bool only_user_certs_ = false;
  bool only_ca_certs_ = false;
  std::vector<RevokedEntry> entries_;  // in CRL order
  // Open addressing over entries_: slot = entry index + 1, 0 = empty. The hash
  // is seeded per CRL, so a list cannot be made to collide on purpose.
  std::vector<std::uint32_t> slots_;
  std::uint64_t seed_ = 0;
  int slot_bits_ = 0;
  [[nodiscard]] std::size_t home_slot(std::string_view serial) const;
  void build_index();
};

// "keyCompromise", ... for a CRLReason value; "unspecified" for unknown ones.
[[nodiscard]] std::string_view crl_reason_name(int reason);

// Big-endian serial octets from the lowercase hex of CertificateInfo::serial.
[[nodiscard]] std::string serial_octets(std::string_view hex);

}  // namespace ck::validator

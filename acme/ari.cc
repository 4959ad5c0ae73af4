#include "acme/ari.h"

#include "acme/json_member.h"

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/clock.h"

namespace ck::acme {

Result<std::string> certificate_identifier(const X509& cert) {
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(const_cast<X509*>(&cert));
  if (!aki) {
    return fail(Errc::invalid_argument,
                "the certificate has no Authority Key Identifier, so ARI cannot name it");
  }
  // The serial's DER content octets: i2d of the INTEGER minus its tag and length.
  unsigned char* der = nullptr;
  const int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(&cert), &der);
  if (len <= 2) {
    return std::unexpected(ossl::error(Errc::crypto, "cannot encode the serial number"));
  }
  ossl::OpensslString owner(reinterpret_cast<char*>(der));
  const unsigned char length_byte = der[1];
  const int header = (length_byte & 0x80) ? 2 + (length_byte & 0x7f) : 2;
  const std::string serial(owner.get() + header, static_cast<std::size_t>(len - header));
  const std::string key_id(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)),
                           static_cast<std::size_t>(ASN1_STRING_length(aki)));
  return base64url_encode(key_id) + "." + base64url_encode(serial);
}

Result<RenewalWindow> parse_renewal_info(std::string_view json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object() || !j.contains("suggestedWindow") || !j["suggestedWindow"].is_object()) {
    return fail(Errc::protocol, "renewal info without a suggestedWindow object");
  }
  const auto& w = j["suggestedWindow"];
  auto start = parse_rfc3339(text(w, "start"));
  auto end = parse_rfc3339(text(w, "end"));
  if (!start || !end) {
    return fail(Errc::protocol, "suggestedWindow start and end must be RFC 3339 UTC times");
  }
  if (*end <= *start) {
    return fail(Errc::protocol, "suggestedWindow ends before it starts");
  }
  return RenewalWindow{*start, *end, text(j, "explanationURL")};
}

std::int64_t choose_renewal_time(const RenewalWindow& window, std::int64_t now,
                                 std::uint64_t random) {
  if (window.end <= now) {
    return now;  // the window has passed: renew now
  }
  const std::int64_t from = std::max(window.start, now);
  const auto span = static_cast<std::uint64_t>(window.end - from);
  return from + static_cast<std::int64_t>(random % span);
}

std::int64_t keep_or_choose_renewal_time(const RenewalWindow& window,
                                         std::optional<std::int64_t> previous, std::int64_t now,
                                         std::uint64_t random) {
  if (previous && *previous >= window.start && *previous < window.end) {
    return *previous;
  }
  return choose_renewal_time(window, now, random);
}

std::int64_t next_renewal_info_check(std::int64_t now,
                                     std::optional<std::chrono::seconds> retry_after) {
  constexpr std::int64_t kMinute = 60;
  constexpr std::int64_t kHalfDay = 12 * 3600;  // Let's Encrypt asks for at least twice a day
  const std::int64_t wait =
      retry_after ? std::clamp<std::int64_t>(retry_after->count(), kMinute, kHalfDay) : 6 * 3600;
  return now + wait;
}

}  // namespace ck::acme

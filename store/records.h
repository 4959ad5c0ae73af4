#pragma once
// The rows of the inventory, as plain structs. Enum values are persisted as
// their text spelling; a spelling, once released, is never changed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::store {

enum class CertificateStatus {
  active,      // the current certificate of its name
  superseded,  // an older version of a name that has a newer active certificate
  revoked,
};
[[nodiscard]] std::string_view to_string(CertificateStatus status);
[[nodiscard]] std::optional<CertificateStatus> parse_certificate_status(std::string_view text);

struct KeyRecord {
  std::int64_t id = 0;
  std::string path;               // the key file; the key itself is never stored
  std::string key_type;           // "ecdsa-p256", "rsa2048", ...
  std::string public_key_sha256;  // hex SHA-256 of the SubjectPublicKeyInfo
  std::int64_t created_at = 0;
};

struct CertificateRecord {
  std::int64_t id = 0;
  std::string name;     // logical name; versions of one name share it
  std::string sha256;   // fingerprint of the DER; unique
  std::string serial;   // lowercase hex
  std::string subject;  // RFC 2253
  std::string issuer;   // RFC 2253
  std::string issuer_cn;
  std::vector<std::string> sans;  // "DNS:example.com", "IP:192.0.2.1"
  std::string subject_key_id;     // hex, "" when absent
  std::string authority_key_id;   // hex, "" when absent
  std::int64_t not_before = 0;    // Unix seconds
  std::int64_t not_after = 0;     // Unix seconds, inclusive
  std::string key_type;
  std::string public_key_sha256;
  std::optional<std::int64_t> key_id;  // the matching private key, when known
  std::string key_path;                // read-only: joined from keys for convenience
  bool is_ca = false;
  std::string source;       // "import", "acme"
  std::string source_path;  // where it was imported from, "" otherwise
  CertificateStatus status = CertificateStatus::active;
  std::string der;        // the certificate (absent in summary listings)
  std::string chain_pem;  // issuer chain as served, leaf excluded
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct AccountRecord {
  std::int64_t id = 0;
  std::string directory_url;
  std::string key_path;
  std::string key_type;
  std::string account_url;  // the kid; "" until registered
  std::vector<std::string> contacts;
  std::string status;  // RFC 8555 §7.1.2: "valid", "deactivated", "revoked"
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct OrderRecord {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::string certificate_name;
  std::string order_url;  // unique: an interrupted order is resumed by URL
  std::string status;     // RFC 8555 §7.1.6: pending, ready, processing, valid, invalid
  std::vector<std::string> identifiers;  // "dns:example.com", "ip:192.0.2.1"
  std::string finalize_url;
  std::string certificate_url;
  std::string key_path;
  std::string profile;
  std::string replaces;    // RFC 9773 certificate identifier, "" when none
  std::string error_json;  // the CA's problem document, "" when none
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct StapleRecord {
  std::int64_t certificate_id = 0;  // one staple per certificate
  std::string path;                 // DER OCSP response on disk
  std::string responder_url;
  std::string cert_status;  // "good", "revoked", "unknown"
  std::int64_t produced_at = 0;
  std::int64_t this_update = 0;
  std::int64_t next_update = 0;  // 0 when the responder gave none
  std::int64_t fetched_at = 0;
  std::string last_error;  // of the latest failed refresh, "" after a success
};

struct RenewalInfoRecord {
  std::int64_t certificate_id = 0;  // one per certificate
  std::string ari_id;               // RFC 9773 certificate identifier
  std::int64_t window_start = 0;
  std::int64_t window_end = 0;
  std::int64_t selected_time = 0;
  std::string explanation_url;
  std::int64_t next_check = 0;
  std::int64_t fetched_at = 0;
};

struct CrlRecord {
  std::string url;         // distribution point; unique
  std::string issuer;      // RFC 2253
  std::string crl_number;  // hex, "" when absent
  std::int64_t this_update = 0;
  std::int64_t next_update = 0;
  std::string etag;  // for conditional GET
  std::string last_modified;
  std::string path;  // cached DER on disk
  std::int64_t entries = 0;
  std::int64_t fetched_at = 0;
};

struct ProbeRecord {
  std::int64_t id = 0;
  std::string target;  // host:port
  std::string sni;
  std::int64_t probed_at = 0;
  bool ok = false;
  std::string protocol;
  std::string cipher;
  std::string leaf_sha256;
  std::string error;
  std::string result_json;  // the full report
};

struct AlertRecord {
  std::int64_t id = 0;
  std::string dedup_key;  // one open alert per key, e.g. "expiry:www:14d"
  std::string certificate_name;
  std::string kind;      // "expiry", "renewal_failed", "drift", ...
  std::string severity;  // "info", "warning", "critical"
  std::string message;
  std::int64_t first_fired_at = 0;
  std::int64_t last_fired_at = 0;
  std::optional<std::int64_t> resolved_at;
  std::string resolution;  // "recovered", "superseded" (a tighter threshold opened); "" while open
};

// One notice of an alert's change to one sink, kept until delivered (the outbox).
struct AlertNotice {
  std::int64_t id = 0;
  std::int64_t alert_id = 0;
  std::string notice;  // "firing", "resolved"
  std::string sink;    // "webhook", "command", "email"
  std::int64_t created_at = 0;
  int attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::optional<std::int64_t> delivered_at;
  std::optional<std::int64_t> given_up_at;
  std::string last_error;
};

struct EventRecord {
  std::int64_t id = 0;
  std::int64_t at = 0;
  std::string kind;  // "imported", "issued", "renewed", "revoked", ...
  std::string certificate_name;
  std::string message;
  std::string details_json;  // "" or a JSON object
};

}  // namespace ck::store

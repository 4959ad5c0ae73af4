#pragma once
// How inventory records are shown: pure functions of (record, now), shared by
// `list`, `show` and, later, the control socket.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/x509_info.h"
#include "store/inventory.h"
#include "store/records.h"

namespace ck::daemon {

// The inventory record of a certificate summary (status active; name, key,
// chain and source_path are the caller's).
[[nodiscard]] store::CertificateRecord record_from(const CertificateInfo& info, std::string der,
                                                   std::string source);

// Whole days until not_after, rounded down; negative once expired.
// The active version of `name` (at most one: the store's invariant); none when
// it has no certificate yet (or only superseded or revoked ones).
[[nodiscard]] Result<std::optional<store::CertificateRecord>> current_version(
    store::Inventory& inventory, const std::string& name);

[[nodiscard]] std::int64_t days_left(std::int64_t not_after, std::int64_t now);
// "expired" once past not_after (inclusive, RFC 5280), else the stored status.
[[nodiscard]] std::string effective_status(const store::CertificateRecord& record,
                                           std::int64_t now);
// The stable JSON form of a certificate (no DER, no chain).
[[nodiscard]] nlohmann::json certificate_json(const store::CertificateRecord& record,
                                              std::int64_t now);
// One row of the `list` table, and its header.
[[nodiscard]] std::string list_header();
[[nodiscard]] std::string list_row(const store::CertificateRecord& record, std::int64_t now);

// Finds a certificate by name (its versions, newest first) or by SHA-256
// fingerprint or a prefix of 8+ hex digits (the match first, then the other
// versions of its name). Errors: not_found; invalid_argument for an ambiguous
// prefix.
[[nodiscard]] Result<std::vector<store::CertificateRecord>> find_versions(
    store::Inventory& inventory, const std::string& query);

// What `show` prints, as JSON: certificate_json of the match, its chain
// length, its other versions and its name's latest ten events. The service
// and the CLI alone build it alike.
[[nodiscard]] Result<nlohmann::json> show_view(store::Inventory& inventory,
                                               const std::string& query, std::int64_t now);

[[nodiscard]] nlohmann::json event_json(const store::EventRecord& event);

}  // namespace ck::daemon

// Certificates and keys in SQLite.

#include <nlohmann/json.hpp>

#include "store/sqlite_repositories.h"

namespace ck::store::sqlite {
namespace {

#define CK_CERT_COLUMNS                                                                     \
  "c.id, c.name, c.sha256, c.serial, c.subject, c.issuer, c.issuer_cn, c.sans, "            \
  "c.subject_key_id, c.authority_key_id, c.not_before, c.not_after, c.key_type, "           \
  "c.public_key_sha256, c.key_id, COALESCE(k.path, ''), c.is_ca, c.source, c.source_path, " \
  "c.status, c.created_at, c.updated_at"
#define CK_CERT_FROM " FROM certificates c LEFT JOIN keys k ON k.id = c.key_id "
#define CK_CERT_SELECT_FULL "SELECT " CK_CERT_COLUMNS ", c.der, c.chain_pem" CK_CERT_FROM
#define CK_CERT_SELECT_SUMMARY "SELECT " CK_CERT_COLUMNS CK_CERT_FROM

constexpr int kDerColumn = 22;

CertificateRecord read_certificate(const Statement& s, bool full) {
  CertificateRecord r;
  r.id = s.integer(0);
  r.name = s.text(1);
  r.sha256 = s.text(2);
  r.serial = s.text(3);
  r.subject = s.text(4);
  r.issuer = s.text(5);
  r.issuer_cn = s.text(6);
  r.sans = from_json_array(s.text(7));
  r.subject_key_id = s.text(8);
  r.authority_key_id = s.text(9);
  r.not_before = s.integer(10);
  r.not_after = s.integer(11);
  r.key_type = s.text(12);
  r.public_key_sha256 = s.text(13);
  if (!s.is_null(14)) {
    r.key_id = s.integer(14);
  }
  r.key_path = s.text(15);
  r.is_ca = s.integer(16) != 0;
  r.source = s.text(17);
  r.source_path = s.text(18);
  r.status = parse_certificate_status(s.text(19)).value_or(CertificateStatus::active);
  r.created_at = s.integer(20);
  r.updated_at = s.integer(21);
  if (full) {
    r.der = s.blob(kDerColumn);
    r.chain_pem = s.text(kDerColumn + 1);
  }
  return r;
}

KeyRecord read_key(const Statement& s) {
  return KeyRecord{s.integer(0), s.text(1), s.text(2), s.text(3), s.integer(4)};
}

}  // namespace

std::string to_json_array(const std::vector<std::string>& items) {
  return nlohmann::json(items).dump();
}

std::vector<std::string> from_json_array(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_array()) {
    return {};
  }
  std::vector<std::string> out;
  for (const auto& item : parsed) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    }
  }
  return out;
}

Result<UpsertResult> SqliteCertificates::upsert(const CertificateRecord& record) {
  UpsertResult result;
  CK_TRY_STATUS(db_.transaction([&]() -> Status {
    CK_TRY(find, db_.prepare("SELECT id FROM certificates WHERE sha256 = ?"));
    CK_TRY(found, find.bind(record.sha256).step());
    if (!found) {
      CK_TRY(inserted, insert(record));
      result = inserted;
      return {};
    }
    result = UpsertResult{find.integer(0), false};
    CK_TRY(update, db_.prepare("UPDATE certificates SET source = ?, source_path = ?, "
                               "chain_pem = CASE WHEN ?3 = '' THEN chain_pem ELSE ?3 END, "
                               "key_id = COALESCE(?, key_id), updated_at = ? WHERE id = ?"));
    return update.bind_all(record.source, record.source_path, record.chain_pem)
        .bind(record.key_id)
        .bind_all(clock_.unix_seconds(), result.id)
        .run();
  }));
  return result;
}

// A new fingerprint: decide its status against the active certificate of the
// same name, so each name keeps exactly one active certificate, the newest.
Result<UpsertResult> SqliteCertificates::insert(const CertificateRecord& record) {
  const std::int64_t now = clock_.unix_seconds();
  CertificateStatus status = record.status;
  if (status == CertificateStatus::active) {
    // "+status" keeps SQLite on the name index (a name has a handful of rows);
    // without it the planner may walk every active row through the expiry index.
    CK_TRY(newer, db_.prepare("SELECT 1 FROM certificates WHERE name = ? AND +status = 'active' "
                              "AND not_before > ? LIMIT 1"));
    CK_TRY(has_newer, newer.bind_all(record.name, record.not_before).step());
    if (has_newer) {
      status = CertificateStatus::superseded;
    } else {
      CK_TRY(demote, db_.prepare("UPDATE certificates SET status = 'superseded', updated_at = ? "
                                 "WHERE name = ? AND +status = 'active'"));
      CK_TRY_STATUS(demote.bind_all(now, record.name).run());
    }
  }
  CK_TRY(insert,
         db_.prepare("INSERT INTO certificates (name, sha256, serial, subject, issuer, issuer_cn, "
                     "sans, subject_key_id, authority_key_id, not_before, not_after, key_type, "
                     "public_key_sha256, key_id, is_ca, source, source_path, status, der, "
                     "chain_pem, created_at, updated_at) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  insert
      .bind_all(record.name, record.sha256, record.serial, record.subject, record.issuer,
                record.issuer_cn, to_json_array(record.sans), record.subject_key_id,
                record.authority_key_id, record.not_before, record.not_after, record.key_type,
                record.public_key_sha256)
      .bind(record.key_id)
      .bind_all(record.is_ca, record.source, record.source_path, to_string(status))
      .bind_blob(record.der)
      .bind_all(record.chain_pem, now, now);
  CK_TRY_STATUS(insert.run());
  return UpsertResult{db_.last_insert_id(), true};
}

Result<std::optional<CertificateRecord>> SqliteCertificates::find_by_fingerprint(
    std::string_view sha256) {
  CK_TRY(s, db_.prepare(CK_CERT_SELECT_FULL "WHERE c.sha256 = ?"));
  s.bind(sha256);
  return first_row(s, [](const Statement& row) { return read_certificate(row, true); });
}

Result<std::vector<CertificateRecord>> SqliteCertificates::find_by_fingerprint_prefix(
    std::string_view prefix) {
  if (prefix.size() < 8) {
    return fail(Errc::invalid_argument, "a fingerprint prefix needs at least 8 hex digits");
  }
  // Range scan on the unique index: prefix <= sha256 < prefix + '~'.
  CK_TRY(s, db_.prepare(CK_CERT_SELECT_FULL "WHERE c.sha256 >= ?1 AND c.sha256 < ?1 || '~' "
                                            "ORDER BY c.sha256 LIMIT 10"));
  s.bind(prefix);
  return collect_rows(s, [](const Statement& row) { return read_certificate(row, true); });
}

Result<std::vector<CertificateRecord>> SqliteCertificates::versions(std::string_view name) {
  CK_TRY(s,
         db_.prepare(CK_CERT_SELECT_FULL "WHERE c.name = ? ORDER BY c.not_before DESC, c.id DESC"));
  s.bind(name);
  return collect_rows(s, [](const Statement& row) { return read_certificate(row, true); });
}

Result<std::optional<CertificateRecord>> SqliteCertificates::active_version(std::string_view name) {
  CK_TRY(s, db_.prepare(CK_CERT_SELECT_FULL "WHERE c.name = ? AND +c.status = 'active' "
                                            "ORDER BY c.not_before DESC, c.id DESC LIMIT 1"));
  s.bind(name);
  return first_row(s, [](const Statement& row) { return read_certificate(row, true); });
}

Status SqliteCertificates::for_each(const CertificateFilter& filter,
                                    const std::function<bool(const CertificateRecord&)>& visit) {
  // One statement per filter shape, so each can use its index.
  auto prepared = [&]() -> Result<Statement> {
    const bool expiring = filter.not_after_before.has_value();
    if (filter.include_inactive) {
      return expiring ? db_.prepare(CK_CERT_SELECT_SUMMARY
                                    "WHERE c.not_after <= ? ORDER BY c.not_after, c.name")
                      : db_.prepare(CK_CERT_SELECT_SUMMARY "ORDER BY c.not_after, c.name");
    }
    // A revoked certificate may still be deployed: it is listed, and counts
    // as expiring (a problem) whatever its notAfter.
    return expiring ? db_.prepare(CK_CERT_SELECT_SUMMARY
                                  "WHERE (c.status = 'active' AND c.not_after <= ?) "
                                  "OR c.status = 'revoked' ORDER BY c.not_after, c.name")
                    : db_.prepare(CK_CERT_SELECT_SUMMARY
                                  "WHERE c.status IN ('active', 'revoked') "
                                  "ORDER BY c.not_after, c.name");
  }();
  if (!prepared) {
    return std::unexpected(prepared.error());
  }
  Statement& s = *prepared;
  if (filter.not_after_before) {
    s.bind(*filter.not_after_before);
  }
  for (;;) {
    CK_TRY(row, s.step());
    if (!row || !visit(read_certificate(s, false))) {
      return {};
    }
  }
}

Status SqliteCertificates::set_status(std::int64_t id, CertificateStatus status) {
  CK_TRY(s, db_.prepare("UPDATE certificates SET status = ?, updated_at = ? WHERE id = ?"));
  return s.bind_all(to_string(status), clock_.unix_seconds(), id).run();
}

Status SqliteCertificates::set_key(std::int64_t id, std::int64_t key_id) {
  CK_TRY(s, db_.prepare("UPDATE certificates SET key_id = ?, updated_at = ? WHERE id = ?"));
  return s.bind_all(key_id, clock_.unix_seconds(), id).run();
}

Result<UpsertResult> SqliteKeys::upsert(const KeyRecord& record) {
  CK_TRY(existing, find_by_path(record.path));
  if (existing) {
    CK_TRY(s, db_.prepare("UPDATE keys SET key_type = ?, public_key_sha256 = ? WHERE id = ?"));
    CK_TRY_STATUS(s.bind_all(record.key_type, record.public_key_sha256, existing->id).run());
    return UpsertResult{existing->id, false};
  }
  CK_TRY(s,
         db_.prepare(
             "INSERT INTO keys (path, key_type, public_key_sha256, created_at) VALUES (?,?,?,?)"));
  CK_TRY_STATUS(
      s.bind_all(record.path, record.key_type, record.public_key_sha256, clock_.unix_seconds())
          .run());
  return UpsertResult{db_.last_insert_id(), true};
}

Result<std::optional<KeyRecord>> SqliteKeys::find_by_path(std::string_view path) {
  CK_TRY(s,
         db_.prepare(
             "SELECT id, path, key_type, public_key_sha256, created_at FROM keys WHERE path = ?"));
  s.bind(path);
  return first_row(s, read_key);
}

Result<std::optional<KeyRecord>> SqliteKeys::find(std::int64_t id) {
  CK_TRY(s, db_.prepare(
                "SELECT id, path, key_type, public_key_sha256, created_at FROM keys WHERE id = ?"));
  s.bind(id);
  return first_row(s, read_key);
}

}  // namespace ck::store::sqlite

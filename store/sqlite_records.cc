// Accounts, orders, staples, CRLs, probes, alerts and events in SQLite.

#include "store/sqlite_repositories.h"

namespace ck::store::sqlite {
namespace {

#define CK_ACCOUNT_SELECT                                                         \
  "SELECT id, directory_url, key_path, key_type, account_url, contacts, status, " \
  "created_at, updated_at FROM accounts "
#define CK_ORDER_SELECT                                                                     \
  "SELECT id, account_id, certificate_name, order_url, status, identifiers, finalize_url, " \
  "certificate_url, key_path, profile, replaces, error_json, created_at, updated_at FROM orders "
#define CK_ALERT_SELECT                                                               \
  "SELECT id, dedup_key, certificate_name, kind, severity, message, first_fired_at, " \
  "last_fired_at, resolved_at, resolution FROM alerts "
#define CK_NOTICE_SELECT                                                                     \
  "SELECT id, alert_id, notice, sink, created_at, attempts, next_attempt_at, delivered_at, " \
  "given_up_at, last_error FROM alert_notices "
#define CK_EVENT_SELECT "SELECT id, at, kind, certificate_name, message, details_json FROM events "

AccountRecord read_account(const Statement& s) {
  return AccountRecord{s.integer(0), s.text(1),    s.text(2),
                       s.text(3),    s.text(4),    from_json_array(s.text(5)),
                       s.text(6),    s.integer(7), s.integer(8)};
}

OrderRecord read_order(const Statement& s) {
  return OrderRecord{
      s.integer(0),  s.integer(1), s.text(2), s.text(3), s.text(4),  from_json_array(s.text(5)),
      s.text(6),     s.text(7),    s.text(8), s.text(9), s.text(10), s.text(11),
      s.integer(12), s.integer(13)};
}

AlertRecord read_alert(const Statement& s) {
  AlertRecord r{s.integer(0), s.text(1),    s.text(2),    s.text(3),   s.text(4),
                s.text(5),    s.integer(6), s.integer(7), std::nullopt};
  if (!s.is_null(8)) {
    r.resolved_at = s.integer(8);
  }
  r.resolution = s.text(9);
  return r;
}

std::optional<std::int64_t> optional_integer(const Statement& s, int column) {
  return s.is_null(column) ? std::nullopt : std::optional<std::int64_t>(s.integer(column));
}

AlertNotice read_notice(const Statement& s) {
  return AlertNotice{s.integer(0), s.integer(1),           s.text(2),
                     s.text(3),    s.integer(4),           static_cast<int>(s.integer(5)),
                     s.integer(6), optional_integer(s, 7), optional_integer(s, 8),
                     s.text(9)};
}

EventRecord read_event(const Statement& s) {
  return EventRecord{s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4), s.text(5)};
}

}  // namespace

Result<UpsertResult> SqliteAccounts::upsert(const AccountRecord& r) {
  const std::int64_t now = clock_.unix_seconds();
  CK_TRY(existing, find(r.directory_url, r.key_path));
  if (existing) {
    CK_TRY(s, db_.prepare("UPDATE accounts SET key_type = ?, account_url = ?, contacts = ?, "
                          "status = ?, updated_at = ? WHERE id = ?"));
    CK_TRY_STATUS(s.bind_all(r.key_type, r.account_url, to_json_array(r.contacts), r.status, now,
                             existing->id)
                      .run());
    return UpsertResult{existing->id, false};
  }
  CK_TRY(s, db_.prepare("INSERT INTO accounts (directory_url, key_path, key_type, account_url, "
                        "contacts, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)"));
  CK_TRY_STATUS(s.bind_all(r.directory_url, r.key_path, r.key_type, r.account_url,
                           to_json_array(r.contacts), r.status, now, now)
                    .run());
  return UpsertResult{db_.last_insert_id(), true};
}

Result<std::optional<AccountRecord>> SqliteAccounts::find(std::string_view directory_url,
                                                          std::string_view key_path) {
  CK_TRY(s, db_.prepare(CK_ACCOUNT_SELECT "WHERE directory_url = ? AND key_path = ?"));
  s.bind_all(directory_url, key_path);
  return first_row(s, read_account);
}

Result<std::vector<AccountRecord>> SqliteAccounts::list() {
  CK_TRY(s, db_.prepare(CK_ACCOUNT_SELECT "ORDER BY id"));
  return collect_rows(s, read_account);
}

Result<UpsertResult> SqliteOrders::upsert(const OrderRecord& r) {
  if (r.order_url.empty()) {
    return fail(Errc::invalid_argument, "an order needs its URL");
  }
  const std::int64_t now = clock_.unix_seconds();
  CK_TRY(existing, find_by_url(r.order_url));
  if (existing) {
    CK_TRY(s, db_.prepare("UPDATE orders SET status = ?, finalize_url = ?, certificate_url = ?, "
                          "error_json = ?, updated_at = ? WHERE id = ?"));
    CK_TRY_STATUS(
        s.bind_all(r.status, r.finalize_url, r.certificate_url, r.error_json, now, existing->id)
            .run());
    return UpsertResult{existing->id, false};
  }
  CK_TRY(s, db_.prepare("INSERT INTO orders (account_id, certificate_name, order_url, status, "
                        "identifiers, finalize_url, certificate_url, key_path, profile, replaces, "
                        "error_json, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  CK_TRY_STATUS(s.bind_all(r.account_id, r.certificate_name, r.order_url, r.status,
                           to_json_array(r.identifiers), r.finalize_url, r.certificate_url,
                           r.key_path, r.profile, r.replaces, r.error_json, now, now)
                    .run());
  return UpsertResult{db_.last_insert_id(), true};
}

Result<std::optional<OrderRecord>> SqliteOrders::find_by_url(std::string_view url) {
  CK_TRY(s, db_.prepare(CK_ORDER_SELECT "WHERE order_url = ?"));
  s.bind(url);
  return first_row(s, read_order);
}

Result<std::vector<OrderRecord>> SqliteOrders::unfinished() {
  CK_TRY(s, db_.prepare(CK_ORDER_SELECT "WHERE status NOT IN ('valid', 'invalid') ORDER BY id"));
  return collect_rows(s, read_order);
}

Result<std::optional<OrderRecord>> SqliteOrders::latest_valid(std::string_view certificate_name) {
  CK_TRY(s,
         db_.prepare(CK_ORDER_SELECT
                     "WHERE certificate_name = ? AND status = 'valid' ORDER BY id DESC LIMIT 1"));
  s.bind(certificate_name);
  return first_row(s, read_order);
}

Status SqliteStaples::upsert(const StapleRecord& r) {
  CK_TRY(s, db_.prepare("INSERT INTO staples (certificate_id, path, responder_url, cert_status, "
                        "produced_at, this_update, next_update, fetched_at, last_error) "
                        "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(certificate_id) DO UPDATE SET "
                        "path = excluded.path, responder_url = excluded.responder_url, "
                        "cert_status = excluded.cert_status, produced_at = excluded.produced_at, "
                        "this_update = excluded.this_update, next_update = excluded.next_update, "
                        "fetched_at = excluded.fetched_at, last_error = excluded.last_error"));
  return s
      .bind_all(r.certificate_id, r.path, r.responder_url, r.cert_status, r.produced_at,
                r.this_update, r.next_update, r.fetched_at, r.last_error)
      .run();
}

Result<std::optional<StapleRecord>> SqliteStaples::find(std::int64_t certificate_id) {
  CK_TRY(s, db_.prepare("SELECT certificate_id, path, responder_url, cert_status, produced_at, "
                        "this_update, next_update, fetched_at, last_error FROM staples "
                        "WHERE certificate_id = ?"));
  s.bind(certificate_id);
  return first_row(s, [](const Statement& r) {
    return StapleRecord{r.integer(0), r.text(1),    r.text(2),    r.text(3), r.integer(4),
                        r.integer(5), r.integer(6), r.integer(7), r.text(8)};
  });
}

Status SqliteRenewalInfo::upsert(const RenewalInfoRecord& r) {
  CK_TRY(s, db_.prepare("INSERT INTO renewal_info (certificate_id, ari_id, window_start, "
                        "window_end, selected_time, explanation_url, next_check, fetched_at) "
                        "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(certificate_id) DO UPDATE SET "
                        "ari_id = excluded.ari_id, window_start = excluded.window_start, "
                        "window_end = excluded.window_end, selected_time = excluded.selected_time, "
                        "explanation_url = excluded.explanation_url, "
                        "next_check = excluded.next_check, fetched_at = excluded.fetched_at"));
  return s
      .bind_all(r.certificate_id, r.ari_id, r.window_start, r.window_end, r.selected_time,
                r.explanation_url, r.next_check, r.fetched_at)
      .run();
}

Result<std::optional<RenewalInfoRecord>> SqliteRenewalInfo::find(std::int64_t certificate_id) {
  CK_TRY(s, db_.prepare("SELECT certificate_id, ari_id, window_start, window_end, selected_time, "
                        "explanation_url, next_check, fetched_at FROM renewal_info "
                        "WHERE certificate_id = ?"));
  s.bind(certificate_id);
  return first_row(s, [](const Statement& r) {
    return RenewalInfoRecord{r.integer(0), r.text(1), r.integer(2), r.integer(3),
                             r.integer(4), r.text(5), r.integer(6), r.integer(7)};
  });
}

Status SqliteCrls::upsert(const CrlRecord& r) {
  CK_TRY(s, db_.prepare("INSERT INTO crls (url, issuer, crl_number, this_update, next_update, "
                        "etag, last_modified, path, entries, fetched_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(url) DO UPDATE SET "
                        "issuer = excluded.issuer, crl_number = excluded.crl_number, "
                        "this_update = excluded.this_update, next_update = excluded.next_update, "
                        "etag = excluded.etag, last_modified = excluded.last_modified, "
                        "path = excluded.path, entries = excluded.entries, "
                        "fetched_at = excluded.fetched_at"));
  return s
      .bind_all(r.url, r.issuer, r.crl_number, r.this_update, r.next_update, r.etag,
                r.last_modified, r.path, r.entries, r.fetched_at)
      .run();
}

Result<std::optional<CrlRecord>> SqliteCrls::find(std::string_view url) {
  CK_TRY(s, db_.prepare("SELECT url, issuer, crl_number, this_update, next_update, etag, "
                        "last_modified, path, entries, fetched_at FROM crls WHERE url = ?"));
  s.bind(url);
  return first_row(s, [](const Statement& r) {
    return CrlRecord{r.text(0), r.text(1), r.text(2), r.integer(3), r.integer(4),
                     r.text(5), r.text(6), r.text(7), r.integer(8), r.integer(9)};
  });
}

Result<std::int64_t> SqliteProbes::insert(const ProbeRecord& r) {
  CK_TRY(s, db_.prepare("INSERT INTO probes (target, sni, probed_at, ok, protocol, cipher, "
                        "leaf_sha256, error, result_json) VALUES (?,?,?,?,?,?,?,?,?)"));
  CK_TRY_STATUS(s.bind_all(r.target, r.sni, r.probed_at, r.ok, r.protocol, r.cipher, r.leaf_sha256,
                           r.error, r.result_json)
                    .run());
  return db_.last_insert_id();
}

Result<std::optional<ProbeRecord>> SqliteProbes::latest(std::string_view target) {
  CK_TRY(s, db_.prepare("SELECT id, target, sni, probed_at, ok, protocol, cipher, leaf_sha256, "
                        "error, result_json FROM probes WHERE target = ? "
                        "ORDER BY probed_at DESC, id DESC LIMIT 1"));
  s.bind(target);
  return first_row(s, [](const Statement& r) {
    return ProbeRecord{r.integer(0), r.text(1), r.text(2), r.integer(3), r.integer(4) != 0,
                       r.text(5),    r.text(6), r.text(7), r.text(8),    r.text(9)};
  });
}

Result<std::optional<std::int64_t>> SqliteAlerts::fire(const AlertRecord& r) {
  CK_TRY(update, db_.prepare("UPDATE alerts SET last_fired_at = ?, message = ?, severity = ? "
                             "WHERE dedup_key = ? AND resolved_at IS NULL"));
  CK_TRY_STATUS(update.bind_all(r.last_fired_at, r.message, r.severity, r.dedup_key).run());
  if (db_.changes() > 0) {
    return std::optional<std::int64_t>();
  }
  CK_TRY(insert, db_.prepare("INSERT INTO alerts (dedup_key, certificate_name, kind, severity, "
                             "message, first_fired_at, last_fired_at) VALUES (?,?,?,?,?,?,?)"));
  CK_TRY_STATUS(insert
                    .bind_all(r.dedup_key, r.certificate_name, r.kind, r.severity, r.message,
                              r.first_fired_at, r.last_fired_at)
                    .run());
  return std::optional<std::int64_t>(db_.last_insert_id());
}

Result<std::optional<std::int64_t>> SqliteAlerts::resolve(std::string_view dedup_key,
                                                          std::int64_t at,
                                                          std::string_view resolution) {
  CK_TRY(open, db_.prepare("SELECT id FROM alerts WHERE dedup_key = ? AND resolved_at IS NULL"));
  open.bind(dedup_key);
  CK_TRY(id, first_row(open, [](const Statement& s) { return s.integer(0); }));
  if (!id) {
    return std::optional<std::int64_t>();
  }
  CK_TRY(s, db_.prepare("UPDATE alerts SET resolved_at = ?, resolution = ? WHERE id = ?"));
  CK_TRY_STATUS(s.bind_all(at, resolution, *id).run());
  return id;
}

Result<std::vector<AlertRecord>> SqliteAlerts::open_alerts() {
  CK_TRY(s, db_.prepare(CK_ALERT_SELECT "WHERE resolved_at IS NULL ORDER BY first_fired_at, id"));
  return collect_rows(s, read_alert);
}

Result<std::optional<AlertRecord>> SqliteAlerts::find(std::int64_t id) {
  CK_TRY(s, db_.prepare(CK_ALERT_SELECT "WHERE id = ?"));
  s.bind(id);
  return first_row(s, read_alert);
}

Result<std::vector<AlertRecord>> SqliteAlerts::history(
    std::size_t limit, std::optional<std::string_view> certificate_name) {
  const auto max = static_cast<std::int64_t>(limit);
  if (certificate_name) {
    CK_TRY(s, db_.prepare(CK_ALERT_SELECT "WHERE certificate_name = ? ORDER BY id DESC LIMIT ?"));
    s.bind(*certificate_name).bind(max);
    return collect_rows(s, read_alert);
  }
  CK_TRY(s, db_.prepare(CK_ALERT_SELECT "ORDER BY id DESC LIMIT ?"));
  s.bind(max);
  return collect_rows(s, read_alert);
}

Result<std::int64_t> SqliteAlerts::queue_notice(const AlertNotice& n) {
  CK_TRY(s, db_.prepare("INSERT INTO alert_notices (alert_id, notice, sink, created_at, "
                        "next_attempt_at) VALUES (?,?,?,?,?)"));
  CK_TRY_STATUS(s.bind_all(n.alert_id, n.notice, n.sink, n.created_at, n.next_attempt_at).run());
  return db_.last_insert_id();
}

Result<std::vector<AlertNotice>> SqliteAlerts::due_notices(std::int64_t now, std::size_t limit) {
  CK_TRY(s,
         db_.prepare(CK_NOTICE_SELECT "WHERE delivered_at IS NULL AND given_up_at IS NULL AND "
                                      "next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"));
  s.bind(now).bind(static_cast<std::int64_t>(limit));
  return collect_rows(s, read_notice);
}

Result<std::optional<std::int64_t>> SqliteAlerts::next_notice_at() {
  CK_TRY(s, db_.prepare("SELECT MIN(next_attempt_at) FROM alert_notices "
                        "WHERE delivered_at IS NULL AND given_up_at IS NULL"));
  CK_TRY(row, first_row(s, [](const Statement& r) { return optional_integer(r, 0); }));
  return row ? *row : std::nullopt;
}

Result<std::vector<AlertNotice>> SqliteAlerts::notices_of(std::int64_t alert_id) {
  CK_TRY(s, db_.prepare(CK_NOTICE_SELECT "WHERE alert_id = ? ORDER BY id"));
  s.bind(alert_id);
  return collect_rows(s, read_notice);
}

Status SqliteAlerts::update_notice(const AlertNotice& n) {
  CK_TRY(s, db_.prepare("UPDATE alert_notices SET attempts = ?, next_attempt_at = ?, "
                        "delivered_at = ?, given_up_at = ?, last_error = ? WHERE id = ?"));
  return s
      .bind_all(static_cast<std::int64_t>(n.attempts), n.next_attempt_at, n.delivered_at,
                n.given_up_at, n.last_error, n.id)
      .run();
}

Result<std::int64_t> SqliteEvents::append(const EventRecord& r) {
  CK_TRY(s, db_.prepare("INSERT INTO events (at, kind, certificate_name, message, details_json) "
                        "VALUES (?,?,?,?,?)"));
  std::int64_t at = r.at != 0 ? r.at : clock_.unix_seconds();
  CK_TRY_STATUS(s.bind_all(at, r.kind, r.certificate_name, r.message, r.details_json).run());
  return db_.last_insert_id();
}

Result<std::vector<EventRecord>> SqliteEvents::recent(
    std::size_t limit, std::optional<std::string_view> certificate_name) {
  const auto max = static_cast<std::int64_t>(limit);
  if (certificate_name) {
    CK_TRY(s, db_.prepare(CK_EVENT_SELECT "WHERE certificate_name = ? ORDER BY id DESC LIMIT ?"));
    s.bind(*certificate_name).bind(max);
    return collect_rows(s, read_event);
  }
  CK_TRY(s, db_.prepare(CK_EVENT_SELECT "ORDER BY id DESC LIMIT ?"));
  s.bind(max);
  return collect_rows(s, read_event);
}

}  // namespace ck::store::sqlite

// The inventory schema, as an append-only list of migrations. A released
// migration is never edited: change the schema by adding the next one.

#include <array>

#include "store/sqlite_db.h"

namespace ck::store::sqlite {
namespace {

constexpr std::string_view kInitialSchema = R"sql(
CREATE TABLE keys (
  id                INTEGER PRIMARY KEY,
  path              TEXT NOT NULL UNIQUE,
  key_type          TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL,
  created_at        INTEGER NOT NULL
);

CREATE TABLE certificates (
  id                INTEGER PRIMARY KEY,
  name              TEXT NOT NULL,
  sha256            TEXT NOT NULL UNIQUE,
  serial            TEXT NOT NULL,
  subject           TEXT NOT NULL,
  issuer            TEXT NOT NULL,
  issuer_cn         TEXT NOT NULL,
  sans              TEXT NOT NULL,             -- JSON array of "DNS:x" / "IP:y"
  subject_key_id    TEXT NOT NULL,
  authority_key_id  TEXT NOT NULL,
  not_before        INTEGER NOT NULL,
  not_after         INTEGER NOT NULL,
  key_type          TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL,
  key_id            INTEGER REFERENCES keys(id) ON DELETE SET NULL,
  is_ca             INTEGER NOT NULL,
  source            TEXT NOT NULL,
  source_path       TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'revoked')),
  der               BLOB NOT NULL,
  chain_pem         TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE INDEX certificates_by_name ON certificates(name, not_before);
CREATE INDEX certificates_by_expiry ON certificates(status, not_after);

CREATE TABLE accounts (
  id            INTEGER PRIMARY KEY,
  directory_url TEXT NOT NULL,
  key_path      TEXT NOT NULL,
  key_type      TEXT NOT NULL,
  account_url   TEXT NOT NULL,
  contacts      TEXT NOT NULL,                 -- JSON array
  status        TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  UNIQUE (directory_url, key_path)
);

CREATE TABLE orders (
  id               INTEGER PRIMARY KEY,
  account_id       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  certificate_name TEXT NOT NULL,
  order_url        TEXT NOT NULL UNIQUE,
  status           TEXT NOT NULL,
  identifiers      TEXT NOT NULL,              -- JSON array of "dns:x" / "ip:y"
  finalize_url     TEXT NOT NULL,
  certificate_url  TEXT NOT NULL,
  key_path         TEXT NOT NULL,
  profile          TEXT NOT NULL,
  replaces         TEXT NOT NULL,
  error_json       TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX orders_by_status ON orders(status);

CREATE TABLE staples (
  certificate_id INTEGER PRIMARY KEY REFERENCES certificates(id) ON DELETE CASCADE,
  path           TEXT NOT NULL,
  responder_url  TEXT NOT NULL,
  cert_status    TEXT NOT NULL,
  produced_at    INTEGER NOT NULL,
  this_update    INTEGER NOT NULL,
  next_update    INTEGER NOT NULL,
  fetched_at     INTEGER NOT NULL,
  last_error     TEXT NOT NULL
);

CREATE TABLE crls (
  url           TEXT PRIMARY KEY,
  issuer        TEXT NOT NULL,
  crl_number    TEXT NOT NULL,
  this_update   INTEGER NOT NULL,
  next_update   INTEGER NOT NULL,
  etag          TEXT NOT NULL,
  last_modified TEXT NOT NULL,
  path          TEXT NOT NULL,
  entries       INTEGER NOT NULL,
  fetched_at    INTEGER NOT NULL
);

CREATE TABLE probes (
  id          INTEGER PRIMARY KEY,
  target      TEXT NOT NULL,
  sni         TEXT NOT NULL,
  probed_at   INTEGER NOT NULL,
  ok          INTEGER NOT NULL,
  protocol    TEXT NOT NULL,
  cipher      TEXT NOT NULL,
  leaf_sha256 TEXT NOT NULL,
  error       TEXT NOT NULL,
  result_json TEXT NOT NULL
);
CREATE INDEX probes_by_target ON probes(target, probed_at);

CREATE TABLE alerts (
  id               INTEGER PRIMARY KEY,
  dedup_key        TEXT NOT NULL,
  certificate_name TEXT NOT NULL,
  kind             TEXT NOT NULL,
  severity         TEXT NOT NULL,
  message          TEXT NOT NULL,
  first_fired_at   INTEGER NOT NULL,
  last_fired_at    INTEGER NOT NULL,
  resolved_at      INTEGER
);
-- At most one open alert per key.
CREATE UNIQUE INDEX alerts_open_by_key ON alerts(dedup_key) WHERE resolved_at IS NULL;

CREATE TABLE events (
  id               INTEGER PRIMARY KEY,
  at               INTEGER NOT NULL,
  kind             TEXT NOT NULL,
  certificate_name TEXT NOT NULL,
  message          TEXT NOT NULL,
  details_json     TEXT NOT NULL
);
CREATE INDEX events_by_name ON events(certificate_name, id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
)sql";

// RFC 9773: what the CA suggested, what certkeeper chose, when to ask again.
constexpr std::string_view kRenewalInfo = R"sql(
CREATE TABLE renewal_info (
  certificate_id  INTEGER PRIMARY KEY REFERENCES certificates(id) ON DELETE CASCADE,
  ari_id          TEXT NOT NULL,        -- the RFC 9773 certificate identifier
  window_start    INTEGER NOT NULL,
  window_end      INTEGER NOT NULL,
  selected_time   INTEGER NOT NULL,     -- chosen once within the window, kept while it fits
  explanation_url TEXT NOT NULL,
  next_check      INTEGER NOT NULL,     -- from Retry-After
  fetched_at      INTEGER NOT NULL
);
)sql";

// Alert notices as an outbox: one row per alert, change (firing, resolved)
// and sink, written with the alert in one transaction and marked when
// delivered, so that a restart neither loses nor repeats a notice. An alert
// closed because a tighter threshold of its kind opened is "superseded" and
// sends no recovery notice.
constexpr std::string_view kAlertNotices = R"sql(
ALTER TABLE alerts ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
CREATE TABLE alert_notices (
  id              INTEGER PRIMARY KEY,
  alert_id        INTEGER NOT NULL REFERENCES alerts(id),
  notice          TEXT NOT NULL,            -- 'firing' or 'resolved'
  sink            TEXT NOT NULL,            -- 'webhook', 'command', 'email'
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at    INTEGER,
  given_up_at     INTEGER,
  last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_notices_pending ON alert_notices(next_attempt_at)
  WHERE delivered_at IS NULL AND given_up_at IS NULL;
CREATE INDEX alert_notices_by_alert ON alert_notices(alert_id);
)sql";

constexpr std::array kMigrations{
    Migration{1, "initial inventory schema", kInitialSchema},
    Migration{2, "ACME renewal information", kRenewalInfo},
    Migration{3, "alert notices", kAlertNotices},
};

}  // namespace

std::span<const Migration> schema_migrations() {
  return kMigrations;
}

}  // namespace ck::store::sqlite

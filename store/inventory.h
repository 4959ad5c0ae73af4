#pragma once
// The inventory: the one record of every certificate, key, account, order,
// staple, CRL, probe, alert and event. Nothing outside store/ knows it is SQLite.
//
// Storage contract
// - Ownership: an Inventory is one connection. Use it from one thread at a
//   time; open one per thread. Many connections and processes may share one
//   database file.
// - Atomicity: every repository call is atomic on its own. transaction() groups
//   calls: all of them land or none does. Nested transaction() calls are
//   savepoints: an inner failure undoes the inner part only, and the outer
//   transaction decides. A transaction whose function fails is rolled back and
//   its error returned.
// - Concurrency: one writer at a time (a writer waits up to busy_timeout for
//   another); readers never block and never see a write that has not committed.
// - Not found: lookups return an empty optional, never an error. Errors are
//   Errc::store (database failure) or Errc::invalid_argument (a record that
//   breaks a rule, e.g. an order with no URL).
// - Invariants: at most one active certificate per name, the one with the
//   latest not_before; the event log is append-only.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "store/records.h"

namespace ck::store {

struct CertificateFilter {
  bool include_inactive = false;  // superseded too (active and revoked are always listed)
  // not_after <= this (expiring); revoked ones match whatever their notAfter
  std::optional<std::int64_t> not_after_before;
  std::optional<std::string> name;
};

struct UpsertResult {
  std::int64_t id = 0;
  bool inserted = false;  // false: an existing row was updated
};

class CertificateRepository {
 public:
  virtual ~CertificateRepository() = default;
  // Inserts by fingerprint or updates the existing row (its name is kept).
  // Keeps the one-active-per-name invariant: a certificate older than the
  // active one of its name is stored as superseded, a newer one supersedes it.
  [[nodiscard]] virtual Result<UpsertResult> upsert(const CertificateRecord& record) = 0;
  [[nodiscard]] virtual Result<std::optional<CertificateRecord>> find_by_fingerprint(
      std::string_view sha256) = 0;
  // Every certificate whose fingerprint starts with `prefix` (hex, >= 8 digits).
  [[nodiscard]] virtual Result<std::vector<CertificateRecord>> find_by_fingerprint_prefix(
      std::string_view prefix) = 0;
  // All versions of a name, newest not_before first.
  [[nodiscard]] virtual Result<std::vector<CertificateRecord>> versions(std::string_view name) = 0;
  // The name's active version (the newest, should there be two); none when it
  // has none. One row read, however many versions the name has had.
  [[nodiscard]] virtual Result<std::optional<CertificateRecord>> active_version(
      std::string_view name) = 0;
  // Streams summaries (without der and chain_pem) ordered by not_after, then
  // name; `visit` returns false to stop early.
  [[nodiscard]] virtual Status for_each(
      const CertificateFilter& filter,
      const std::function<bool(const CertificateRecord&)>& visit) = 0;
  [[nodiscard]] virtual Status set_status(std::int64_t id, CertificateStatus status) = 0;
  [[nodiscard]] virtual Status set_key(std::int64_t id, std::int64_t key_id) = 0;
};

class KeyRepository {
 public:
  virtual ~KeyRepository() = default;
  [[nodiscard]] virtual Result<UpsertResult> upsert(const KeyRecord& record) = 0;  // by path
  [[nodiscard]] virtual Result<std::optional<KeyRecord>> find_by_path(std::string_view path) = 0;
  [[nodiscard]] virtual Result<std::optional<KeyRecord>> find(std::int64_t id) = 0;
};

class AccountRepository {
 public:
  virtual ~AccountRepository() = default;
  // By (directory_url, key_path).
  [[nodiscard]] virtual Result<UpsertResult> upsert(const AccountRecord& record) = 0;
  [[nodiscard]] virtual Result<std::optional<AccountRecord>> find(std::string_view directory_url,
                                                                  std::string_view key_path) = 0;
  [[nodiscard]] virtual Result<std::vector<AccountRecord>> list() = 0;
};

class OrderRepository {
 public:
  virtual ~OrderRepository() = default;
  [[nodiscard]] virtual Result<UpsertResult> upsert(const OrderRecord& record) = 0;  // by order_url
  [[nodiscard]] virtual Result<std::optional<OrderRecord>> find_by_url(std::string_view url) = 0;
  // Orders not yet valid or invalid: the ones to resume after a restart.
  [[nodiscard]] virtual Result<std::vector<OrderRecord>> unfinished() = 0;
  // The newest valid order for a certificate name: where its current version came from.
  [[nodiscard]] virtual Result<std::optional<OrderRecord>> latest_valid(
      std::string_view certificate_name) = 0;
};

class StapleRepository {
 public:
  virtual ~StapleRepository() = default;
  [[nodiscard]] virtual Status upsert(const StapleRecord& record) = 0;  // by certificate_id
  [[nodiscard]] virtual Result<std::optional<StapleRecord>> find(std::int64_t certificate_id) = 0;
};

class RenewalInfoRepository {
 public:
  virtual ~RenewalInfoRepository() = default;
  [[nodiscard]] virtual Status upsert(const RenewalInfoRecord& record) = 0;  // by certificate_id
  [[nodiscard]] virtual Result<std::optional<RenewalInfoRecord>> find(
      std::int64_t certificate_id) = 0;
};

class CrlRepository {
 public:
  virtual ~CrlRepository() = default;
  [[nodiscard]] virtual Status upsert(const CrlRecord& record) = 0;  // by url
  [[nodiscard]] virtual Result<std::optional<CrlRecord>> find(std::string_view url) = 0;
};

class ProbeRepository {
 public:
  virtual ~ProbeRepository() = default;
  [[nodiscard]] virtual Result<std::int64_t> insert(const ProbeRecord& record) = 0;
  [[nodiscard]] virtual Result<std::optional<ProbeRecord>> latest(std::string_view target) = 0;
};

class AlertRepository {
 public:
  virtual ~AlertRepository() = default;
  // Opens the alert for record.dedup_key, or refreshes last_fired_at and the
  // message of the open one. Returns the new alert's id when one was opened.
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> fire(const AlertRecord& record) = 0;
  // Closes the open alert of that key, if any, saying why ("recovered",
  // "superseded"). Returns the closed alert's id when one was closed.
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> resolve(
      std::string_view dedup_key, std::int64_t at, std::string_view resolution) = 0;
  [[nodiscard]] virtual Result<std::vector<AlertRecord>> open_alerts() = 0;
  [[nodiscard]] virtual Result<std::optional<AlertRecord>> find(std::int64_t id) = 0;
  // Open and closed, newest first, at most `limit`; only `certificate_name`'s when set.
  [[nodiscard]] virtual Result<std::vector<AlertRecord>> history(
      std::size_t limit, std::optional<std::string_view> certificate_name = {}) = 0;

  // The outbox of notices (see AlertNotice): queued with the alert's change,
  // in the same transaction; taken when due; updated after each attempt.
  [[nodiscard]] virtual Result<std::int64_t> queue_notice(const AlertNotice& notice) = 0;
  // Undelivered notices due at `now` (not given up), oldest first.
  [[nodiscard]] virtual Result<std::vector<AlertNotice>> due_notices(std::int64_t now,
                                                                     std::size_t limit) = 0;
  // When the soonest undelivered notice is due; none when nothing waits.
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> next_notice_at() = 0;
  [[nodiscard]] virtual Result<std::vector<AlertNotice>> notices_of(std::int64_t alert_id) = 0;
  // Writes attempts, next_attempt_at, delivered_at, given_up_at and last_error.
  [[nodiscard]] virtual Status update_notice(const AlertNotice& notice) = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  [[nodiscard]] virtual Result<std::int64_t> append(const EventRecord& record) = 0;
  // Newest first, at most `limit`; only events of `certificate_name` when set.
  [[nodiscard]] virtual Result<std::vector<EventRecord>> recent(
      std::size_t limit, std::optional<std::string_view> certificate_name = {}) = 0;
};

class Inventory {
 public:
  virtual ~Inventory() = default;
  virtual CertificateRepository& certificates() = 0;
  virtual KeyRepository& keys() = 0;
  virtual AccountRepository& accounts() = 0;
  virtual OrderRepository& orders() = 0;
  virtual StapleRepository& staples() = 0;
  virtual RenewalInfoRepository& renewal_info() = 0;
  virtual CrlRepository& crls() = 0;
  virtual ProbeRepository& probes() = 0;
  virtual AlertRepository& alerts() = 0;
  virtual EventLog& events() = 0;
  // See the contract above.
  [[nodiscard]] virtual Status transaction(const std::function<Status()>& body) = 0;
  // The schema version of the open database.
  [[nodiscard]] virtual int schema_version() const = 0;
  // Gives back what the connection caches: a long-running service calls it
  // when a burst of work is over, so that its memory returns to its idle size.
  virtual void release_memory() = 0;
};

// Opens (creating if needed) the SQLite inventory at `path` and brings its
// schema up to date inside a transaction. Refuses a database written by a newer
// certkeeper with Errc::schema_too_new. `clock` stamps created/updated times
// and must outlive the inventory.
[[nodiscard]] Result<std::unique_ptr<Inventory>> open_inventory(const std::string& path,
                                                                const Clock& clock);
// A private in-memory inventory with the same behaviour, for tests of the code
// above the store.
[[nodiscard]] Result<std::unique_ptr<Inventory>> open_memory_inventory(const Clock& clock);

// The newest schema version this build knows.
[[nodiscard]] int latest_schema_version();

}  // namespace ck::store

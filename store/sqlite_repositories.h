#pragma once
// Internal to store/: the SQLite implementations of the repositories declared in
// inventory.h. Each holds a reference to the Database its Inventory owns.

#include "store/inventory.h"
#include "store/sqlite_db.h"

namespace ck::store::sqlite {

class SqliteCertificates final : public CertificateRepository {
 public:
  SqliteCertificates(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
  Result<UpsertResult> upsert(const CertificateRecord& record) override;
  Result<std::optional<CertificateRecord>> find_by_fingerprint(std::string_view sha256) override;
  Result<std::vector<CertificateRecord>> find_by_fingerprint_prefix(
      std::string_view prefix) override;
  Result<std::vector<CertificateRecord>> versions(std::string_view name) override;
  Result<std::optional<CertificateRecord>> active_version(std::string_view name) override;
  Status for_each(const CertificateFilter& filter,
                  const std::function<bool(const CertificateRecord&)>& visit) override;
  Status set_status(std::int64_t id, CertificateStatus status) override;
  Status set_key(std::int64_t id, std::int64_t key_id) override;

 private:
  Result<UpsertResult> insert(const CertificateRecord& record);
  Database& db_;
  const Clock& clock_;
};

class SqliteKeys final : public KeyRepository {
 public:
  SqliteKeys(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
  Result<UpsertResult> upsert(const KeyRecord& record) override;
  Result<std::optional<KeyRecord>> find_by_path(std::string_view path) override;
  Result<std::optional<KeyRecord>> find(std::int64_t id) override;

 private:
  Database& db_;
  const Clock& clock_;
};

class SqliteAccounts final : public AccountRepository {
 public:
  SqliteAccounts(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
  Result<UpsertResult> upsert(const AccountRecord& record) override;
  Result<std::optional<AccountRecord>> find(std::string_view directory_url,
                                            std::string_view key_path) override;
  Result<std::vector<AccountRecord>> list() override;

 private:
  Database& db_;
  const Clock& clock_;
};

class SqliteOrders final : public OrderRepository {
 public:
  SqliteOrders(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
  Result<UpsertResult> upsert(const OrderRecord& record) override;
  Result<std::optional<OrderRecord>> find_by_url(std::string_view url) override;
  Result<std::vector<OrderRecord>> unfinished() override;
  Result<std::optional<OrderRecord>> latest_valid(std::string_view certificate_name) override;

 private:
  Database& db_;
  const Clock& clock_;
};

class SqliteStaples final : public StapleRepository {
 public:
  explicit SqliteStaples(Database& db) : db_(db) {}
  Status upsert(const StapleRecord& record) override;
  Result<std::optional<StapleRecord>> find(std::int64_t certificate_id) override;

 private:
  Database& db_;
};

class SqliteRenewalInfo final : public RenewalInfoRepository {
 public:
  explicit SqliteRenewalInfo(Database& db) : db_(db) {}
  Status upsert(const RenewalInfoRecord& record) override;
  Result<std::optional<RenewalInfoRecord>> find(std::int64_t certificate_id) override;

 private:
  Database& db_;
};

class SqliteCrls final : public CrlRepository {
 public:
  explicit SqliteCrls(Database& db) : db_(db) {}
  Status upsert(const CrlRecord& record) override;
  Result<std::optional<CrlRecord>> find(std::string_view url) override;

 private:
  Database& db_;
};

class SqliteProbes final : public ProbeRepository {
 public:
  explicit SqliteProbes(Database& db) : db_(db) {}
  Result<std::int64_t> insert(const ProbeRecord& record) override;
  Result<std::optional<ProbeRecord>> latest(std::string_view target) override;

 private:
  Database& db_;
};

class SqliteAlerts final : public AlertRepository {
 public:
  explicit SqliteAlerts(Database& db) : db_(db) {}
  Result<std::optional<std::int64_t>> fire(const AlertRecord& record) override;
  Result<std::optional<std::int64_t>> resolve(std::string_view dedup_key, std::int64_t at,
                                              std::string_view resolution) override;
  Result<std::vector<AlertRecord>> open_alerts() override;
  Result<std::optional<AlertRecord>> find(std::int64_t id) override;
  Result<std::vector<AlertRecord>> history(
      std::size_t limit, std::optional<std::string_view> certificate_name) override;
  Result<std::int64_t> queue_notice(const AlertNotice& notice) override;
  Result<std::vector<AlertNotice>> due_notices(std::int64_t now, std::size_t limit) override;
  Result<std::optional<std::int64_t>> next_notice_at() override;
  Result<std::vector<AlertNotice>> notices_of(std::int64_t alert_id) override;
  Status update_notice(const AlertNotice& notice) override;

 private:
  Database& db_;
};

class SqliteEvents final : public EventLog {
 public:
  SqliteEvents(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
  Result<std::int64_t> append(const EventRecord& record) override;
  Result<std::vector<EventRecord>> recent(
      std::size_t limit, std::optional<std::string_view> certificate_name) override;

 private:
  Database& db_;
  const Clock& clock_;
};

// JSON array text <-> list of strings, for the list-valued columns.
[[nodiscard]] std::string to_json_array(const std::vector<std::string>& items);
[[nodiscard]] std::vector<std::string> from_json_array(const std::string& text);

}  // namespace ck::store::sqlite

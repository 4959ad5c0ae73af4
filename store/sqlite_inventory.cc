#include "store/migrations_for_test.h"
#include "store/sqlite_repositories.h"

namespace ck::store {

std::string_view to_string(CertificateStatus status) {
  switch (status) {
    case CertificateStatus::active: return "active";
    case CertificateStatus::superseded: return "superseded";
    case CertificateStatus::revoked: return "revoked";
    default: return "active";
  }
}

std::optional<CertificateStatus> parse_certificate_status(std::string_view text) {
  for (auto status :
       {CertificateStatus::active, CertificateStatus::superseded, CertificateStatus::revoked}) {
    if (to_string(status) == text) {
      return status;
    }
  }
  return std::nullopt;
}

namespace sqlite {
namespace {

class SqliteInventory final : public Inventory {
 public:
  SqliteInventory(std::unique_ptr<Database> db, const Clock& clock)
      : db_(std::move(db)),
        certificates_(*db_, clock),
        keys_(*db_, clock),
        accounts_(*db_, clock),
        orders_(*db_, clock),
        staples_(*db_),
        renewal_info_(*db_),
        crls_(*db_),
        probes_(*db_),
        alerts_(*db_),
        events_(*db_, clock) {}

  CertificateRepository& certificates() override { return certificates_; }
  KeyRepository& keys() override { return keys_; }
  AccountRepository& accounts() override { return accounts_; }
  OrderRepository& orders() override { return orders_; }
  StapleRepository& staples() override { return staples_; }
  RenewalInfoRepository& renewal_info() override { return renewal_info_; }
  CrlRepository& crls() override { return crls_; }
  ProbeRepository& probes() override { return probes_; }
  AlertRepository& alerts() override { return alerts_; }
  EventLog& events() override { return events_; }
  Status transaction(const std::function<Status()>& body) override {
    return db_->transaction(body);
  }
  int schema_version() const override { return db_->schema_version(); }
  void release_memory() override { db_->release_memory(); }

 private:
  std::unique_ptr<Database> db_;
  SqliteCertificates certificates_;
  SqliteKeys keys_;
  SqliteAccounts accounts_;
  SqliteOrders orders_;
  SqliteStaples staples_;
  SqliteRenewalInfo renewal_info_;
  SqliteCrls crls_;
  SqliteProbes probes_;
  SqliteAlerts alerts_;
  SqliteEvents events_;
};

}  // namespace
}  // namespace sqlite

Result<std::unique_ptr<Inventory>> open_inventory_with_migrations_ForTest(
    const std::string& path, const Clock& clock, std::span<const sqlite::Migration> migrations) {
  CK_TRY(db, sqlite::Database::open(path, migrations));
  return std::make_unique<sqlite::SqliteInventory>(std::move(db), clock);
}

Result<std::unique_ptr<Inventory>> open_inventory(const std::string& path, const Clock& clock) {
  return open_inventory_with_migrations_ForTest(path, clock, sqlite::schema_migrations());
}

Result<std::unique_ptr<Inventory>> open_memory_inventory(const Clock& clock) {
  return open_inventory(":memory:", clock);
}

int latest_schema_version() {
  return sqlite::schema_migrations().back().version;
}

}  // namespace ck::store

#pragma once
// Synthetic inventory rows: the store does not parse certificates, so its tests
// use plain records with chosen names, fingerprints and dates.

#include <sqlite3.h>

#include <string>

#include "store/records.h"
#include "tests/support/test_support.h"

namespace ck::test {

inline store::CertificateRecord record(const std::string& name, int n, std::int64_t not_before,
                                       std::int64_t not_after) {
  store::CertificateRecord r;
  r.name = name;
  char sha[65];
  std::snprintf(sha, sizeof sha, "%064x", n);
  r.sha256 = sha;
  r.serial = std::to_string(n);
  r.subject = "CN=" + name;
  r.issuer = "CN=Test CA";
  r.issuer_cn = "Test CA";
  r.sans = {"DNS:" + name + ".example"};
  r.not_before = not_before;
  r.not_after = not_after;
  r.key_type = "ecdsa-p256";
  r.public_key_sha256 = std::string(64, 'b');
  r.source = "import";
  r.der = "der-" + std::to_string(n);
  return r;
}

// Runs SQL directly on a database file, bypassing the store (to tamper).
inline int raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

inline int raw_user_version(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
  sqlite3_step(stmt);
  int version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return version;
}

}  // namespace ck::test

#include "store/sqlite_db.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace ck::store::sqlite {
namespace {

// How long a writer waits for another process's write transaction to end.
constexpr int kBusyTimeoutMs = 10'000;

bool is_busy(int rc) {
  return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

// SQLite's "database is locked" says neither who nor how long, and its "disk
// I/O error" not what the system said (a full disk, a read-only one).
std::string describe(std::string message, int rc, sqlite3* db) {
  const int primary = rc & 0xff;
  const int err = sqlite3_system_errno(db);
  if (err != 0 &&
      (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN)) {
    message += std::string(" (") + std::strerror(err) + ")";
  }
  if (primary == SQLITE_FULL || err == ENOSPC || err == EDQUOT) {
    message +=
        ": the file system is full, and this write was not made; try again once there is room";
  }
  if (is_busy(rc)) {
    message +=
        ": another process (a second certkeeper, a sqlite3 shell) held a write transaction on the "
        "inventory for the " +
        std::to_string(kBusyTimeoutMs / 1000) +
        " s certkeeper waits; nothing was changed, try again when it is done";
  }
  return message;
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), next_index_(other.next_index_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::bind(std::int64_t value) {
  sqlite3_bind_int64(stmt_, next_index_++, value);
  return *this;
}

Statement& Statement::bind(std::string_view text) {
  sqlite3_bind_text64(stmt_, next_index_++, text.data(), text.size(), SQLITE_TRANSIENT,
                      SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind(std::optional<std::int64_t> value) {
  if (value) {
    return bind(*value);
  }
  sqlite3_bind_null(stmt_, next_index_++);
  return *this;
}

Statement& Statement::bind_blob(std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, next_index_++, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return fail(Errc::store, describe(sqlite3_errmsg(db_), rc, db_), sqlite3_sql(stmt_), is_busy(rc));
}

Status Statement::run() {
  for (;;) {
    CK_TRY(row, step());
    if (!row) {
      return {};
    }
  }
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string();
}

std::string Statement::blob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Database::Database(ConnectionHandle db, std::string path)
    : db_(std::move(db)), path_(std::move(path)) {}

Error Database::error(std::string_view what) const {
  return Error{Errc::store,
               describe(std::string(what) + ": " + sqlite3_errmsg(db_.get()),
                        sqlite3_extended_errcode(db_.get()), db_.get()),
               path_, false};
}

Status Database::exec(const char* sql) {
  char* raw = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &raw) != SQLITE_OK) {
    std::unique_ptr<char, MessageDeleter> message(raw);
    std::string text = message ? message.get() : "unknown error";
    const int rc = sqlite3_extended_errcode(db_.get());
    return fail(Errc::store, describe(text, rc, db_.get()), path_, is_busy(rc));
  }
  return {};
}

Status Database::enable_wal() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  while (true) {
    auto switched = exec("PRAGMA journal_mode=WAL");
    if (switched || !switched.error().retryable || std::chrono::steady_clock::now() >= deadline) {
      return switched;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Result<Statement> Database::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
        SQLITE_OK) {
      return std::unexpected(error("cannot prepare statement"));
    }
    it = cache_.emplace(sql, StatementHandle(raw)).first;
  }
  return Statement(db_.get(), it->second.get());
}

Status Database::transaction(const std::function<Status()>& body) {
  const std::string savepoint = "sp" + std::to_string(depth_);
  CK_TRY_STATUS(exec(depth_ == 0 ? "BEGIN IMMEDIATE" : ("SAVEPOINT " + savepoint).c_str()));
  ++depth_;
  Status result = body();
  --depth_;
  if (depth_ == 0) {
    if (result) {
      if (auto committed = exec("COMMIT"); !committed) {
        static_cast<void>(exec("ROLLBACK"));
        return committed;
      }
      return {};
    }
    static_cast<void>(exec("ROLLBACK"));
    return result;
  }
  if (!result) {
    static_cast<void>(exec(("ROLLBACK TO " + savepoint).c_str()));
  }
  static_cast<void>(exec(("RELEASE " + savepoint).c_str()));
  return result;
}

std::int64_t Database::last_insert_id() const {
  return sqlite3_last_insert_rowid(db_.get());
}

int Database::changes() const {
  return sqlite3_changes(db_.get());
}

Result<int> Database::read_user_version() {
  CK_TRY(stmt, prepare("PRAGMA user_version"));
  CK_TRY(row, stmt.step());
  return row ? static_cast<int>(stmt.integer(0)) : 0;
}

Status Database::migrate(std::span<const Migration> migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  CK_TRY(current, read_user_version());
  if (current > latest) {
    return fail(Errc::schema_too_new,
                "the inventory has schema version " + std::to_string(current) +
                    ", newer than this certkeeper understands (" + std::to_string(latest) +
                    "); upgrade certkeeper, or point --state-dir at another inventory",
                path_);
  }
  if (current < latest) {
    CK_TRY_STATUS(transaction([&]() -> Status {
      // Re-read inside the write lock: another process may have migrated.
      CK_TRY(version, read_user_version());
      for (const Migration& m : migrations) {
        if (m.version <= version) {
          continue;
        }
        if (auto applied = exec(std::string(m.sql).c_str()); !applied) {
          return fail(Errc::store,
                      "migration " + std::to_string(m.version) + " (" + std::string(m.summary) +
                          ") failed: " + applied.error().message,
                      path_);
        }
        CK_TRY_STATUS(exec(("PRAGMA user_version = " + std::to_string(m.version)).c_str()));
      }
      return {};
    }));
  }
  schema_version_ = latest;
  return {};
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path,
                                                 std::span<const Migration> migrations) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  ConnectionHandle handle(raw);
  if (rc != SQLITE_OK) {
    return fail(
        Errc::store,
        std::string("cannot open inventory: ") + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)),
        path);
  }
  std::unique_ptr<Database> db(new Database(std::move(handle), path));
  sqlite3_busy_timeout(db->db_.get(), kBusyTimeoutMs);
  sqlite3_extended_result_codes(db->db_.get(), 1);
  // WAL: readers never block the writer nor see uncommitted data. Turning a
  // new database to WAL needs it to itself, and SQLite answers "locked" at
  // once, without the busy handler, while another process opens it too: the
  // switch is retried within the busy timeout.
  CK_TRY_STATUS(db->enable_wal());
  // synchronous=FULL: a committed transaction survives power loss.
  CK_TRY_STATUS(
      db->exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF; "
               "PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY"));
  CK_TRY_STATUS(db->migrate(migrations));
  return db;
}

void Database::release_memory() {
  sqlite3_db_release_memory(db_.get());  // the page cache; prepared statements stay
}

}  // namespace ck::store::sqlite

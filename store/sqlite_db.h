#pragma once
// Internal to store/: a thin owner of one SQLite connection with a statement
// cache, nested transactions and schema migrations. Nothing outside store/
// includes this header.

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace ck::store::sqlite {

struct ConnectionDeleter {
  void operator()(sqlite3* p) const noexcept { sqlite3_close_v2(p); }
};
struct StatementDeleter {
  void operator()(sqlite3_stmt* p) const noexcept { sqlite3_finalize(p); }
};
struct MessageDeleter {
  void operator()(char* p) const noexcept { sqlite3_free(p); }
};
using ConnectionHandle = std::unique_ptr<sqlite3, ConnectionDeleter>;
using StatementHandle = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// A cached prepared statement in use. Binding indexes are 1-based in call
// order; the statement is reset and its bindings cleared when this goes away.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  ~Statement();

  Statement& bind(std::int64_t value);
  Statement& bind(std::string_view text);
  Statement& bind(const char* text) { return bind(std::string_view(text)); }
  Statement& bind(const std::string& text) { return bind(std::string_view(text)); }
  Statement& bind(bool value) { return bind(std::int64_t{value}); }
  Statement& bind(std::optional<std::int64_t> value);
  Statement& bind_blob(std::string_view bytes);
  template <class... Args>
  Statement& bind_all(const Args&... args) {
    (bind(args), ...);
    return *this;
  }

  // Advances: true when a row is available, false when done.
  [[nodiscard]] Result<bool> step();
  // Steps to completion, expecting no rows.
  [[nodiscard]] Status run();

  [[nodiscard]] std::int64_t integer(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::string blob(int column) const;
  [[nodiscard]] bool is_null(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int next_index_ = 1;
};

// Every remaining row of `s`, each turned into a record by `read(s)`.
template <class Reader>
[[nodiscard]] auto collect_rows(Statement& s, Reader read)
    -> Result<std::vector<decltype(read(s))>> {
  std::vector<decltype(read(s))> out;
  for (;;) {
    CK_TRY(row, s.step());
    if (!row) {
      return out;
    }
    out.push_back(read(s));
  }
}

// The first row of `s` as a record, or nullopt when there is none.
template <class Reader>
[[nodiscard]] auto first_row(Statement& s, Reader read)
    -> Result<std::optional<decltype(read(s))>> {
  CK_TRY(row, s.step());
  if (!row) {
    return std::nullopt;
  }
  return read(s);
}

struct Migration {
  int version;  // 1, 2, 3, ... in order, never reused
  std::string_view summary;
  std::string_view sql;
};

// The migrations of this build, oldest first.
[[nodiscard]] std::span<const Migration> schema_migrations();

class Database {
 public:
  // Opens or creates `path` (":memory:" for a private in-memory database), sets
  // WAL, foreign keys and the busy timeout, and applies pending `migrations`.
  [[nodiscard]] static Result<std::unique_ptr<Database>> open(
      const std::string& path, std::span<const Migration> migrations);

  [[nodiscard]] Status exec(const char* sql);
  // `sql` must be a string literal: its address keys the statement cache.
  [[nodiscard]] Result<Statement> prepare(const char* sql);
  [[nodiscard]] Status transaction(const std::function<Status()>& body);
  [[nodiscard]] std::int64_t last_insert_id() const;
  [[nodiscard]] int changes() const;
  [[nodiscard]] int schema_version() const { return schema_version_; }
  [[nodiscard]] Error error(std::string_view what) const;
  // Frees the connection's page cache.
  void release_memory();

 private:
  explicit Database(ConnectionHandle db, std::string path);
  [[nodiscard]] Result<int> read_user_version();
  [[nodiscard]] Status migrate(std::span<const Migration> migrations);
  [[nodiscard]] Status enable_wal();

  ConnectionHandle db_;
  std::string path_;
  std::unordered_map<const char*, StatementHandle> cache_;  // keyed by SQL literal
  int depth_ = 0;
  int schema_version_ = 0;
};

}  // namespace ck::store::sqlite

#include <doctest/doctest.h>

#include <array>

#include "store/migrations_for_test.h"
#include "tests/store/store_fixtures.h"

using namespace ck;
using namespace ck::test;

TEST_CASE("a new inventory is created at the latest schema version") {
  TempDir dir;
  ManualClock clock(kT0);
  auto inventory = store::open_inventory((dir / "inventory.db").string(), clock);
  REQUIRE(inventory);
  CHECK((*inventory)->schema_version() == store::latest_schema_version());
  CHECK(raw_user_version((dir / "inventory.db").string()) == store::latest_schema_version());
}

TEST_CASE("good: a newer binary upgrades an older inventory and keeps its data") {
  TempDir dir;
  ManualClock clock(kT0);
  const std::string path = (dir / "inventory.db").string();
  auto current = store::sqlite::schema_migrations();
  {
    auto old = store::open_inventory_with_migrations_ForTest(path, clock, current).value();
    REQUIRE(old->certificates().upsert(record("www", 1, kT0, kT0 + 90 * kDay)));
  }
  std::vector<store::sqlite::Migration> next(current.begin(), current.end());
  const int new_version = next.back().version + 1;
  next.push_back({new_version, "add a note column",
                  "ALTER TABLE certificates ADD COLUMN note TEXT NOT NULL DEFAULT ''"});
  auto upgraded = store::open_inventory_with_migrations_ForTest(path, clock, next);
  REQUIRE(upgraded);
  CHECK((*upgraded)->schema_version() == new_version);
  CHECK(raw_user_version(path) == new_version);
  CHECK((*upgraded)->certificates().versions("www").value().size() == 1);
  CHECK(raw_sql(path, "SELECT note FROM certificates") == SQLITE_OK);
}

TEST_CASE("bad: a failing migration is rolled back whole") {
  TempDir dir;
  ManualClock clock(kT0);
  const std::string path = (dir / "inventory.db").string();
  auto current = store::sqlite::schema_migrations();
  REQUIRE(store::open_inventory_with_migrations_ForTest(path, clock, current));
  std::vector<store::sqlite::Migration> next(current.begin(), current.end());
  next.push_back(
      {next.back().version + 1, "broken", "CREATE TABLE half_done (a INTEGER); THIS IS NOT SQL"});
  auto opened = store::open_inventory_with_migrations_ForTest(path, clock, next);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Errc::store);
  CHECK(opened.error().message.find("(broken) failed") != std::string::npos);
  CHECK(raw_user_version(path) == current.back().version);
  CHECK(raw_sql(path, "SELECT * FROM half_done") != SQLITE_OK);  // the first statement was undone
}

TEST_CASE("bad: an older binary refuses a newer inventory and leaves it alone") {
  TempDir dir;
  ManualClock clock(kT0);
  const std::string path = (dir / "inventory.db").string();
  REQUIRE(store::open_inventory(path, clock));
  REQUIRE(raw_sql(path, "PRAGMA user_version = 999") == SQLITE_OK);
  auto opened = store::open_inventory(path, clock);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Errc::schema_too_new);
  CHECK(opened.error().message.find("999") != std::string::npos);
  CHECK(opened.error().message.find("upgrade certkeeper") != std::string::npos);
  CHECK(raw_user_version(path) == 999);
}

TEST_CASE("bad: a file that is not a database is reported, not overwritten") {
  TempDir dir;
  ManualClock clock(kT0);
  write_text(dir / "inventory.db", std::string(4096, 'x'));
  auto opened = store::open_inventory((dir / "inventory.db").string(), clock);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Errc::store);
  CHECK(read_text(dir / "inventory.db") == std::string(4096, 'x'));
}

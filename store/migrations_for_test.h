#pragma once
// Test hook: opens an inventory with a chosen list of migrations, so tests can
// build an old database and then upgrade it, or try a migration that fails.

#include <span>

#include "store/inventory.h"
#include "store/sqlite_db.h"

namespace ck::store {

[[nodiscard]] Result<std::unique_ptr<Inventory>> open_inventory_with_migrations_ForTest(
    const std::string& path, const Clock& clock, std::span<const sqlite::Migration> migrations);

}  // namespace ck::store

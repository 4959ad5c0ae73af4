#pragma once
// A staple's state kept in the inventory (for status, alerts and the next
// refresh), after validator::refresh_staple has fetched or kept it.

#include <filesystem>
#include <string>

#include "store/inventory.h"
#include "validator/staple.h"

namespace ck::daemon {

// Records the outcome of refreshing the staple at `out` of the certificate
// whose SHA-256 is `sha256`: the answer on disk, or the error of a failed
// fetch (the earlier answer's fields stay). A certificate that is not in the
// inventory has nothing to record: that is not an error.
[[nodiscard]] Status record_staple(store::Inventory& inventory, const std::string& sha256,
                                   const std::filesystem::path& out,
                                   const Result<validator::StapleResult>& result, std::int64_t now);

}  // namespace ck::daemon

#include "daemon/lifecycle/staple_record.h"

namespace ck::daemon {

Status record_staple(store::Inventory& inventory, const std::string& sha256,
                     const std::filesystem::path& out,
                     const Result<validator::StapleResult>& result, std::int64_t now) {
  CK_TRY(found, inventory.certificates().find_by_fingerprint(sha256));
  if (!found) {
    return {};
  }
  CK_TRY(previous, inventory.staples().find(found->id));
  store::StapleRecord record = previous ? *previous : store::StapleRecord{};
  record.certificate_id = found->id;
  record.path = std::filesystem::absolute(out).string();
  if (result) {
    const auto& a = result->answer;
    record.responder_url = result->responder_url;
    record.cert_status = std::string(validator::to_string(a.status));
    record.produced_at = a.produced_at;
    record.this_update = a.this_update;
    record.next_update = a.next_update;
    if (result->outcome == validator::StapleOutcome::written) {
      record.fetched_at = now;
    }
    record.last_error.clear();
  } else {
    record.last_error = result.error().describe();
  }
  return inventory.staples().upsert(record);
}

}  // namespace ck::daemon

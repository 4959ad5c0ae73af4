#include "daemon/lifecycle/order_log.h"

#include <nlohmann/json.hpp>

namespace ck::daemon {

Status StoreOrderObserver::order_changed(const acme::Order& order) {
  std::vector<std::string> identifiers;
  for (const auto& id : order.identifiers) {
    identifiers.push_back(id.type + ":" + id.value);
  }
  std::string error_json;
  if (order.error) {
    error_json =
        nlohmann::json{{"type", order.error->type}, {"detail", order.error->detail}}.dump();
  }
  store::OrderRecord record{0,
                            account_id_,
                            name_,
                            order.url,
                            order.status,
                            identifiers,
                            order.finalize,
                            order.certificate,
                            key_path_,
                            profile_,
                            "",
                            error_json,
                            0,
                            0};
  if (auto written = inventory_.orders().upsert(record); !written) {
    return fail(written.error().within("recording order " + order.url));
  }
  return then ? then(order) : Status{};
}

}  // namespace ck::daemon

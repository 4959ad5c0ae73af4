#pragma once
// Every state of an ACME order, recorded in the inventory as it happens, so
// that an interrupted order can be found again and finished (issue.h).

#include <functional>
#include <string>

#include "acme/issuance.h"
#include "store/inventory.h"

namespace ck::daemon {

// Records every state of an order, so an interrupted order can be found again.
class StoreOrderObserver final : public acme::OrderObserver {
 public:
  StoreOrderObserver(store::Inventory& inventory, std::int64_t account_id, std::string name,
                     std::string key_path, std::string profile)
      : inventory_(inventory),
        account_id_(account_id),
        name_(std::move(name)),
        key_path_(std::move(key_path)),
        profile_(std::move(profile)) {}
  // Records the order; a store failure stops the issuance (a resume needs the record).
  [[nodiscard]] Status order_changed(const acme::Order& order) override;
  // Told after each state is on record; an error stops the issuance there.
  std::function<Status(const acme::Order&)> then;

 private:
  store::Inventory& inventory_;
  std::int64_t account_id_;
  std::string name_;
  std::string key_path_;
  std::string profile_;
};

}  // namespace ck::daemon

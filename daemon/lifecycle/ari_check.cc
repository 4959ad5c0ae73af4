#include "daemon/lifecycle/ari_check.h"

#include "acme/ari.h"
#include "acme/client.h"
#include "core/clock.h"
#include "core/deadline_stop.h"

namespace ck::daemon {
namespace {

Result<acme::AcmeClient::RenewalInfoAnswer> fetch(const AriSource& ca, const std::string& ari_id) {
  HttpOptions http;
  http.ca_file = ca.ca_file;
  // renewalInfo is a plain GET (RFC 9773 §4.2): no account needed.
  CK_TRY(client, acme::AcmeClient::create_reader(ca.directory, http));
  if (ca.session) {
    client.share(ca.session);
  }
  return within(ca.stop, ca.timeout, "the CA", ca.directory, [&](std::stop_token stop) {
    client.set_stop_token(std::move(stop));
    return client.renewal_info(ari_id);
  });
}

}  // namespace

Result<AriCheck> check_ari(store::Inventory& inventory, const store::CertificateRecord& cert,
                           const AriSource& ca, std::int64_t now, bool force,
                           std::uint64_t random) {
  CK_TRY(x509, ossl::x509_from_der(cert.der));
  CK_TRY(ari_id, acme::certificate_identifier(*x509));
  CK_TRY(previous, inventory.renewal_info().find(cert.id));
  if (previous && previous->ari_id == ari_id && now < previous->next_check && !force) {
    return AriCheck{*previous, false};
  }
  CK_TRY(answer, fetch(ca, ari_id));
  std::optional<std::int64_t> kept;
  if (previous) {
    kept = previous->selected_time;
  }
  store::RenewalInfoRecord record{
      cert.id,
      ari_id,
      answer.window.start,
      answer.window.end,
      acme::keep_or_choose_renewal_time(answer.window, kept, now, random),
      answer.window.explanation_url,
      acme::next_renewal_info_check(now, answer.retry_after),
      now};
  CK_TRY_STATUS(inventory.transaction([&]() -> Status {
    CK_TRY_STATUS(inventory.renewal_info().upsert(record));
    if (!previous || previous->window_start != record.window_start ||
        previous->window_end != record.window_end) {
      CK_TRY_STATUS(inventory.events().append({0, now, "renewal_window", cert.name,
                                               "CA suggests renewing between " +
                                                   format_rfc3339(record.window_start) + " and " +
                                                   format_rfc3339(record.window_end) + "; chosen " +
                                                   format_rfc3339(record.selected_time),
                                               ""}));
    }
    return {};
  }));
  return AriCheck{record, true};
}

}  // namespace ck::daemon

#pragma once
// The status page the optional listener serves at /: one self-contained HTML
// document (no script, no font, nothing fetched; CSS bars, so it reads the
// same with JavaScript off). Every certificate is a bar from notBefore to
// notAfter on one time axis, with now, the CA's ARI window and the next
// renewal marked, coloured by state; then its last error, and the recent
// alerts and events. Names, subjects and problem texts come from
// certificates and CAs: every one of them is escaped. Pure.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/service/status_view.h"
#include "store/records.h"

namespace ck::daemon {

// ok, renewing, failing, revoked, drifted (an endpoint serves another
// version, or none), expired, pending (never issued): the worst that holds.
[[nodiscard]] std::string_view certificate_state(const LiveCertificate& live, std::int64_t now);

// The latest problem to show for a certificate, in its source's words
// (the CA's problem text for a failed renewal); "" when there is none.
[[nodiscard]] std::string last_error(const LiveCertificate& live);

struct StatusPageInput {
  std::int64_t now = 0;
  std::string version;
  std::int64_t started_at = 0;
  const std::map<std::string, LiveCertificate>* certificates = nullptr;
  std::vector<store::AlertRecord> alerts;  // recent, newest first
  std::vector<store::EventRecord> events;  // recent, newest first
};

[[nodiscard]] std::string render_status_page(const StatusPageInput& input);

// &, <, >, " and ' as character references.
[[nodiscard]] std::string html_escape(std::string_view text);

}  // namespace ck::daemon

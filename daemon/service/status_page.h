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

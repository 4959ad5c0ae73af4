#pragma once
// How an alert's change (it fires, or it is resolved) is told, the same
// content on every sink: a JSON webhook, an operator's command with the alert
// in its environment, an e-mail through the local sendmail. The texts are
// pure functions of the alert; each delivery is bounded in time and says
// exactly why it failed, so that the outbox retries it (alert_outbox.h).

#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/http.h"
#include "store/records.h"

namespace ck::daemon {

// What a notice says: the alert, "firing" or "resolved", and where from.
struct NoticeContent {
  const store::AlertRecord& alert;
  std::string_view notice;  // "firing", "resolved"
  std::string host;         // this machine's name
};

// The webhook body (a stable contract: README "Alerts"):
// {"version":1,"notice":"firing","host":..,"alert":{"id","key","kind",
//  "severity","certificate","message","first_fired_at","resolved_at"}}
[[nodiscard]] nlohmann::json notice_json(const NoticeContent& content);

// CERTKEEPER_ALERT_NOTICE, _ID, _KEY, _KIND, _SEVERITY, _CERTIFICATE,
// _MESSAGE, _FIRED_AT, _RESOLVED_AT, _HOST and _JSON (the webhook body).
[[nodiscard]] std::vector<std::string> notice_environment(const NoticeContent& content);

// An RFC 5322 message for `sendmail -t` (recipients from its To: header).
[[nodiscard]] std::string notice_email(const NoticeContent& content,
                                       const std::vector<std::string>& recipients);

// POSTs the body; any 2xx is delivered. Verification is core/http's: always on.
[[nodiscard]] Status post_webhook(HttpClient& client, const std::string& url,
                                  const nlohmann::json& body, std::stop_token stop);
// Runs argv with the environment; exit 0 is delivered.
[[nodiscard]] Status run_alert_command(const std::vector<std::string>& argv,
                                       const std::vector<std::string>& environment,
                                       std::stop_token stop);
// `sendmail -t -oi` with the message on its standard input; exit 0 is delivered.
[[nodiscard]] Status send_email(const std::string& sendmail, const std::string& message,
                                std::stop_token stop);

}  // namespace ck::daemon

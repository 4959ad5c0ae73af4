#pragma once
// The service's log, through spdlog: under systemd (JOURNAL_STREAM set) to
// the journal, each entry with structured fields; otherwise to stderr.
//
// Fields describe the work a line is about, set for a scope on the thread
// doing it (LogFields), so that `journalctl -u certkeeper CERTIFICATE=www`
// or `ERROR_CODE=network` finds every line of it:
//   CERTIFICATE, JOB (renew, check_ari, deploy), ORDER_URL, ERROR_CODE (the
//   Errc), ACME_PROBLEM (the CA's problem type), ALERT_KEY, ALERT_SEVERITY.
// Private keys and EAB secrets are never logged: nothing logs them.

#include <spdlog/common.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ck::daemon {

using LogField = std::pair<std::string, std::string>;

// Adds fields to this thread's log lines until the end of the scope. An
// empty value is left out.
class LogFields {
 public:
  LogFields(std::initializer_list<LogField> fields);
  ~LogFields();
  LogFields(const LogFields&) = delete;
  LogFields& operator=(const LogFields&) = delete;

 private:
  std::size_t added_ = 0;
};

// The fields in force on this thread, outermost first.
[[nodiscard]] std::vector<LogField> current_log_fields();

// One journal entry: MESSAGE, PRIORITY (syslog's, from the level),
// SYSLOG_IDENTIFIER and the fields, as "NAME=value" (journal field names:
// upper case letters, digits and underscores). Pure.
[[nodiscard]] std::vector<std::string> journal_entry(std::string_view message,
                                                     spdlog::level::level_enum level,
                                                     const std::vector<LogField>& fields);

// Makes the default logger: the journal under systemd, else stderr; at `level`.
void setup_logging(const std::string& level);

}  // namespace ck::daemon

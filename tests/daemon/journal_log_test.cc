// The service's structured log fields, pure: the journal entry a line becomes.

#include "daemon/service/journal_log.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace ck::daemon;

namespace {

bool has(const std::vector<std::string>& entry, const std::string& field) {
  return std::ranges::find(entry, field) != entry.end();
}

}  // namespace

TEST_CASE("journal: a line carries its priority, identifier and the fields of its scopes") {
  std::vector<std::string> entry;
  {
    const LogFields job{{"CERTIFICATE", "www"}, {"JOB", "renew"}, {"ORDER_URL", ""}};
    {
      const LogFields failed{{"ERROR_CODE", "network"}, {"JOB", "deploy"}};
      entry = journal_entry("renewal failed", spdlog::level::err, current_log_fields());
    }
    CHECK(current_log_fields().size() == 2);  // the inner scope's fields are gone
  }
  CHECK(current_log_fields().empty());
  CHECK(has(entry, "MESSAGE=renewal failed"));
  CHECK(has(entry, "PRIORITY=3"));  // LOG_ERR
  CHECK(has(entry, "SYSLOG_IDENTIFIER=certkeeper"));
  CHECK(has(entry, "CERTIFICATE=www"));
  CHECK(has(entry, "ERROR_CODE=network"));
  CHECK(has(entry, "JOB=deploy"));  // the innermost value
  CHECK_FALSE(has(entry, "JOB=renew"));
  CHECK(
      std::ranges::none_of(entry, [](const std::string& f) { return f.starts_with("ORDER_URL"); }));
}

TEST_CASE("journal: a field name the journal would refuse is left out, never sent") {
  const auto entry = journal_entry("x", spdlog::level::info,
                                   {{"lower", "a"}, {"_TRUSTED", "b"}, {"OK_1", "c"}, {"", "d"}});
  CHECK(entry.size() == 4);
  CHECK(has(entry, "OK_1=c"));
  CHECK(has(entry, "PRIORITY=6"));
}

#include "daemon/service/journal_log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace ck::daemon {
namespace {

thread_local std::vector<LogField> tls_fields;

int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical: return LOG_CRIT;
    case spdlog::level::err: return LOG_ERR;
    case spdlog::level::warn: return LOG_WARNING;
    case spdlog::level::info: return LOG_INFO;
    default: return LOG_DEBUG;
  }
}

bool valid_field_name(std::string_view name) {
  return !name.empty() && name.front() != '_' && name.size() <= 64 &&
         std::ranges::all_of(name, [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
         });
}

// Each line as one journal entry with its fields (sd_journal_sendv: values
// may hold any bytes, newlines included).
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto entry = journal_entry(std::string_view(msg.payload.data(), msg.payload.size()),
                                     msg.level, current_log_fields());
    std::vector<iovec> parts;
    parts.reserve(entry.size());
    for (const auto& field : entry) {
      parts.push_back({const_cast<char*>(field.data()), field.size()});
    }
    sd_journal_sendv(parts.data(), static_cast<int>(parts.size()));
  }
  void flush_() override {}
};

}  // namespace

LogFields::LogFields(std::initializer_list<LogField> fields) {
  for (const auto& field : fields) {
    if (!field.second.empty()) {
      tls_fields.push_back(field);
      ++added_;
    }
  }
}

LogFields::~LogFields() {
  tls_fields.resize(tls_fields.size() - added_);
}

std::vector<LogField> current_log_fields() {
  return tls_fields;
}

std::vector<std::string> journal_entry(std::string_view message, spdlog::level::level_enum level,
                                       const std::vector<LogField>& fields) {
  std::vector<std::string> out{"MESSAGE=" + std::string(message),
                               "PRIORITY=" + std::to_string(syslog_priority(level)),
                               "SYSLOG_IDENTIFIER=certkeeper"};
  for (const auto& [name, value] : fields) {
    if (valid_field_name(name)) {
      // The innermost scope's value wins: an earlier one of the name is replaced.
      const std::string prefix = name + "=";
      std::erase_if(out, [&](const std::string& f) { return f.starts_with(prefix); });
      out.push_back(prefix + value);
    }
  }
  return out;
}

void setup_logging(const std::string& level) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    sink = std::make_shared<JournalSink>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto logger = std::make_shared<spdlog::logger>("certkeeper", sink);
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace ck::daemon

#include "daemon/service/alert_sinks.h"

#include <chrono>

#include "core/clock.h"
#include "core/subprocess.h"

namespace ck::daemon {
namespace {

constexpr auto kProgramTimeout = std::chrono::seconds(30);

std::string time_or_empty(const std::optional<std::int64_t>& at) {
  return at ? format_rfc3339(*at) : "";
}

// A header value on one line: a message with a newline cannot add headers.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += (c == '\r' || c == '\n') ? ' ' : c;
  }
  return out;
}

Status program_delivered(const Result<ProgramRun>& run, const std::string& what) {
  if (!run) {
    return std::unexpected(run.error());
  }
  if (run->exit_code != 0) {
    return fail(Errc::io,
                what + " failed (exit " + std::to_string(run->exit_code) + ")" +
                    (run->output.empty() ? "" : ": " + one_line(run->output.substr(0, 300))));
  }
  return {};
}

}  // namespace

nlohmann::json notice_json(const NoticeContent& c) {
  const store::AlertRecord& a = c.alert;
  return {{"version", 1},
          {"notice", c.notice},
          {"host", c.host},
          {"alert",
           {{"id", a.id},
            {"key", a.dedup_key},
            {"kind", a.kind},
            {"severity", a.severity},
            {"certificate", a.certificate_name},
            {"message", a.message},
            {"first_fired_at", format_rfc3339(a.first_fired_at)},
            {"resolved_at", a.resolved_at ? nlohmann::json(format_rfc3339(*a.resolved_at))
                                          : nlohmann::json(nullptr)}}}};
}

std::vector<std::string> notice_environment(const NoticeContent& c) {
  const store::AlertRecord& a = c.alert;
  return {"CERTKEEPER_ALERT_NOTICE=" + std::string(c.notice),
          "CERTKEEPER_ALERT_ID=" + std::to_string(a.id),
          "CERTKEEPER_ALERT_KEY=" + a.dedup_key,
          "CERTKEEPER_ALERT_KIND=" + a.kind,
          "CERTKEEPER_ALERT_SEVERITY=" + a.severity,
          "CERTKEEPER_ALERT_CERTIFICATE=" + a.certificate_name,
          "CERTKEEPER_ALERT_MESSAGE=" + a.message,
          "CERTKEEPER_ALERT_FIRED_AT=" + format_rfc3339(a.first_fired_at),
          "CERTKEEPER_ALERT_RESOLVED_AT=" + time_or_empty(a.resolved_at),
          "CERTKEEPER_ALERT_HOST=" + c.host,
          "CERTKEEPER_ALERT_JSON=" + notice_json(c).dump()};
}

std::string notice_email(const NoticeContent& c, const std::vector<std::string>& recipients) {
  const store::AlertRecord& a = c.alert;
  std::string to;
  for (const auto& r : recipients) {
    to += (to.empty() ? "" : ", ") + one_line(r);
  }
  const bool resolved = c.notice == "resolved";
  std::string body = (resolved ? "Resolved: " : "") + a.message + "\n\n" +
                     "certificate: " + a.certificate_name + "\nkind:        " + a.kind +
                     "\nseverity:    " + a.severity +
                     "\nfired at:    " + format_rfc3339(a.first_fired_at) + "\n" +
                     (resolved ? "resolved at: " + time_or_empty(a.resolved_at) + "\n" : "") +
                     "host:        " + c.host + "\nalert key:   " + a.dedup_key +
                     "\n\n`certkeeper alerts` shows the history.\n";
  return "To: " + to + "\nSubject: " +
         one_line("[certkeeper] " + std::string(resolved ? "resolved" : a.severity) + ": " +
                  a.certificate_name + ": " + a.kind) +
         "\nContent-Type: text/plain; charset=utf-8\nAuto-Submitted: auto-generated\n"
         "X-Certkeeper-Alert: " +
         one_line(a.dedup_key) + "\n\n" + body;
}

Status post_webhook(HttpClient& client, const std::string& url, const nlohmann::json& body,
                    std::stop_token stop) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = body.dump();
  CK_TRY(response, client.perform(request, std::move(stop)));
  if (response.status < 200 || response.status > 299) {
    return fail(Errc::protocol,
                "the webhook answered HTTP " + std::to_string(response.status) +
                    (response.body.empty() ? "" : ": " + one_line(response.body.substr(0, 200))),
                url, true);
  }
  return {};
}

Status run_alert_command(const std::vector<std::string>& argv,
                         const std::vector<std::string>& environment, std::stop_token stop) {
  return program_delivered(run_program(argv, environment, kProgramTimeout, std::move(stop)),
                           "the alert command " + argv.front());
}

Status send_email(const std::string& sendmail, const std::string& message, std::stop_token stop) {
  return program_delivered(
      run_program({sendmail, "-t", "-oi"}, {}, kProgramTimeout, std::move(stop), message),
      sendmail);
}

}  // namespace ck::daemon

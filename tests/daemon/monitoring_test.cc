// The metrics exposition, the status page and the listener's request parsing:
// pure renderings of the service's state, checked without a service.

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "daemon/service/http_listener.h"
#include "daemon/service/metrics.h"
#include "daemon/service/status_page.h"
#include "daemon/service/status_view.h"
#include "store/inventory.h"

using namespace ck;
using namespace ck::daemon;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kDay = 86400;

LiveCertificate issued(std::int64_t lifetime_days, std::int64_t age_days) {
  LiveCertificate c;
  c.known = true;
  c.not_before = kNow - age_days * kDay;
  c.not_after = *c.not_before + lifetime_days * kDay;
  c.sha256 = std::string(64, 'a');
  c.subject = "CN=www.example.com";
  c.issuer_cn = "Test CA";
  c.state.renewal.at = *c.not_before + lifetime_days * kDay * 2 / 3;
  return c;
}

// The samples of one metric: the label part ({...}) to the value.
std::map<std::string, std::string> samples(const std::string& text, const std::string& metric) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(metric + "{") || line.starts_with(metric + " ")) {
      const std::size_t space = line.rfind(' ');
      out[line.substr(metric.size(), space - metric.size())] = line.substr(space + 1);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("metrics: epoch gauges and the lifetime fraction, per certificate") {
  std::map<std::string, LiveCertificate> live{{"short", issued(6, 3)}, {"long", issued(90, 9)}};
  live["long"].ari_window = {kNow + 40 * kDay, kNow + 42 * kDay};
  JobMetrics jobs;
  const std::string text =
      render_metrics(live, jobs, {"1.2.3", kNow - 60, kNow - 60, true, 0}, kNow);

  CHECK(samples(text, "certkeeper_certificate_not_after_timestamp_seconds")
            .at("{certificate=\"short\"}") == std::to_string(*live["short"].not_after));
  CHECK(std::stod(samples(text, "certkeeper_certificate_lifetime_remaining_ratio")
                      .at("{certificate=\"short\"}")) == doctest::Approx(0.5));
  CHECK(std::stod(samples(text, "certkeeper_certificate_lifetime_remaining_ratio")
                      .at("{certificate=\"long\"}")) == doctest::Approx(0.9));
  const auto ari = samples(text, "certkeeper_certificate_ari_window_start_timestamp_seconds");
  CHECK(ari.size() == 1);
  CHECK(ari.at("{certificate=\"long\"}") == std::to_string(kNow + 40 * kDay));
  CHECK(samples(text, "certkeeper_build_info").contains("{version=\"1.2.3\"}"));
  CHECK(samples(text, "certkeeper_certificates").at("") == "2");
}

TEST_CASE("metrics: each family once, contiguous, with HELP and TYPE, samples or none") {
  std::map<std::string, LiveCertificate> live{{"a", issued(90, 1)}, {"b", issued(90, 2)}};
  const std::string text = render_metrics(live, {}, {"v", kNow, kNow, true, 0}, kNow);
  std::set<std::string> closed;
  std::string current;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    if (line.starts_with("# TYPE ")) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      CHECK_FALSE(closed.contains(name));
      closed.insert(current);
      current = name;
      continue;
    }
    if (line.starts_with("#")) {
      continue;
    }
    const std::string name = line.substr(0, line.find_first_of("{ "));
    CHECK(name.starts_with(current));  // _bucket, _sum, _count of a histogram too
  }
  // With no certificate at all, the families are still there (dashboards and
  // rules see names, not absences).
  const std::string empty = render_metrics({}, {}, {"v", kNow, kNow, true, 0}, kNow);
  CHECK(empty.find("# TYPE certkeeper_certificate_not_after_timestamp_seconds gauge") !=
        std::string::npos);
}

TEST_CASE("metrics: label values from certificates are escaped") {
  LiveCertificate c = issued(90, 1);
  c.issuer_cn = "Evil \"CA\"\\\nX";
  const std::string text = render_metrics({{"n\"x", c}}, {}, {"v", kNow, kNow, true, 0}, kNow);
  CHECK(text.find(R"(certificate="n\"x")") != std::string::npos);
  CHECK(text.find(R"(issuer="Evil \"CA\"\\\nX")") != std::string::npos);
}

TEST_CASE("metrics: job counters and cumulative duration buckets") {
  JobMetrics jobs;
  jobs.record(JobKind::renew, true, std::chrono::milliseconds(30));
  jobs.record(JobKind::renew, false, std::chrono::seconds(3));
  jobs.record(JobKind::renew, true, std::chrono::seconds(1000));  // beyond every bucket
  const std::string text = render_metrics({}, jobs, {"v", kNow, kNow, true, 2}, kNow);
  const auto total = samples(text, "certkeeper_jobs_total");
  CHECK(total.at("{kind=\"renew\",result=\"ok\"}") == "2");
  CHECK(total.at("{kind=\"renew\",result=\"failed\"}") == "1");
  CHECK(total.at("{kind=\"probe\",result=\"ok\"}") == "0");
  const auto buckets = samples(text, "certkeeper_job_duration_seconds_bucket");
  CHECK(buckets.at("{kind=\"renew\",le=\"0.01\"}") == "0");
  CHECK(buckets.at("{kind=\"renew\",le=\"0.05\"}") == "1");
  CHECK(buckets.at("{kind=\"renew\",le=\"5\"}") == "2");
  CHECK(buckets.at("{kind=\"renew\",le=\"300\"}") == "2");
  CHECK(buckets.at("{kind=\"renew\",le=\"+Inf\"}") == "3");
  CHECK(samples(text, "certkeeper_job_duration_seconds_count").at("{kind=\"renew\"}") == "3");
  CHECK(samples(text, "certkeeper_jobs_pending").at("") == "2");
}

TEST_CASE("status page: the worst state holds") {
  LiveCertificate c = issued(90, 10);
  CHECK(certificate_state(c, kNow) == "ok");
  c.probes.push_back({"www.example.com:443", "", false, "bb", "serves another certificate"});
  CHECK(certificate_state(c, kNow) == "drifted");
  CHECK(last_error(c) == "www.example.com:443: serves another certificate");
  c.failures = {2, kNow, "urn:ietf:params:acme:error:rateLimited: too many"};
  CHECK(certificate_state(c, kNow) == "failing");
  CHECK(last_error(c) == "urn:ietf:params:acme:error:rateLimited: too many");
  c.running = JobKind::renew;
  CHECK(certificate_state(c, kNow) == "failing");  // retrying
  c.failures = {};
  CHECK(certificate_state(c, kNow) == "renewing");
  c.revoked = true;
  CHECK(certificate_state(c, kNow) == "revoked");
  CHECK(certificate_state(LiveCertificate{}, kNow) == "pending");
  CHECK(certificate_state(issued(6, 7), kNow) == "expired");
}

TEST_CASE("status: rows for the most urgent, in configuration order; the summary counts all") {
  ManualClock clock(kNow);
  auto inventory = store::open_memory_inventory(clock).value();
  Config config;
  std::map<std::string, LiveCertificate> live;
  // Five fine ones renewing at different times, then one of each problem.
  for (int i = 0; i < 5; ++i) {
    config.certificates.push_back({.name = "ok" + std::to_string(i)});
    live["ok" + std::to_string(i)] = issued(90, 10 + i);  // ok4 renews soonest
  }
  for (const char* name : {"failing", "expired", "never"}) {
    config.certificates.push_back({.name = name});
  }
  live["failing"] = issued(90, 10);
  live["failing"].failures = {1, kNow, "urn:ietf:params:acme:error:serverInternal"};
  live["expired"] = issued(6, 7);
  live["never"] = LiveCertificate{};  // pending: not issued yet
  const auto names = [](const nlohmann::json& status) {
    std::vector<std::string> out;
    for (const auto& row : status["certificates"]) {
      out.push_back(row["name"].get<std::string>());
    }
    return out;
  };

  const auto some = certificates_status(config, *inventory, kNow, &live, 4).value();
  CHECK(names(some) == std::vector<std::string>{"ok4", "failing", "expired", "never"});
  CHECK(some["summary"]["certificates"] == 8);
  CHECK(some["summary"]["shown"] == 4);
  CHECK(some["summary"]["states"] ==
        nlohmann::json{{"ok", 5}, {"failing", 1}, {"expired", 1}, {"pending", 1}});
  CHECK(status_summary(some["summary"]).find("4 not shown") != std::string::npos);

  const auto all = certificates_status(config, *inventory, kNow, &live, 0).value();
  CHECK(names(all).size() == 8);
  CHECK(names(all).front() == "ok0");
  CHECK(all["summary"]["shown"] == 8);
  CHECK(status_summary(all["summary"]) ==
        "8 certificates: 1 expired, 1 failing, 5 ok, 1 pending\n");

  CHECK(is_problem_state("failing"));
  CHECK(is_problem_state("revoked"));
  CHECK_FALSE(is_problem_state("renewing"));
  CHECK_FALSE(is_problem_state("drifted"));
}

TEST_CASE("status page: every certificate is a row; hostile names and texts are text") {
  std::map<std::string, LiveCertificate> live{{"www", issued(90, 10)}};
  LiveCertificate hostile = issued(90, 1);
  hostile.subject = "CN=\\<img src=x onerror=alert(1)\\>,O=Evil\\, Inc";
  hostile.failures = {1, kNow, "<script>alert('ca')</script> & more"};
  live["evil\"<b>"] = hostile;
  StatusPageInput in{kNow, "1.2.3", kNow - 3600, &live, {}, {}};
  in.events.push_back({1, kNow, "issued", "www", "<i>issued</i>", ""});
  in.alerts.push_back({1, "expiry:www:7d", "www", "expiry", "warning", "<u>soon</u>", kNow, kNow,
                       std::nullopt, ""});
  const std::string page = render_status_page(in);
  CHECK(page.find("<tr class=ok><th>www<") != std::string::npos);
  CHECK(page.find("<tr class=failing><th>evil&quot;&lt;b&gt;") != std::string::npos);
  CHECK(page.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
  CHECK(page.find("&lt;script&gt;alert(&#39;ca&#39;)&lt;/script&gt; &amp; more") !=
        std::string::npos);
  CHECK(page.find("&lt;i&gt;issued&lt;/i&gt;") != std::string::npos);
  CHECK(page.find("&lt;u&gt;soon&lt;/u&gt;") != std::string::npos);
  for (const char* raw : {"<script", "<img", "evil\"<b>", "<i>issued", "<u>"}) {
    CAPTURE(raw);
    CHECK(page.find(raw) == std::string::npos);
  }
  CHECK(page.find("http") == std::string::npos);  // nothing fetched from anywhere
}

TEST_CASE("http: a request line and headers make a request; anything else an error status") {
  CHECK_FALSE(*parse_http_request("GET /metrics HTTP/1.1\r\nHost: x\r\n"));  // not all yet
  auto ok = parse_http_request("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(ok);
  REQUIRE(*ok);
  CHECK((*ok)->method == "GET");
  CHECK((*ok)->path == "/metrics");
  struct Case {
    const char* head;
    int status;
  };
  for (const Case& c : {Case{"POST / HTTP/1.1\r\n\r\n", 405}, Case{"GET / SPDY/3\r\n\r\n", 505},
                        Case{"GET http://x/ HTTP/1.1\r\n\r\n", 400}, Case{"GARBAGE\r\n\r\n", 400},
                        Case{"GET / HTTP/1.1 extra\r\n\r\n", 400}}) {
    CAPTURE(c.head);
    auto parsed = parse_http_request(c.head);
    REQUIRE_FALSE(parsed);
    CHECK(http_error_response(parsed.error()).status == c.status);
  }
  auto huge = parse_http_request("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a'));
  REQUIRE_FALSE(huge);
  CHECK(http_error_response(huge.error()).status == 431);
  const std::string head = format_http_head({200, "text/plain", "body", {{"X-A", "b"}}});
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head.find("Content-Length: 4\r\n") != std::string::npos);
  CHECK(head.find("X-A: b\r\n") != std::string::npos);
  CHECK(head.ends_with("\r\n\r\n"));
}

namespace {

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(CERTKEEPER_SOURCE_DIR) + "/" + relative);
  REQUIRE_MESSAGE(in.good(), relative);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every certkeeper_* name in `text`, a histogram's series by their family's name.
std::set<std::string> metric_names(const std::string& text) {
  static const std::regex kName("certkeeper_[a-z_]+");
  static const std::regex kSeriesSuffix("_(bucket|sum|count)$");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kName);
       it != std::sregex_iterator(); ++it) {
    out.insert(std::regex_replace(it->str(), kSeriesSuffix, ""));
  }
  return out;
}

std::set<std::string> exported_families() {
  const std::string text = render_metrics({}, {}, {"v", kNow, kNow, true, 0}, kNow);
  std::set<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# TYPE ")) {
      out.insert(line.substr(7, line.find(' ', 7) - 7));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("monitoring: every metric the dashboard and the alert rules query is exported") {
  const std::set<std::string> exported = exported_families();
  const auto dashboard = nlohmann::json::parse(read_source("monitoring/grafana-dashboard.json"));
  std::string queries;
  for (const auto& panel : dashboard.at("panels")) {
    for (const auto& target : panel.at("targets")) {
      queries += target.at("expr").get<std::string>() + "\n";
    }
  }
  const std::set<std::string> in_dashboard = metric_names(queries);
  CHECK(in_dashboard.size() >= 10);
  for (const auto& name : in_dashboard) {
    CAPTURE(name);
    CHECK(exported.contains(name));
  }
  for (const auto& name : metric_names(read_source("monitoring/certkeeper.rules.yml"))) {
    CAPTURE(name);
    CHECK(exported.contains(name));
  }
}

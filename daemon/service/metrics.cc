#include "daemon/service/metrics.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace ck::daemon {
namespace {

using Buffer = fmt::memory_buffer;

constexpr std::array kJobKinds{JobKind::renew, JobKind::check_ari, JobKind::check_status,
                               JobKind::probe, JobKind::deploy,    JobKind::revoke};

// A label value as the exposition format quotes it: \, " and newline escaped.
void append_label_value(Buffer& out, std::string_view value) {
  if (value.find_first_of("\\\"\n") == std::string_view::npos) {
    out.append(value);  // the usual case, at once
    return;
  }
  for (char ch : value) {
    switch (ch) {
      case '\\': out.append(std::string_view("\\\\")); break;
      case '"': out.append(std::string_view("\\\"")); break;
      case '\n': out.append(std::string_view("\\n")); break;
      default: out.push_back(ch);
    }
  }
}

void family(Buffer& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void append_value(Buffer& out, std::int64_t value) {
  const fmt::format_int text(value);
  out.append(text.data(), text.data() + text.size());
}

void append_value(Buffer& out, double value) {
  fmt::format_to(std::back_inserter(out), FMT_COMPILE("{}"), value);
}

// One sample: name{certificate="...", extra...} value. Appended piece by
// piece: a scrape of 10,000 certificates is some 170,000 of them.
class CertificateSeries {
 public:
  // `certificate`: the label value, escaped already.
  CertificateSeries(Buffer& out, std::string_view metric, std::string_view certificate)
      : out_(out), metric_(metric), certificate_(certificate) {}

  template <typename Value>
  void emit(Value value,
            std::initializer_list<std::pair<std::string_view, std::string_view>> extra = {}) {
    out_.append(metric_);
    out_.append(std::string_view("{certificate=\""));
    out_.append(certificate_);
    for (const auto& [label, text] : extra) {
      out_.append(std::string_view("\","));
      out_.append(label);
      out_.append(std::string_view("=\""));
      append_label_value(out_, text);
    }
    out_.append(std::string_view("\"} "));
    if constexpr (std::is_floating_point_v<Value>) {
      append_value(out_, static_cast<double>(value));
    } else {
      append_value(out_, static_cast<std::int64_t>(value));
    }
    out_.push_back('\n');
  }

 private:
  Buffer& out_;
  std::string_view metric_;
  std::string_view certificate_;
};

struct CertificateFamily {
  std::string_view name;
  std::string_view help;
  std::function<void(CertificateSeries&, const LiveCertificate&, std::int64_t now)> samples;
};

const std::vector<StapleState> kNoStaples;  // a certificate not checked yet: none, not a copy

// The per-certificate families, in the order they are exposed.
const std::vector<CertificateFamily>& certificate_families() {
  static const std::vector<CertificateFamily> families{
      {"certkeeper_certificate_info",
       "The current version of a configured certificate: its fingerprint and issuer (value 1).",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (!c.sha256.empty()) {
           s.emit(1, {{"sha256", c.sha256}, {"issuer", c.issuer_cn}});
         }
       }},
      {"certkeeper_certificate_not_before_timestamp_seconds",
       "The current version's notBefore, Unix seconds.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (c.not_before) {
           s.emit(*c.not_before);
         }
       }},
      {"certkeeper_certificate_not_after_timestamp_seconds",
       "The current version's notAfter, Unix seconds.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (c.not_after) {
           s.emit(*c.not_after);
         }
       }},
      {"certkeeper_certificate_lifetime_remaining_ratio",
       "The fraction of the current version's lifetime that remains (1 at notBefore, 0 at "
       "notAfter).",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t now) {
         if (c.not_before && c.not_after && *c.not_after > *c.not_before) {
           const double left = static_cast<double>(*c.not_after - now) /
                               static_cast<double>(*c.not_after - *c.not_before);
           s.emit(std::clamp(left, 0.0, 1.0));
         }
       }},
      {"certkeeper_certificate_ari_window_start_timestamp_seconds",
       "Start of the CA's suggested renewal window (RFC 9773), Unix seconds.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (c.ari_window) {
           s.emit(c.ari_window->first);
         }
       }},
      {"certkeeper_certificate_ari_window_end_timestamp_seconds",
       "End of the CA's suggested renewal window (RFC 9773), Unix seconds.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (c.ari_window) {
           s.emit(c.ari_window->second);
         }
       }},
      {"certkeeper_certificate_next_renewal_timestamp_seconds",
       "When the service plans to renew (or since when the renewal is due), Unix seconds.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (c.known) {
           s.emit(c.state.renewal.at);
         }
       }},
      {"certkeeper_certificate_last_renewal_attempt_timestamp_seconds",
       "When the latest renewal attempt since the service started ended, Unix seconds.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (c.last_renewal_at > 0) {
           s.emit(c.last_renewal_at);
         }
       }},
      {"certkeeper_certificate_last_renewal_success",
       "Whether the latest renewal attempt succeeded (issued, or found nothing due): 1 or 0.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (c.last_renewal_at > 0) {
           s.emit(c.failures.count == 0 ? 1 : 0);
         }
       }},
      {"certkeeper_certificate_renewal_failures",
       "Renewal attempts failed in a row (0 after a success).",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         s.emit(c.failures.count);
       }},
      {"certkeeper_certificate_deploy_failed",
       "Whether the latest deploy of the certificate failed: 1 or 0.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         s.emit(c.deploy_error.empty() ? 0 : 1);
       }},
      {"certkeeper_certificate_revoked",
       "Whether the latest version is revoked (a CRL or OCSP answer said so): 1 or 0.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (c.known) {
           s.emit(c.revoked ? 1 : 0);
         }
       }},
      {"certkeeper_certificate_revocation_status",
       "The latest revocation check's answer (good, revoked, unknown, unavailable, "
       "not_applicable) and how it was had (value 1).",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         if (c.status && !c.status->sha256.empty()) {
           s.emit(1, {{"status", c.status->revocation}, {"method", c.status->method}});
         }
       }},
      {"certkeeper_certificate_staple_this_update_timestamp_seconds",
       "The thisUpdate of the OCSP staple on disk, Unix seconds.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         for (const auto& staple : c.status ? c.status->staples : kNoStaples) {
           if (staple.this_update > 0) {
             s.emit(staple.this_update, {{"path", staple.path}});
           }
         }
       }},
      {"certkeeper_certificate_staple_next_update_timestamp_seconds",
       "The nextUpdate of the OCSP staple on disk, Unix seconds.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         for (const auto& staple : c.status ? c.status->staples : kNoStaples) {
           if (staple.next_update > 0) {
             s.emit(staple.next_update, {{"path", staple.path}});
           }
         }
       }},
      {"certkeeper_certificate_probe_success",
       "Whether the latest probe of the endpoint completed a TLS handshake: 1 or 0.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         for (const auto& p : c.probes) {
           s.emit(p.error.empty() ? 1 : 0, {{"endpoint", p.endpoint}});
         }
       }},
      {"certkeeper_certificate_probe_fingerprint_match",
       "Whether the endpoint served the current version at the latest probe: 1 or 0.",
       [](CertificateSeries& s, const LiveCertificate& c, std::int64_t) {
         for (const auto& p : c.probes) {
           s.emit(p.error.empty() && p.matches ? 1 : 0, {{"endpoint", p.endpoint}});
         }
       }},
  };
  return families;
}

void render_jobs(Buffer& out, const JobMetrics& jobs) {
  auto inserter = std::back_inserter(out);
  family(out, "certkeeper_jobs_total", "counter",
         "Jobs run since the service started, by kind and result (ok or failed).");
  for (JobKind kind : kJobKinds) {
    auto it = jobs.kinds().find(kind);
    const JobMetrics::Kind k = it == jobs.kinds().end() ? JobMetrics::Kind{} : it->second;
    fmt::format_to(inserter, "certkeeper_jobs_total{{kind=\"{}\",result=\"ok\"}} {}\n",
                   to_string(kind), k.ok);
    fmt::format_to(inserter, "certkeeper_jobs_total{{kind=\"{}\",result=\"failed\"}} {}\n",
                   to_string(kind), k.failed);
  }
  family(out, "certkeeper_job_duration_seconds", "histogram",
         "How long the service's jobs ran, by kind.");
  for (JobKind kind : kJobKinds) {
    auto it = jobs.kinds().find(kind);
    const JobMetrics::Kind k = it == jobs.kinds().end() ? JobMetrics::Kind{} : it->second;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < JobMetrics::kBuckets.size(); ++i) {
      cumulative += k.in_bucket[i];
      fmt::format_to(inserter,
                     "certkeeper_job_duration_seconds_bucket{{kind=\"{}\",le=\"{}\"}} {}\n",
                     to_string(kind), JobMetrics::kBuckets[i], cumulative);
    }
    fmt::format_to(inserter,
                   "certkeeper_job_duration_seconds_bucket{{kind=\"{}\",le=\"+Inf\"}} {}\n"
                   "certkeeper_job_duration_seconds_sum{{kind=\"{}\"}} {}\n"
                   "certkeeper_job_duration_seconds_count{{kind=\"{}\"}} {}\n",
                   to_string(kind), k.ok + k.failed, to_string(kind), k.seconds, to_string(kind),
                   k.ok + k.failed);
  }
}

void render_daemon(Buffer& out, const DaemonFacts& d, std::size_t certificates) {
  auto inserter = std::back_inserter(out);
  family(out, "certkeeper_build_info", "gauge", "The running certkeeper's version (value 1).");
  out.append(std::string_view("certkeeper_build_info{version=\""));
  append_label_value(out, d.version);
  out.append(std::string_view("\"} 1\n"));
  family(out, "certkeeper_start_time_seconds", "gauge", "When the service started, Unix seconds.");
  fmt::format_to(inserter, "certkeeper_start_time_seconds {}\n", d.started_at);
  family(out, "certkeeper_config_last_reload_timestamp_seconds", "gauge",
         "When the configuration was last loaded or a reload attempted, Unix seconds.");
  fmt::format_to(inserter, "certkeeper_config_last_reload_timestamp_seconds {}\n",
                 d.config_loaded_at);
  family(out, "certkeeper_config_last_reload_success", "gauge",
         "Whether that load took (a refused reload keeps the old configuration): 1 or 0.");
  fmt::format_to(inserter, "certkeeper_config_last_reload_success {}\n", d.config_load_ok ? 1 : 0);
  family(out, "certkeeper_certificates", "gauge", "Configured certificates.");
  fmt::format_to(inserter, "certkeeper_certificates {}\n", certificates);
  family(out, "certkeeper_jobs_pending", "gauge", "Jobs queued or running.");
  fmt::format_to(inserter, "certkeeper_jobs_pending {}\n", d.jobs_pending);
}

}  // namespace

void JobMetrics::record(JobKind kind, bool ok, std::chrono::nanoseconds elapsed) {
  Kind& k = kinds_[kind];
  (ok ? k.ok : k.failed) += 1;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  k.seconds += seconds;
  const auto bucket = std::ranges::lower_bound(kBuckets, seconds);
  if (bucket != kBuckets.end()) {
    k.in_bucket[static_cast<std::size_t>(bucket - kBuckets.begin())] += 1;
  }
}

std::string render_metrics(const std::map<std::string, LiveCertificate>& live,
                           const JobMetrics& jobs, const DaemonFacts& daemon, std::int64_t now) {
  // Each certificate visited once, its samples appended to its families'
  // buffers, which are then joined (a family's samples must be contiguous).
  const auto& families = certificate_families();
  std::vector<Buffer> samples(families.size());
  for (Buffer& b : samples) {
    b.reserve(live.size() * 128);  // a sample is about 100 bytes
  }
  Buffer label;
  for (const auto& [name, certificate] : live) {
    label.clear();
    append_label_value(label, name);
    const std::string_view escaped(label.data(), label.size());
    for (std::size_t i = 0; i < families.size(); ++i) {
      CertificateSeries series(samples[i], families[i].name, escaped);
      families[i].samples(series, certificate, now);
    }
  }
  Buffer rest;  // HELP and TYPE lines, the jobs' and the daemon's own
  render_jobs(rest, jobs);
  render_daemon(rest, daemon, live.size());
  std::string out;
  std::size_t size = rest.size() + 512 * families.size();
  for (const Buffer& b : samples) {
    size += b.size();
  }
  out.reserve(size);  // joined with no copy beyond this one
  for (std::size_t i = 0; i < families.size(); ++i) {
    Buffer head;
    family(head, families[i].name, "gauge", families[i].help);
    out.append(head.data(), head.size());
    out.append(samples[i].data(), samples[i].size());
  }
  out.append(rest.data(), rest.size());
  return out;
}

}  // namespace ck::daemon

#include "daemon/service/status_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/clock.h"

namespace ck::daemon {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kAxisReach = 400 * kDay;  // the axis spans at most this either side of now

// The colours and marks; the one rule that depends on the page (where "now"
// is) comes after it.
constexpr std::string_view kStyle = R"css(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1b1b;background:#fff}
h1{font-size:1.4em;margin:0}h2{font-size:1.1em;margin:1.5em 0 .4em}
p.meta{color:#555;margin:.2em 0 1em}
table{border-collapse:collapse;width:100%}
th,td{padding:2px 6px;text-align:left;border-bottom:1px solid #eee;vertical-align:middle}
thead th{border-bottom:2px solid #ccc;font-weight:600}
tbody th{font-weight:500;white-space:nowrap}
small{color:#666;margin-left:.5em;font-weight:400}
th.t,#certificates td:nth-child(3){position:relative;width:45%;min-width:280px;padding:0}
#certificates td:nth-child(3){height:16px}th.t{height:1.6em}
#certificates i{position:absolute;top:4px;height:8px;background:var(--c)}
#certificates i.a{top:1px;height:14px;background:rgba(0,0,0,.22)}
#certificates i.n{top:0;height:16px;width:2px;background:#111}
th.t span{position:absolute;top:.3em;font-size:11px;font-weight:400;color:#666;white-space:nowrap}
#certificates td:nth-child(3)::after{content:"";position:absolute;top:0;bottom:0;border-left:2px solid #d00}
td{white-space:nowrap}
#alerts td:last-child,#events td:last-child{white-space:normal;overflow-wrap:anywhere}
#certificates td:nth-child(6){color:#7a1c1c;max-width:30em;overflow-wrap:anywhere;white-space:normal}
.ok{--c:#2e7d32}.renewing{--c:#1565c0}.failing{--c:#e65100}.revoked{--c:#4a148c}
.drifted{--c:#f9a825}.expired{--c:#b71c1c}.pending{--c:#9e9e9e}
#certificates td:nth-child(2){color:var(--c);font-weight:600}
ul.legend{list-style:none;padding:0;margin:0 0 1em;display:flex;flex-wrap:wrap;gap:1em;color:#444}
ul.legend b{display:inline-block;width:.9em;height:.9em;margin-right:.3em;background:var(--c)}
)css";

void append_escaped(fmt::memory_buffer& out, std::string_view text) {
  if (text.find_first_of("&<>\"'") == std::string_view::npos) {
    out.append(text);  // the usual case, at once
    return;
  }
  for (char ch : text) {
    switch (ch) {
      case '&': out.append(std::string_view("&amp;")); break;
      case '<': out.append(std::string_view("&lt;")); break;
      case '>': out.append(std::string_view("&gt;")); break;
      case '"': out.append(std::string_view("&quot;")); break;
      case '\'': out.append(std::string_view("&#39;")); break;
      default: out.push_back(ch);
    }
  }
}

// The CN of an RFC 2253 subject, its escapes undone (\, and \3C alike:
// the page escapes it again for HTML); "" without one.
std::string common_name(std::string_view subject) {
  for (std::size_t at = 0; at < subject.size();) {
    std::size_t end = at;
    while (end < subject.size() && subject[end] != ',') {
      end += subject[end] == '\\' ? 2 : 1;
    }
    end = std::min(end, subject.size());
    if (std::string_view part = subject.substr(at, end - at); part.starts_with("CN=")) {
      std::string out;
      for (std::size_t i = 3; i < part.size(); ++i) {
        if (part[i] == '\\' && i + 2 < part.size() &&
            std::isxdigit(static_cast<unsigned char>(part[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(part[i + 2]))) {
          out.push_back(
              static_cast<char>(std::stoi(std::string(part.substr(i + 1, 2)), nullptr, 16)));
          i += 2;
        } else if (part[i] == '\\' && i + 1 < part.size()) {
          out.push_back(part[++i]);
        } else {
          out.push_back(part[i]);
        }
      }
      return out;
    }
    at = end + 1;
  }
  return {};
}

std::string day_of(std::int64_t t) {
  return t > 0 ? format_rfc3339(t).substr(0, 10) : "";
}

struct Axis {
  std::int64_t from = 0;
  std::int64_t to = 0;
  // Where `t` falls, in percent of the width, clipped to the axis.
  [[nodiscard]] double at(std::int64_t t) const {
    const double x = static_cast<double>(t - from) / static_cast<double>(to - from) * 100.0;
    return std::clamp(x, 0.0, 100.0);
  }
};

Axis axis_of(const std::map<std::string, LiveCertificate>& certificates, std::int64_t now) {
  Axis a{now - kDay, now + kDay};
  for (const auto& [name, c] : certificates) {
    if (c.not_before && c.not_after) {
      a.from = std::min(a.from, *c.not_before);
      a.to = std::max(a.to, *c.not_after);
    }
  }
  a.from = std::max(a.from, now - kAxisReach);
  a.to = std::min(a.to, now + kAxisReach);
  return a;
}

void render_certificate(fmt::memory_buffer& out, const std::string& name, const LiveCertificate& c,
                        const Axis& axis, std::int64_t now) {
  auto to = std::back_inserter(out);
  const std::string_view state = certificate_state(c, now);
  fmt::format_to(to, "<tr class={}><th>", state);
  append_escaped(out, name);
  if (const std::string cn = common_name(c.subject); !cn.empty() && cn != name) {
    out.append(std::string_view("<small>"));
    append_escaped(out, cn);
    out.append(std::string_view("</small>"));
  }
  fmt::format_to(to, "<td>{}<td>", state);
  if (c.not_before && c.not_after) {
    const double left = axis.at(*c.not_before);
    fmt::format_to(to, "<i style=left:{:.1f}%;width:{:.1f}%></i>", left,
                   axis.at(*c.not_after) - left);
  }
  if (c.ari_window) {
    const double left = axis.at(c.ari_window->first);
    fmt::format_to(to, "<i class=a style=left:{:.1f}%;width:{:.1f}%></i>", left,
                   std::max(axis.at(c.ari_window->second) - left, 0.3));
  }
  if (c.known && c.state.renewal.at > 0) {
    fmt::format_to(to, "<i class=n style=left:{:.1f}%></i>", axis.at(c.state.renewal.at));
  }
  fmt::format_to(to, "<td>{}<td>{}<td>", c.not_after ? day_of(*c.not_after) : "",
                 c.known ? day_of(c.state.renewal.at) : "");
  append_escaped(out, last_error(c));
  out.append(std::string_view("\n"));
}

void render_axis(fmt::memory_buffer& out, const Axis& axis) {
  auto to = std::back_inserter(out);
  out.append(std::string_view("<thead><tr><th>Certificate<th>State<th class=t>"));
  constexpr int kTicks = 4;  // at 0, 25, 50 and 75%: a date each, side by side
  for (int i = 0; i < kTicks; ++i) {
    const std::int64_t t = axis.from + (axis.to - axis.from) * i / kTicks;
    fmt::format_to(to, "<span style=left:{:.1f}%>{}</span>", axis.at(t), day_of(t));
  }
  out.append(std::string_view("<th>Expires<th>Renews<th>Last error</thead>\n"));
}

void render_alerts(fmt::memory_buffer& out, const std::vector<store::AlertRecord>& alerts) {
  auto to = std::back_inserter(out);
  out.append(std::string_view("<h2>Recent alerts</h2>\n"));
  if (alerts.empty()) {
    out.append(std::string_view("<p>None.</p>\n"));
    return;
  }
  out.append(std::string_view(
      "<table id=alerts><thead><tr><th>Fired<th>Certificate<th>Severity<th>State<th>Message"
      "</thead><tbody>\n"));
  for (const auto& a : alerts) {
    fmt::format_to(to, "<tr><td>{}<td>", format_rfc3339(a.last_fired_at));
    append_escaped(out, a.certificate_name);
    out.append(std::string_view("<td>"));
    append_escaped(out, a.severity);
    out.append(std::string_view(a.resolved_at ? "<td>resolved<td>" : "<td>open<td>"));
    append_escaped(out, a.message);
    out.append(std::string_view("\n"));
  }
  out.append(std::string_view("</tbody></table>\n"));
}

void render_events(fmt::memory_buffer& out, const std::vector<store::EventRecord>& events) {
  auto to = std::back_inserter(out);
  out.append(std::string_view("<h2>Recent events</h2>\n"));
  if (events.empty()) {
    out.append(std::string_view("<p>None.</p>\n"));
    return;
  }
  out.append(std::string_view(
      "<table id=events><thead><tr><th>At<th>Certificate<th>Event<th>Message</thead><tbody>\n"));
  for (const auto& e : events) {
    fmt::format_to(to, "<tr><td>{}<td>", format_rfc3339(e.at));
    append_escaped(out, e.certificate_name);
    out.append(std::string_view("<td>"));
    append_escaped(out, e.kind);
    out.append(std::string_view("<td>"));
    append_escaped(out, e.message);
    out.append(std::string_view("\n"));
  }
  out.append(std::string_view("</tbody></table>\n"));
}

}  // namespace

std::string html_escape(std::string_view text) {
  fmt::memory_buffer out;
  append_escaped(out, text);
  return fmt::to_string(out);
}

std::string render_status_page(const StatusPageInput& in) {
  static const std::map<std::string, LiveCertificate> kNone;
  const auto& certificates = in.certificates ? *in.certificates : kNone;
  const Axis axis = axis_of(certificates, in.now);
  fmt::memory_buffer out;
  auto to = std::back_inserter(out);
  out.append(
      std::string_view("<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
                       "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
                       "<title>certkeeper status</title><style>"));
  out.append(kStyle);
  fmt::format_to(to, "#certificates td:nth-child(3)::after{{left:{:.1f}%}}</style></head><body>\n",
                 axis.at(in.now));
  out.append(std::string_view("<h1>certkeeper</h1><p class=meta>"));
  append_escaped(out, in.version);
  fmt::format_to(to,
                 " &middot; started {} &middot; {} certificates &middot; as of <time>{}</time>"
                 "</p>\n",
                 format_rfc3339(in.started_at), certificates.size(), format_rfc3339(in.now));
  out.append(std::string_view("<ul class=legend>"));
  for (std::string_view state :
       {"ok", "renewing", "failing", "drifted", "revoked", "expired", "pending"}) {
    fmt::format_to(to, "<li class={0}><b></b>{0}</li>", state);
  }
  out.append(std::string_view("</ul>\n<h2>Certificates</h2>\n<table id=certificates>"));
  render_axis(out, axis);
  out.append(std::string_view("<tbody>\n"));
  for (const auto& [name, c] : certificates) {
    render_certificate(out, name, c, axis, in.now);
  }
  out.append(std::string_view("</tbody></table>\n"));
  render_alerts(out, in.alerts);
  render_events(out, in.events);
  out.append(std::string_view("</body></html>\n"));
  return fmt::to_string(out);
}

}  // namespace ck::daemon

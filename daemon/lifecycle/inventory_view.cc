#include "daemon/lifecycle/inventory_view.h"

#include <fmt/core.h>

#include <cctype>

#include "core/clock.h"

namespace ck::daemon {
namespace {

bool looks_like_fingerprint(std::string& query) {
  std::string hex;
  for (char c : query) {
    if (c == ':') {
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() < 8 || hex.size() > 64) {
    return false;
  }
  query = hex;
  return true;
}

constexpr std::int64_t kDay = 86400;

std::string clip(const std::string& text, std::size_t width) {
  if (text.size() <= width) {
    return text;
  }
  return text.substr(0, width - 1) + "~";
}

std::string joined_names(const store::CertificateRecord& r) {
  std::string out;
  for (const auto& san : r.sans) {
    std::string_view name = san;
    if (name.starts_with("DNS:") || name.starts_with("IP:")) {
      name.remove_prefix(name.find(':') + 1);
    }
    out += (out.empty() ? "" : ",") + std::string(name);
  }
  return out.empty() ? "-" : out;
}

}  // namespace

store::CertificateRecord record_from(const CertificateInfo& info, std::string der,
                                     std::string source) {
  store::CertificateRecord r;
  r.sha256 = info.sha256;
  r.serial = info.serial;
  r.subject = info.subject;
  r.issuer = info.issuer;
  r.issuer_cn = info.issuer_cn;
  r.sans = info.subject_alt_names();
  r.subject_key_id = info.subject_key_id;
  r.authority_key_id = info.authority_key_id;
  r.not_before = info.not_before;
  r.not_after = info.not_after;
  r.key_type = info.key_type;
  r.public_key_sha256 = info.public_key_sha256;
  r.is_ca = info.is_ca;
  r.source = std::move(source);
  r.status = store::CertificateStatus::active;
  r.der = std::move(der);
  return r;
}

std::int64_t days_left(std::int64_t not_after, std::int64_t now) {
  std::int64_t seconds = not_after - now;
  return seconds >= 0 ? seconds / kDay : -((-seconds + kDay - 1) / kDay);
}

Result<std::optional<store::CertificateRecord>> current_version(store::Inventory& inventory,
                                                                const std::string& name) {
  return inventory.certificates().active_version(name);
}

std::string effective_status(const store::CertificateRecord& record, std::int64_t now) {
  if (record.status == store::CertificateStatus::active && now > record.not_after) {
    return "expired";
  }
  return std::string(store::to_string(record.status));
}

nlohmann::json certificate_json(const store::CertificateRecord& r, std::int64_t now) {
  return nlohmann::json{
      {"name", r.name},
      {"status", effective_status(r, now)},
      {"expired", now > r.not_after},
      {"days_left", days_left(r.not_after, now)},
      {"not_before", format_rfc3339(r.not_before)},
      {"not_after", format_rfc3339(r.not_after)},
      {"subject", r.subject},
      {"issuer", r.issuer},
      {"issuer_cn", r.issuer_cn},
      {"sans", r.sans},
      {"serial", r.serial},
      {"sha256", r.sha256},
      {"key_type", r.key_type},
      {"key_path", r.key_path},
      {"public_key_sha256", r.public_key_sha256},
      {"subject_key_id", r.subject_key_id},
      {"authority_key_id", r.authority_key_id},
      {"is_ca", r.is_ca},
      {"source", r.source},
      {"source_path", r.source_path},
  };
}

std::string list_header() {
  return fmt::format("{:<28} {:<20} {:>5} {:<11} {:<22} {:<7} {:<10} {}\n", "NAME", "NOT AFTER",
                     "DAYS", "KEY", "ISSUER", "SOURCE", "STATUS", "NAMES");
}

std::string list_row(const store::CertificateRecord& r, std::int64_t now) {
  return fmt::format("{:<28} {:<20} {:>5} {:<11} {:<22} {:<7} {:<10} {}\n", clip(r.name, 28),
                     format_rfc3339(r.not_after), days_left(r.not_after, now), clip(r.key_type, 11),
                     clip(r.issuer_cn.empty() ? r.issuer : r.issuer_cn, 22), clip(r.source, 7),
                     effective_status(r, now), joined_names(r));
}

Result<std::vector<store::CertificateRecord>> find_versions(store::Inventory& inventory,
                                                            const std::string& query) {
  CK_TRY(versions, inventory.certificates().versions(query));
  if (!versions.empty()) {
    return versions;
  }
  std::string hex = query;
  if (!looks_like_fingerprint(hex)) {
    return fail(Errc::not_found, "no certificate named \"" + query + "\"");
  }
  CK_TRY(matches, inventory.certificates().find_by_fingerprint_prefix(hex));
  if (matches.empty()) {
    return fail(Errc::not_found,
                "no certificate named or with a fingerprint starting \"" + query + "\"");
  }
  if (matches.size() > 1) {
    return fail(Errc::invalid_argument,
                "fingerprint prefix \"" + query + "\" is ambiguous: give more digits");
  }
  CK_TRY(versions_of_match, inventory.certificates().versions(matches.front().name));
  // The match first, then the other versions of its name.
  std::vector<store::CertificateRecord> out{matches.front()};
  for (auto& v : versions_of_match) {
    if (v.id != out.front().id) {
      out.push_back(std::move(v));
    }
  }
  return out;
}

nlohmann::json event_json(const store::EventRecord& e) {
  return {{"at", format_rfc3339(e.at)},
          {"kind", e.kind},
          {"certificate", e.certificate_name},
          {"message", e.message}};
}

Result<nlohmann::json> show_view(store::Inventory& inventory, const std::string& query,
                                 std::int64_t now) {
  CK_TRY(found, find_versions(inventory, query));
  const auto& r = found.front();
  CK_TRY(events, inventory.events().recent(10, r.name));
  nlohmann::json out = certificate_json(r, now);
  std::size_t chain_length = 0;
  for (std::size_t pos = 0;
       (pos = r.chain_pem.find("-----BEGIN CERTIFICATE-----", pos)) != std::string::npos; ++pos) {
    ++chain_length;
  }
  out["chain_length"] = chain_length;
  out["versions"] = nlohmann::json::array();
  for (std::size_t i = 1; i < found.size(); ++i) {
    out["versions"].push_back(certificate_json(found[i], now));
  }
  out["events"] = nlohmann::json::array();
  for (const auto& e : events) {
    out["events"].push_back(event_json(e));
  }
  return out;
}

}  // namespace ck::daemon

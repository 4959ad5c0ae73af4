#include "daemon/lifecycle/importer.h"

#include <algorithm>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include "core/atomic_file.h"
#include "core/keys.h"
#include "core/pem.h"
#include "core/x509_info.h"
#include "daemon/lifecycle/inventory_view.h"
#include "store/layout.h"

namespace ck::daemon {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxFileBytes = 16u << 20;
constexpr std::size_t kBatchUnits = 512;  // units written per transaction
constexpr int kMaxDepth = 32;

enum class UnitKind { file, certbot_folder, unreadable_directory };

struct Unit {
  fs::path path;
  UnitKind kind = UnitKind::file;
  std::string error;  // for unreadable_directory
};

struct PreparedCertificate {
  store::CertificateRecord record;
  std::optional<store::KeyRecord> key;
};

// A unit parsed and checked, ready to be written (or failed with `error`).
struct PreparedUnit {
  std::string path;
  std::string error;
  std::vector<PreparedCertificate> certificates;
  std::vector<store::KeyRecord> loose_keys;  // keys with no certificate in the unit
};

// A certificate written without a key, to match against loose keys at the end.
struct Keyless {
  std::int64_t certificate_id;
  std::string public_key_sha256;
  std::size_t unit_index;
  std::size_t certificate_index;
};

bool has_certificate_extension(const fs::path& path) {
  static const std::vector<std::string> kExtensions{".pem",  ".crt", ".cer",
                                                    ".cert", ".key", ".der"};
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

bool is_certbot_folder(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "cert.pem", ec) && fs::exists(dir / "privkey.pem", ec) &&
         (fs::exists(dir / "chain.pem", ec) || fs::exists(dir / "fullchain.pem", ec));
}

void scan_directory(const fs::path& dir, int depth, std::vector<Unit>& out) {
  if (is_certbot_folder(dir)) {
    out.push_back(Unit{dir, UnitKind::certbot_folder, {}});
    return;
  }
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(*it);
  }
  if (ec) {
    out.push_back(
        Unit{dir, UnitKind::unreadable_directory, "cannot read directory: " + ec.message()});
    return;
  }
  std::sort(entries.begin(), entries.end());
  const bool certbot_config =
      fs::is_directory(dir / "live", ec) && fs::is_directory(dir / "archive", ec);
  for (const auto& entry : entries) {
    const fs::path& path = entry.path();
    if (entry.is_directory(ec)) {
      // Symlinked directories are not followed: they could loop.
      bool skip = entry.is_symlink(ec) || depth >= kMaxDepth ||
                  (certbot_config && path.filename() == "archive");
      if (!skip) {
        scan_directory(path, depth + 1, out);
      }
    } else if (has_certificate_extension(path)) {
      out.push_back(Unit{path, UnitKind::file, {}});
    }
  }
}

std::vector<Unit> discover(const std::vector<fs::path>& paths) {
  std::vector<Unit> units;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      scan_directory(path, 0, units);
    } else {
      units.push_back(Unit{path, UnitKind::file, {}});  // reading reports any error
    }
  }
  return units;
}

fs::path absolute_path(const fs::path& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  return ec ? path : abs.lexically_normal();
}

Result<store::KeyRecord> key_record(const EVP_PKEY& key, const fs::path& path) {
  CK_TRY(fingerprint, public_key_fingerprint(key));
  return store::KeyRecord{0, absolute_path(path).string(), describe_key(key), fingerprint, 0};
}

store::CertificateRecord certificate_record(const CertificateInfo& info, std::string der,
                                            std::string name, std::string chain_pem,
                                            const fs::path& source) {
  store::CertificateRecord r = record_from(info, std::move(der), "import");
  r.name = std::move(name);
  r.source_path = absolute_path(source).string();
  r.chain_pem = std::move(chain_pem);
  return r;
}

// What was read from one unit, before it becomes records.
struct Material {
  std::vector<ossl::X509Ptr> certificates;
  std::vector<ossl::PKey> keys;
  fs::path source;    // the file, or the certbot folder
  fs::path key_path;  // where `keys` came from
  std::string name;   // "" = derive from each certificate
};

// Entries are the end-entity certificates (CA certificates beside them form
// their chain) or, in a file of CA certificates only, every certificate.
Status prepare_material(Material& m, PreparedUnit& unit) {
  std::vector<CertificateInfo> infos;
  for (const auto& cert : m.certificates) {
    CK_TRY(info, describe_certificate(*cert));
    infos.push_back(std::move(info));
  }
  const bool has_leaf = std::any_of(infos.begin(), infos.end(), [](auto& i) { return !i.is_ca; });
  std::string chain_pem;
  for (std::size_t i = 0; i < infos.size() && has_leaf; ++i) {
    if (infos[i].is_ca) {
      CK_TRY(pem, certificate_to_pem(*m.certificates[i]));
      chain_pem += pem;
    }
  }
  std::vector<bool> key_used(m.keys.size(), false);
  for (std::size_t i = 0; i < infos.size(); ++i) {
    if (has_leaf && infos[i].is_ca) {
      continue;
    }
    CK_TRY(der, ossl::x509_to_der(*m.certificates[i]));
    std::string name = m.name.empty() ? derive_certificate_name(infos[i].display_name()) : m.name;
    PreparedCertificate prepared{
        certificate_record(infos[i], std::move(der), std::move(name), chain_pem, m.source),
        std::nullopt};
    for (std::size_t k = 0; k < m.keys.size(); ++k) {
      CK_TRY(key, key_record(*m.keys[k], m.key_path));
      if (key.public_key_sha256 == infos[i].public_key_sha256) {
        prepared.key = std::move(key);
        key_used[k] = true;
      }
    }
    unit.certificates.push_back(std::move(prepared));
  }
  for (std::size_t k = 0; k < m.keys.size(); ++k) {
    if (key_used[k]) {
      continue;
    }
    if (!unit.certificates.empty()) {
      return fail(Errc::key_mismatch, "the private key in " + m.key_path.string() +
                                          " does not match the certificate (" +
                                          unit.certificates.front().record.name + ")");
    }
    CK_TRY(key, key_record(*m.keys[k], m.key_path));
    unit.loose_keys.push_back(std::move(key));
  }
  return {};
}

Result<PemBundle> read_bundle(const fs::path& path, CertificateCache& cache) {
  CK_TRY(data, read_file(path, kMaxFileBytes));
  auto bundle = parse_pem_bundle(data, &cache);
  if (!bundle) {
    return fail(bundle.error().within(path.string()));
  }
  return bundle;
}

Status prepare_file(const fs::path& path, PreparedUnit& unit, CertificateCache& cache) {
  CK_TRY(bundle, read_bundle(path, cache));
  Material m{std::move(bundle.certificates), std::move(bundle.keys), path, path, ""};
  return prepare_material(m, unit);
}

// certbot live/NAME/: cert.pem is the leaf, chain.pem (or fullchain.pem after
// its first certificate) the chain, privkey.pem the key; NAME names it.
Status prepare_certbot_folder(const fs::path& dir, PreparedUnit& unit, CertificateCache& cache) {
  CK_TRY(cert, read_bundle(dir / "cert.pem", cache));
  if (cert.certificates.size() != 1) {
    return fail(Errc::parse, "expected exactly one certificate", (dir / "cert.pem").string());
  }
  std::error_code ec;
  const bool has_chain = fs::exists(dir / "chain.pem", ec);
  CK_TRY(chain, read_bundle(dir / (has_chain ? "chain.pem" : "fullchain.pem"), cache));
  if (!has_chain && !chain.certificates.empty()) {
    chain.certificates.erase(chain.certificates.begin());  // fullchain starts with the leaf
  }
  CK_TRY(key, read_bundle(dir / "privkey.pem", cache));
  if (key.keys.size() != 1) {
    return fail(Errc::parse, "expected exactly one private key", (dir / "privkey.pem").string());
  }
  std::string name = dir.filename().string();
  if (auto valid = store::validate_certificate_name(name); !valid) {
    name.clear();  // an unusual folder name: derive it from the certificate instead
  }
  Material m{std::move(cert.certificates), std::move(key.keys), dir, dir / "privkey.pem", name};
  for (auto& c : chain.certificates) {
    m.certificates.push_back(std::move(c));
  }
  return prepare_material(m, unit);
}

PreparedUnit prepare(const Unit& u, CertificateCache& cache) {
  PreparedUnit unit;
  unit.path = absolute_path(u.path).string();
  Status status;
  switch (u.kind) {
    case UnitKind::file: status = prepare_file(u.path, unit, cache); break;
    case UnitKind::certbot_folder: status = prepare_certbot_folder(u.path, unit, cache); break;
    case UnitKind::unreadable_directory: status = fail(Errc::io, u.error, u.path.string()); break;
    default: status = fail(Errc::internal, "unknown unit kind"); break;
  }
  if (!status) {
    unit.error = status.error().describe();
    unit.certificates.clear();
    unit.loose_keys.clear();
  }
  return unit;
}

// Parses units[start, end) on every core: parsing (d2i_X509 above all) costs
// more than writing, and files are independent. Each worker has its own cache.
std::vector<PreparedUnit> prepare_batch(const std::vector<Unit>& units, std::size_t start,
                                        std::size_t end, std::vector<CertificateCache>& caches) {
  std::vector<PreparedUnit> prepared(end - start);
  auto work = [&](std::size_t worker) {
    for (std::size_t i = start + worker; i < end; i += caches.size()) {
      prepared[i - start] = prepare(units[i], caches[worker]);
    }
  };
  std::vector<std::jthread> helpers;
  for (std::size_t w = 1; w < caches.size(); ++w) {
    helpers.emplace_back(work, w);
  }
  work(0);
  for (auto& helper : helpers) {
    helper.join();  // before `prepared` is moved out
  }
  return prepared;
}

}  // namespace

std::string derive_certificate_name(std::string_view display_name) {
  std::string name(display_name);
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  if (name.starts_with("*.")) {
    name = "wildcard." + name.substr(2);
  }
  for (char& c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    c = ok ? c : '_';
  }
  auto first = name.find_first_not_of("._-");
  name = first == std::string::npos ? "" : name.substr(first, 64);
  return name.empty() ? "certificate" : name;
}

Result<ImportReport> Importer::run(const std::vector<fs::path>& paths) {
  ImportReport report;
  std::vector<Unit> units = discover(paths);
  // Chains repeat across files: each worker parses a CA certificate once.
  std::vector<CertificateCache> caches(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  // Keys found on their own, by public key fingerprint, with their unit.
  std::map<std::string, std::pair<store::KeyRecord, std::size_t>> loose_keys;
  std::vector<Keyless> keyless;

  auto write_unit = [&](PreparedUnit& unit, std::size_t unit_index) -> Status {
    UnitReport& out = report.units[unit_index];
    return inventory_.transaction([&]() -> Status {
      for (auto& cert : unit.certificates) {
        if (cert.key) {
          CK_TRY(key, inventory_.keys().upsert(*cert.key));
          cert.record.key_id = key.id;
        }
        CK_TRY(written, inventory_.certificates().upsert(cert.record));
        if (written.inserted) {
          CK_TRY_STATUS(inventory_.events().append(
              store::EventRecord{0, clock_.unix_seconds(), "imported", cert.record.name,
                                 "imported from " + unit.path, ""}));
        }
        if (!cert.key) {
          keyless.push_back(Keyless{written.id, cert.record.public_key_sha256, unit_index,
                                    out.certificates.size()});
        }
        out.certificates.push_back(ImportedCertificate{cert.record.name, cert.record.sha256,
                                                       written.inserted,
                                                       cert.key ? cert.key->path : ""});
      }
      return {};
    });
  };

  // A pipeline: the next batch is parsed while this one is written. (On an
  // early return the pending parse finishes first: ~std::future waits.)
  auto parse_from = [&](std::size_t start) {
    return std::async(std::launch::async, [&, start] {
      return prepare_batch(units, start, std::min(units.size(), start + kBatchUnits), caches);
    });
  };
  std::future<std::vector<PreparedUnit>> next;
  if (!units.empty()) {
    next = parse_from(0);
  }
  for (std::size_t start = 0; start < units.size(); start += kBatchUnits) {
    std::vector<PreparedUnit> prepared = next.get();
    if (start + kBatchUnits < units.size()) {
      next = parse_from(start + kBatchUnits);
    }
    CK_TRY_STATUS(inventory_.transaction([&]() -> Status {
      for (auto& unit : prepared) {
        const std::size_t index = report.units.size();
        UnitReport& entry = report.units.emplace_back();
        entry.path = unit.path;
        entry.error = unit.error;
        if (!unit.error.empty()) {
          entry.outcome = UnitOutcome::failed;
          ++report.failed;
          continue;
        }
        for (auto& key : unit.loose_keys) {
          loose_keys.emplace(key.public_key_sha256, std::pair(key, index));
        }
        if (unit.certificates.empty()) {
          entry.outcome = UnitOutcome::key_unmatched;
          continue;
        }
        CK_TRY_STATUS(write_unit(unit, index));
      }
      return {};
    }));
    if (progress_) {
      progress_(report.units.size(), units.size());
    }
  }

  // Key files found on their own: attach them to the certificates they match.
  CK_TRY_STATUS(inventory_.transaction([&]() -> Status {
    for (const Keyless& k : keyless) {
      auto match = loose_keys.find(k.public_key_sha256);
      if (match == loose_keys.end()) {
        continue;
      }
      const auto& [key_record, key_unit] = match->second;
      CK_TRY(key, inventory_.keys().upsert(key_record));
      CK_TRY_STATUS(inventory_.certificates().set_key(k.certificate_id, key.id));
      ImportedCertificate& cert = report.units[k.unit_index].certificates[k.certificate_index];
      cert.key_path = key_record.path;
      report.units[key_unit].outcome = UnitOutcome::key_matched;
      report.units[key_unit].matched_certificate = cert.name;
      ++report.keys_linked;
    }
    return {};
  }));

  for (const auto& unit : report.units) {
    for (const auto& cert : unit.certificates) {
      cert.inserted ? ++report.inserted : ++report.updated;
    }
  }
  return report;
}

}  // namespace ck::daemon

#include "daemon/lifecycle/crl_cache.h"

#include "core/atomic_file.h"
#include "core/openssl.h"

namespace ck::daemon {
namespace {

std::filesystem::path crl_file(const store::StateLayout& layout, const std::string& url) {
  return layout.crls_dir() / (ossl::hex(ossl::sha256(url)) + ".crl");
}

}  // namespace

std::optional<validator::CrlCache::Entry> StoreCrlCache::load(const std::string& url) {
  auto record = inventory_.crls().find(url);
  if (!record || !*record) {
    return std::nullopt;
  }
  auto der = read_file((*record)->path, 1u << 30);
  if (!der) {
    return std::nullopt;  // the file went away: fetch it again
  }
  return Entry{std::move(*der), (*record)->etag, (*record)->last_modified};
}

void StoreCrlCache::save(const std::string& url, const Entry& entry, const validator::Crl& crl) {
  const auto path = crl_file(layout_, url);
  auto kept = make_directories(layout_.crls_dir(), 0755);
  if (kept) {
    kept = write_file_atomic(path, entry.der, WriteOptions{0644});
  }
  store::CrlRecord record{url,
                          crl.issuer_text(),
                          crl.crl_number_hex(),
                          crl.this_update(),
                          crl.next_update().value_or(0),
                          entry.etag,
                          entry.last_modified,
                          path.string(),
                          static_cast<std::int64_t>(crl.size()),
                          clock_.unix_seconds()};
  if (kept) {
    kept = inventory_.crls().upsert(record);
  }
  if (!kept) {
    warnings_.push_back("the CRL from " + url + " is not cached: " + kept.error().describe());
  }
}

}  // namespace ck::daemon

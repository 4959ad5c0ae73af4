#include "daemon/lifecycle/install.h"

#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/ip_address.h"
#include "core/keys.h"
#include "core/pem.h"
#include "core/x509_info.h"
#include "daemon/lifecycle/inventory_view.h"

namespace ck::daemon {
namespace {

// "DNS:" and the lower-cased name, or "IP:" and the address's bytes.
std::string comparable(const std::string& san) {
  if (san.starts_with("IP:")) {
    auto bytes = ip_address_bytes(san.substr(3));
    return "IP:" + (bytes ? *bytes : san.substr(3));
  }
  std::string lower = san;
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower;
}

}  // namespace

Status check_issued(const X509& leaf, const OrderedCertificate& ordered) {
  const auto* der = reinterpret_cast<const unsigned char*>(ordered.csr_der.data());
  ossl::X509ReqPtr csr(d2i_X509_REQ(nullptr, &der, static_cast<long>(ordered.csr_der.size())));
  const EVP_PKEY* csr_key = csr ? X509_REQ_get0_pubkey(csr.get()) : nullptr;
  if (!csr_key) {
    return fail(Errc::internal, "the order's CSR does not parse");
  }
  CK_TRY(want, public_key_fingerprint(*csr_key));
  CK_TRY(got, public_key_fingerprint(leaf));
  if (want != got) {
    return fail(Errc::protocol,
                "the CA sent a certificate for another public key than the order's CSR");
  }
  CK_TRY(info, describe_certificate(leaf));
  std::set<std::string> ordered_names;
  std::set<std::string> issued_names;
  std::ranges::transform(ordered.names, std::inserter(ordered_names, ordered_names.end()),
                         comparable);
  const std::vector<std::string> issued = info.subject_alt_names();
  std::ranges::transform(issued, std::inserter(issued_names, issued_names.end()), comparable);
  if (ordered_names != issued_names) {
    std::string sans;
    for (const auto& san : issued) {
      sans += (sans.empty() ? "" : ", ") + san;
    }
    return fail(Errc::protocol, "the CA sent a certificate for other names than ordered: " + sans);
  }
  return {};
}

Result<InstalledCertificate> install_issued(store::Inventory& inventory,
                                            const store::StateLayout& layout,
                                            const std::string& name, const std::string& chain_pem,
                                            const std::string& key_path,
                                            const std::string& order_url,
                                            const OrderedCertificate& ordered) {
  auto bundle = parse_pem_bundle(chain_pem);
  if (!bundle || bundle->certificates.empty()) {
    return fail(Errc::protocol, "the CA sent no parseable certificate chain", order_url);
  }
  const X509& leaf = *bundle->certificates.front();
  if (auto checked = check_issued(leaf, ordered); !checked) {
    return fail(checked.error().within(order_url));
  }
  CK_TRY(info, describe_certificate(leaf));
  CK_TRY(leaf_pem, certificate_to_pem(leaf));
  std::string rest;
  for (std::size_t i = 1; i < bundle->certificates.size(); ++i) {
    CK_TRY(pem, certificate_to_pem(*bundle->certificates[i]));
    rest += pem;
  }
  CK_TRY(der, ossl::x509_to_der(leaf));
  const std::string version = store::version_label(info.not_before, info.sha256);
  CK_TRY(dir, layout.install_certificate(name, version, leaf_pem, rest, key_path));

  store::CertificateRecord record = record_from(info, std::move(der), "acme");
  record.name = name;
  record.source_path = dir.string();
  record.chain_pem = rest;
  CK_TRY_STATUS(inventory.transaction([&]() -> Status {
    CK_TRY(key, inventory.keys().upsert({0, key_path, info.key_type, info.public_key_sha256, 0}));
    record.key_id = key.id;
    CK_TRY_STATUS(inventory.certificates().upsert(record));
    CK_TRY_STATUS(inventory.events().append(
        {0, 0, "issued", name, "issued " + info.sha256.substr(0, 16) + " by order " + order_url,
         ""}));
    return {};
  }));
  return InstalledCertificate{name, info.sha256, info.not_after, dir, record.sans};
}

}  // namespace ck::daemon

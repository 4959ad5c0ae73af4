#include "daemon/lifecycle/install.h"

#include "core/pem.h"
#include "core/x509_info.h"
#include "daemon/lifecycle/inventory_view.h"

namespace ck::daemon {

Result<InstalledCertificate> install_issued(store::Inventory& inventory,
                                            const store::StateLayout& layout,
                                            const std::string& name, const std::string& chain_pem,
                                            const std::string& key_path,
                                            const std::string& order_url) {
  auto bundle = parse_pem_bundle(chain_pem);
  if (!bundle || bundle->certificates.empty()) {
    return fail(Errc::protocol, "the CA sent no parseable certificate chain", order_url);
  }
  const X509& leaf = *bundle->certificates.front();
  CK_TRY(info, describe_certificate(leaf));
  CK_TRY(leaf_pem, certificate_to_pem(leaf));
  std::string rest;
  for (std::size_t i = 1; i < bundle->certificates.size(); ++i) {
    CK_TRY(pem, certificate_to_pem(*bundle->certificates[i]));
    rest += pem;
  }
  CK_TRY(der, ossl::x509_to_der(leaf));
  const std::string version = store::version_label(info.not_before, info.sha256);
  CK_TRY(dir, layout.install_certificate(name, version, leaf_pem, rest));

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

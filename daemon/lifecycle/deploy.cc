#include "daemon/lifecycle/deploy.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>

#include "core/atomic_file.h"
#include "core/keys.h"
#include "core/pem.h"
#include "core/subprocess.h"
#include "daemon/lifecycle/accounts.h"
#include "daemon/lifecycle/inventory_view.h"

namespace ck::daemon {
namespace {

// The owner and group the files get; unchanged (the writer's) when neither is set.
Result<std::optional<FileOwner>> owner_of(const DeployConfig& d) {
  if (d.owner.empty() && d.group.empty()) {
    return std::nullopt;
  }
  FileOwner owner{static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
  if (!d.owner.empty()) {
    const passwd* user = ::getpwnam(d.owner.c_str());
    if (!user) {
      return fail(Errc::io, "no user named " + d.owner, "deploy.owner");
    }
    owner.uid = user->pw_uid;
    owner.gid = user->pw_gid;
  }
  if (!d.group.empty()) {
    const group* g = ::getgrnam(d.group.c_str());
    if (!g) {
      return fail(Errc::io, "no group named " + d.group, "deploy.group");
    }
    owner.gid = g->gr_gid;
  }
  return std::optional<FileOwner>(owner);
}

struct Material {
  std::string sha256;
  std::string cert_pem;
  std::string chain_pem;
  std::string key_pem;
};

// The current version's certificate, chain and key, the key checked against it.
Result<Material> current_material(const std::string& name, store::Inventory& inventory) {
  CK_TRY(current, current_version(inventory, name));
  if (!current) {
    return fail(Errc::not_found, "no current certificate to deploy", name);
  }
  if (current->key_path.empty()) {
    return fail(Errc::not_found, "no private key is known for the current certificate", name);
  }
  CK_TRY(x509, ossl::x509_from_der(current->der));
  CK_TRY(key, load_private_key(current->key_path));
  const EVP_PKEY* public_key = X509_get0_pubkey(x509.get());
  if (!public_key || !same_public_key(*public_key, *key)) {
    return fail(Errc::key_mismatch,
                "the key " + current->key_path + " does not belong to the current certificate",
                name);
  }
  CK_TRY(cert_pem, certificate_to_pem(*x509));
  CK_TRY(key_pem, private_key_to_pem(*key));
  return Material{current->sha256, std::move(cert_pem), current->chain_pem, std::move(key_pem)};
}

}  // namespace

Result<DeployOutcome> deploy(const CertificateConfig& cert, store::Inventory& inventory,
                             std::chrono::milliseconds reload_timeout, std::stop_token stop) {
  const DeployConfig& d = cert.deploy;
  DeployOutcome out;
  if (!d.any()) {
    return out;
  }
  CK_TRY(owner, owner_of(d));
  CK_TRY(m, current_material(cert.name, inventory));
  out.sha256 = m.sha256;
  // Keys 0600 (0640 when a group is to read them); certificates are public.
  const WriteOptions key_file{static_cast<mode_t>(d.group.empty() ? 0600 : 0640), owner, true};
  const WriteOptions cert_file{0644, owner, true};
  // The key first: a server that reads both never finds a certificate whose
  // key is not there yet. The combined file holds both, so it is never torn.
  const std::pair<const std::string*, std::pair<std::string, WriteOptions>> files[] = {
      {&d.key, {m.key_pem, key_file}},
      {&d.combined, {m.cert_pem + m.chain_pem + m.key_pem, key_file}},
      {&d.cert, {m.cert_pem, cert_file}},
      {&d.chain, {m.chain_pem, cert_file}},
      {&d.fullchain, {m.cert_pem + m.chain_pem, cert_file}},
  };
  for (const auto& [path, what] : files) {
    if (path->empty()) {
      continue;
    }
    CK_TRY_STATUS(write_file_atomic(*path, what.first, what.second));
    out.written.push_back(*path);
  }
  if (d.reload.empty()) {
    return out;
  }
  CK_TRY(run, run_program(d.reload,
                          {"CERTKEEPER_CERTIFICATE=" + cert.name, "CERTKEEPER_SHA256=" + m.sha256},
                          reload_timeout, std::move(stop)));
  out.reload_output = std::move(run.output);
  if (run.exit_code != 0) {
    return fail(Errc::io,
                "the reload command failed (exit " + std::to_string(run.exit_code) + ")" +
                    (out.reload_output.empty() ? "" : ": " + out.reload_output.substr(0, 500)),
                d.reload.front());
  }
  out.reloaded = true;
  return out;
}

bool deployment_is_current(const CertificateConfig& cert, store::Inventory& inventory) {
  const DeployConfig& d = cert.deploy;
  const std::string& cert_file = !d.combined.empty()    ? d.combined
                                 : !d.fullchain.empty() ? d.fullchain
                                                        : d.cert;
  const std::string& key_file = !d.combined.empty() ? d.combined : d.key;
  if (cert_file.empty()) {
    return true;  // nothing deployed that a reader could find torn
  }
  auto current = current_version(inventory, cert.name);
  if (!current || !*current) {
    return true;  // no version yet: nothing to compare with
  }
  auto deployed_cert = read_file(cert_file, 1u << 20);
  auto bundle =
      deployed_cert ? parse_pem_bundle(*deployed_cert) : std::unexpected(deployed_cert.error());
  if (!bundle || bundle->certificates.empty()) {
    return false;
  }
  auto der = ossl::x509_to_der(*bundle->certificates.front());
  if (!der || ossl::hex(ossl::sha256(*der)) != (*current)->sha256) {
    return false;
  }
  if (key_file.empty()) {
    return true;
  }
  auto key = load_private_key(key_file);
  const EVP_PKEY* public_key = X509_get0_pubkey(bundle->certificates.front().get());
  return key && public_key && same_public_key(*public_key, **key);
}

}  // namespace ck::daemon

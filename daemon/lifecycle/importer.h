#pragma once
// `certkeeper import`: brings existing certificates into the inventory.
//
// A unit of import is one file, or one certbot live/NAME/ folder (cert.pem,
// chain.pem or fullchain.pem, privkey.pem). Each unit lands whole or not at
// all: a unit that fails adds nothing, and the others still import.
//
// - End-entity certificates in a file are entries; CA certificates beside them
//   are kept as their chain. A file of CA certificates only imports each one.
// - A private key in the same file (or the folder's privkey.pem) must match its
//   certificate, or the unit fails. Key files alone are matched by public key
//   to certificates of this run that have none. Keys are referenced by path,
//   never copied into the inventory.
// - Re-importing finds a certificate by fingerprint and updates it.
// - Directories are scanned recursively for *.pem, *.crt, *.cer, *.cert,
//   *.key and *.der; named files are always read. Below a certbot
//   configuration directory, archive/ is skipped (live/ has the same files).

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "store/inventory.h"

namespace ck::daemon {

struct ImportedCertificate {
  std::string name;
  std::string sha256;
  bool inserted = false;  // false: it was already in the inventory
  std::string key_path;   // "" when no key is known
};

enum class UnitOutcome {
  imported,       // certificates written
  failed,         // nothing written; see error
  key_matched,    // a key file on its own, linked to a certificate of this run
  key_unmatched,  // a key file on its own that matched no certificate: not recorded
};

struct UnitReport {
  std::string path;
  UnitOutcome outcome = UnitOutcome::imported;
  std::string error;  // for failed units
  std::vector<ImportedCertificate> certificates;
  std::string matched_certificate;  // for key_matched units: the certificate's name
};

struct ImportReport {
  std::vector<UnitReport> units;
  int inserted = 0;
  int updated = 0;
  int failed = 0;
  int keys_linked = 0;  // certificates matched to a separate key file
};

class Importer {
 public:
  Importer(store::Inventory& inventory, const Clock& clock)
      : inventory_(inventory), clock_(clock) {}

  // Imports every path. Per-unit problems are in the report; an error is
  // returned only when the inventory itself fails.
  [[nodiscard]] Result<ImportReport> run(const std::vector<std::filesystem::path>& paths);

  // Told (files done, files found) after each batch is written: a command's
  // progress line. It never prints itself.
  void on_progress(std::function<void(std::size_t, std::size_t)> progress) {
    progress_ = std::move(progress);
  }

 private:
  store::Inventory& inventory_;
  const Clock& clock_;
  std::function<void(std::size_t, std::size_t)> progress_;
};

// A certificate name derived from what the certificate certifies (first DNS
// name, else IP, else CN), made safe for a directory name.
[[nodiscard]] std::string derive_certificate_name(std::string_view display_name);

}  // namespace ck::daemon

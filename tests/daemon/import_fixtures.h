#pragma once
// Files to import, written by the tests from a test PKI.

#include "tests/support/test_support.h"

namespace ck::test {

struct ImportPki {
  Issued root = TestPki::root("Import Root");
  Issued ca = TestPki::intermediate(root, "Import Intermediate");
  Issued www = TestPki::leaf(ca, {"www.example.test", "example.test"});
  Issued api = TestPki::leaf(ca, {"api.example.test"}, kT0 - kDay, kT0 + 20 * kDay);

  // A certbot live/NAME/ folder for `leaf` (symlinks into archive/ like certbot).
  void certbot_folder(const std::filesystem::path& config_dir, const std::string& name,
                      const Issued& leaf, const Issued& key_owner) const {
    auto archive = config_dir / "archive" / name;
    auto live = config_dir / "live" / name;
    write_text(archive / "cert1.pem", leaf.cert_pem());
    write_text(archive / "chain1.pem", ca.cert_pem());
    write_text(archive / "fullchain1.pem", leaf.cert_pem() + ca.cert_pem());
    write_text(archive / "privkey1.pem", key_owner.key_pem(), 0600);
    std::filesystem::create_directories(live);
    for (const char* file : {"cert", "chain", "fullchain", "privkey"}) {
      std::filesystem::create_symlink("../../archive/" + name + "/" + file + "1.pem",
                                      live / (std::string(file) + ".pem"));
    }
    write_text(live / "README", "This directory contains your keys and certificates.\n");
  }
};

}  // namespace ck::test

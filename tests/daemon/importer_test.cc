#include <doctest/doctest.h>

#include "daemon/lifecycle/importer.h"
#include "tests/daemon/import_fixtures.h"

using namespace ck;
using namespace ck::test;
using ck::daemon::Importer;
using ck::daemon::UnitOutcome;

namespace {

struct ImportFixture : ImportPki {
  TempDir dir;
  ManualClock clock{kT0};
  std::unique_ptr<store::Inventory> inventory = store::open_memory_inventory(clock).value();

  daemon::ImportReport import(const std::vector<std::filesystem::path>& paths) {
    auto report = Importer(*inventory, clock).run(paths);
    REQUIRE(report);
    return *report;
  }
  std::vector<store::CertificateRecord> all() {
    std::vector<store::CertificateRecord> out;
    store::CertificateFilter filter;
    filter.include_inactive = true;
    REQUIRE(inventory->certificates().for_each(filter, [&](const auto& r) {
      out.push_back(r);
      return true;
    }));
    return out;
  }
};

}  // namespace

TEST_CASE_FIXTURE(ImportFixture, "good: a certbot configuration imports each live folder once") {
  certbot_folder(dir.path(), "www", www, www);
  certbot_folder(dir.path(), "api", api, api);
  auto report = import({dir.path()});
  CHECK(report.failed == 0);
  CHECK(report.inserted == 2);
  auto versions = inventory->certificates().versions("www").value();
  REQUIRE(versions.size() == 1);
  const auto& cert = versions[0];
  CHECK(cert.key_path == (dir / "live" / "www" / "privkey.pem").string());
  CHECK(cert.source_path == (dir / "live" / "www").string());
  CHECK(cert.chain_pem == ca.cert_pem());
  CHECK(cert.sans == std::vector<std::string>{"DNS:www.example.test", "DNS:example.test"});
  CHECK(cert.issuer_cn == "Import Intermediate");
  CHECK(all().size() == 2);  // archive/ was skipped, the README ignored
  CHECK(inventory->events().recent(10, "www").value().size() == 1);
}

TEST_CASE_FIXTURE(ImportFixture, "good: a chain from fullchain.pem when chain.pem is missing") {
  certbot_folder(dir.path(), "www", www, www);
  std::filesystem::remove(dir / "live" / "www" / "chain.pem");
  auto report = import({dir / "live" / "www"});
  CHECK(report.failed == 0);
  CHECK(inventory->certificates().versions("www").value()[0].chain_pem == ca.cert_pem());
}

TEST_CASE_FIXTURE(ImportFixture, "bad: a certbot folder whose key does not match imports nothing") {
  certbot_folder(dir.path(), "www", www, api);
  auto report = import({dir / "live" / "www"});
  CHECK(report.failed == 1);
  REQUIRE(report.units.size() == 1);
  CHECK(report.units[0].outcome == UnitOutcome::failed);
  CHECK(report.units[0].error.find("does not match") != std::string::npos);
  CHECK(all().empty());
  CHECK(inventory->keys().find_by_path((dir / "live" / "www" / "privkey.pem").string()).value() ==
        std::nullopt);
}

TEST_CASE_FIXTURE(ImportFixture,
                  "bad files fail alone, with path and reason, and good ones import") {
  const std::string cert = www.cert_pem();
  write_text(dir / "a-good.pem", api.cert_pem() + ca.cert_pem());
  write_text(dir / "b-corrupt.pem", cert.substr(0, 30) + "%%%" + cert.substr(33));
  write_text(dir / "c-truncated.pem", cert.substr(0, cert.size() / 2));
  write_text(dir / "d-empty.crt", "");
  write_text(dir / "e-mismatch.pem", www.cert_pem() + api.key_pem());
  write_text(dir / "notes.txt", "not a certificate, not scanned");
  auto report = import({dir.path(), dir / "missing.pem"});
  CHECK(report.inserted == 1);
  CHECK(report.failed == 5);
  std::map<std::string, std::string> errors;
  for (const auto& unit : report.units) {
    if (unit.outcome == UnitOutcome::failed) {
      errors[std::filesystem::path(unit.path).filename()] = unit.error;
    }
  }
  CHECK(errors["b-corrupt.pem"].find("invalid base64") != std::string::npos);
  CHECK(errors["c-truncated.pem"].find("has no END line") != std::string::npos);
  CHECK(errors["d-empty.crt"].find("empty file") != std::string::npos);
  CHECK(errors["e-mismatch.pem"].find("does not match") != std::string::npos);
  CHECK(errors["missing.pem"].find("No such file") != std::string::npos);
  for (const auto& [file, error] : errors) {
    CAPTURE(file);
    CHECK(error.find(file) != std::string::npos);  // every error names its file
  }
  REQUIRE(all().size() == 1);
  auto imported = inventory->certificates().versions("api.example.test").value();
  REQUIRE(imported.size() == 1);
  CHECK(imported[0].chain_pem == ca.cert_pem());
}

TEST_CASE_FIXTURE(ImportFixture, "re-importing updates and never duplicates") {
  write_text(dir / "www.pem", www.cert_pem() + www.key_pem(), 0600);
  auto first = import({dir / "www.pem"});
  CHECK(first.inserted == 1);
  auto second = import({dir / "www.pem", dir / "www.pem"});
  CHECK(second.inserted == 0);
  CHECK(second.updated == 2);
  CHECK(all().size() == 1);
  CHECK(inventory->events().recent(10).value().size() == 1);
}

TEST_CASE_FIXTURE(ImportFixture,
                  "a separate key file is matched to its certificate by public key") {
  write_text(dir / "www.crt", www.cert_pem());
  write_text(dir / "www.key", www.key_pem(), 0600);
  write_text(dir / "unrelated.key", root.key_pem(), 0600);
  auto report = import({dir.path()});
  CHECK(report.failed == 0);
  CHECK(report.keys_linked == 1);
  CHECK(inventory->certificates().versions("www.example.test").value()[0].key_path ==
        (dir / "www.key").string());
  CHECK(inventory->keys().find_by_path((dir / "unrelated.key").string()).value() == std::nullopt);
  std::map<std::string, UnitOutcome> outcomes;
  for (const auto& unit : report.units) {
    outcomes[std::filesystem::path(unit.path).filename()] = unit.outcome;
  }
  CHECK(outcomes["www.key"] == UnitOutcome::key_matched);
  CHECK(outcomes["unrelated.key"] == UnitOutcome::key_unmatched);
}

TEST_CASE_FIXTURE(ImportFixture, "a file of CA certificates imports each of them") {
  write_text(dir / "cas.pem", root.cert_pem() + ca.cert_pem());
  auto report = import({dir / "cas.pem"});
  CHECK(report.inserted == 2);
  auto imported = all();
  REQUIRE(imported.size() == 2);
  CHECK(imported[0].is_ca);
  CHECK(inventory->certificates().versions(imported[0].name).value()[0].chain_pem.empty());
}

TEST_CASE_FIXTURE(ImportFixture, "a renewed certificate supersedes the older one of its name") {
  Issued renewed = TestPki::leaf(ca, {"api.example.test"}, kT0 + 10 * kDay, kT0 + 100 * kDay);
  write_text(dir / "old.pem", api.cert_pem());
  write_text(dir / "new.pem", renewed.cert_pem());
  CHECK(import({dir / "new.pem", dir / "old.pem"}).inserted == 2);
  auto versions = inventory->certificates().versions("api.example.test").value();
  REQUIRE(versions.size() == 2);
  CHECK(versions[0].status == store::CertificateStatus::active);
  CHECK(versions[0].not_before == kT0 + 10 * kDay);
  CHECK(versions[1].status == store::CertificateStatus::superseded);
}

TEST_CASE("derived names are safe directory names") {
  CHECK(daemon::derive_certificate_name("WWW.Example.com") == "www.example.com");
  CHECK(daemon::derive_certificate_name("*.example.com") == "wildcard.example.com");
  CHECK(daemon::derive_certificate_name("2001:db8::1") == "2001_db8__1");
  CHECK(daemon::derive_certificate_name("Let's Encrypt R3") == "let_s_encrypt_r3");
  CHECK(daemon::derive_certificate_name("...") == "certificate");
}

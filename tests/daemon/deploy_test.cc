// The deploy job with reload commands that misbehave: one that hangs is
// killed at its timeout (with what it started), one that fails is reported
// with its exit code and words; either way the files are deployed and said so.

#include "daemon/lifecycle/deploy.h"

#include <doctest/doctest.h>

#include "core/clock.h"
#include "tests/daemon/import_fixtures.h"

using namespace ck;
using namespace ck::daemon;
using namespace ck::test;

namespace {

struct DeployFixture : ImportPki {
  TempDir dir;
  SystemClock clock;
  std::unique_ptr<store::Inventory> inventory;
  CertificateConfig cert;

  DeployFixture() {
    write_text(dir / "www.pem", www.cert_pem() + www.key_pem());
    REQUIRE(
        certkeeper({"--state-dir", (dir / "state").string(), "import", (dir / "www.pem").string()})
            .exit_code == 0);
    inventory = store::open_inventory((dir / "state" / "inventory.db").string(), clock).value();
    cert.name = "www.example.test";
    std::filesystem::create_directories(dir / "out");
    cert.deploy.fullchain = (dir / "out" / "fullchain.pem").string();
    cert.deploy.key = (dir / "out" / "key.pem").string();
  }
};

}  // namespace

TEST_CASE_FIXTURE(DeployFixture, "a reload command that hangs is bounded and reported") {
  write_text(dir / "reload", "#!/bin/sh\necho reloading\nsleep 60\n", 0755);
  cert.deploy.reload = {(dir / "reload").string()};
  auto done = deploy(cert, *inventory, std::chrono::seconds(1));
  REQUIRE_FALSE(done);
  INFO(done.error().describe());
  CHECK(done.error().code == Errc::timeout);
  CHECK(done.error().describe().find("did not finish within 1 s") != std::string::npos);
  CHECK(done.error().describe().find((dir / "reload").string()) != std::string::npos);
  // The files were written before the reload ran: the next deploy finds them current.
  CHECK(read_text(cert.deploy.fullchain).find(www.cert_pem()) == 0);
  CHECK(deployment_is_current(cert, *inventory));
}

TEST_CASE_FIXTURE(DeployFixture,
                  "a reload command that fails is reported with its exit code and words") {
  write_text(dir / "reload", "#!/bin/sh\necho 'nginx: [emerg] no such file' >&2\nexit 3\n", 0755);
  cert.deploy.reload = {(dir / "reload").string()};
  auto done = deploy(cert, *inventory);
  REQUIRE_FALSE(done);
  INFO(done.error().describe());
  CHECK(done.error().code == Errc::io);
  CHECK(done.error().describe().find("exit 3") != std::string::npos);
  CHECK(done.error().describe().find("[emerg] no such file") != std::string::npos);
  CHECK(deployment_is_current(cert, *inventory));

  cert.deploy.reload = {(dir / "missing-reload").string()};
  auto missing = deploy(cert, *inventory);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().describe().find("missing-reload") != std::string::npos);
}

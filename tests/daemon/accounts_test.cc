// Account keys: made once per CA directory, even when many jobs of a fresh
// service ask at the same moment (issue 18: the account creation race).

#include "daemon/lifecycle/accounts.h"

#include <doctest/doctest.h>

#include <thread>

#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::daemon;

TEST_CASE("account key: eight jobs asking at once get the same key, made once, 0600") {
  test::TempDir dir;
  const store::StateLayout layout(dir.path().string());
  std::vector<std::string> thumbprints(8);
  std::vector<std::string> errors(8);
  std::vector<std::thread> jobs;
  for (std::size_t i = 0; i < thumbprints.size(); ++i) {
    jobs.emplace_back([&, i] {
      std::string path;
      auto signer = load_or_create_account_key(layout, "https://ca.example/dir", path);
      if (signer) {
        thumbprints[i] = signer->thumbprint();
      } else {
        errors[i] = signer.error().describe();
      }
    });
  }
  for (auto& job : jobs) {
    job.join();
  }
  for (std::size_t i = 0; i < thumbprints.size(); ++i) {
    CAPTURE(errors[i]);
    CHECK(errors[i].empty());
    CHECK(thumbprints[i] == thumbprints[0]);
  }
  const auto key = account_key_path(layout, "https://ca.example/dir");
  const auto mode = std::filesystem::status(key).permissions() & std::filesystem::perms::all;
  const auto owner_only = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
  CHECK(mode == owner_only);
}

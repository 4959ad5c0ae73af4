#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "store/inventory.h"
#include "tests/store/store_fixtures.h"

using namespace ck;
using namespace ck::test;
using store::CertificateStatus;

namespace {

struct MemoryInventory {
  ManualClock clock{kT0};
  std::unique_ptr<store::Inventory> inventory = store::open_memory_inventory(clock).value();
  store::CertificateRepository& certs() { return inventory->certificates(); }
};

std::vector<std::string> names_in(store::CertificateRepository& repo,
                                  const store::CertificateFilter& filter) {
  std::vector<std::string> out;
  REQUIRE(repo.for_each(filter, [&](const store::CertificateRecord& r) {
    out.push_back(r.name + ":" + std::string(store::to_string(r.status)));
    return true;
  }));
  return out;
}

}  // namespace

TEST_CASE_FIXTURE(MemoryInventory,
                  "upsert finds a certificate by fingerprint and never duplicates") {
  auto first = certs().upsert(record("www", 1, kT0, kT0 + 90 * kDay));
  REQUIRE(first);
  CHECK(first->inserted);
  auto again_record = record("renamed", 1, kT0, kT0 + 90 * kDay);
  again_record.source_path = "/etc/ssl/www.pem";
  auto again = certs().upsert(again_record);
  REQUIRE(again);
  CHECK_FALSE(again->inserted);
  CHECK(again->id == first->id);
  auto stored = certs().find_by_fingerprint(again_record.sha256).value();
  REQUIRE(stored);
  CHECK(stored->name == "www");  // the name is an identity: kept
  CHECK(stored->source_path == "/etc/ssl/www.pem");
  CHECK(stored->der == "der-1");
  CHECK(stored->sans == std::vector<std::string>{"DNS:www.example"});
}

TEST_CASE_FIXTURE(MemoryInventory,
                  "each name keeps one active certificate, the newest, in any order") {
  SUBCASE("older_then_newer") {
    REQUIRE(certs().upsert(record("www", 1, kT0, kT0 + 90 * kDay)));
    REQUIRE(certs().upsert(record("www", 2, kT0 + 60 * kDay, kT0 + 150 * kDay)));
  }
  SUBCASE("newer_then_older") {
    REQUIRE(certs().upsert(record("www", 2, kT0 + 60 * kDay, kT0 + 150 * kDay)));
    REQUIRE(certs().upsert(record("www", 1, kT0, kT0 + 90 * kDay)));
  }
  auto versions = certs().versions("www").value();
  REQUIRE(versions.size() == 2);
  CHECK(versions[0].serial == "2");
  CHECK(versions[0].status == CertificateStatus::active);
  CHECK(versions[1].status == CertificateStatus::superseded);
  const auto active = certs().active_version("www").value();
  REQUIRE(active);
  CHECK(active->serial == "2");
  CHECK(active->der == versions[0].der);  // the whole record, as versions() reads it
  REQUIRE(certs().set_status(active->id, CertificateStatus::revoked));
  CHECK_FALSE(certs().active_version("www").value());  // revoked: none is active
  CHECK_FALSE(certs().active_version("nothing").value());
}

TEST_CASE_FIXTURE(MemoryInventory, "listing filters by expiry and status, soonest first") {
  REQUIRE(certs().upsert(record("late", 1, kT0, kT0 + 80 * kDay)));
  REQUIRE(certs().upsert(record("soon", 2, kT0, kT0 + 10 * kDay)));
  REQUIRE(certs().upsert(record("gone", 3, kT0 - 90 * kDay, kT0 - kDay)));
  REQUIRE(certs().upsert(record("soon", 4, kT0 - 80 * kDay, kT0 + 5 * kDay)));  // older version

  CHECK(names_in(certs(), {}) ==
        std::vector<std::string>{"gone:active", "soon:active", "late:active"});
  store::CertificateFilter expiring;
  expiring.not_after_before = kT0 + 30 * kDay;
  CHECK(names_in(certs(), expiring) == std::vector<std::string>{"gone:active", "soon:active"});
  store::CertificateFilter all;
  all.include_inactive = true;
  CHECK(names_in(certs(), all).size() == 4);
  // A revoked certificate may still be deployed: listed, and a problem for
  // --expiring whatever its notAfter.
  REQUIRE(certs().upsert(record("pulled", 5, kT0, kT0 + 60 * kDay)));
  REQUIRE(
      certs().set_status(certs().versions("pulled").value().at(0).id, CertificateStatus::revoked));
  CHECK(names_in(certs(), {}) ==
        std::vector<std::string>{"gone:active", "soon:active", "pulled:revoked", "late:active"});
  CHECK(names_in(certs(), expiring) ==
        std::vector<std::string>{"gone:active", "soon:active", "pulled:revoked"});
  // Summaries leave out the DER.
  REQUIRE(certs().for_each({}, [](const store::CertificateRecord& r) {
    CHECK(r.der.empty());
    return false;  // stops after the first
  }));
}

TEST_CASE_FIXTURE(MemoryInventory, "fingerprint prefixes need eight digits") {
  REQUIRE(certs().upsert(record("www", 0xabcdef12, kT0, kT0 + kDay)));
  auto found = certs().find_by_fingerprint_prefix(std::string(56, '0') + "abcd").value();
  REQUIRE(found.size() == 1);
  CHECK(found[0].name == "www");
  CHECK_FALSE(certs().find_by_fingerprint_prefix("0000"));
  CHECK(certs().find_by_fingerprint_prefix("ffffffff").value().empty());
}

TEST_CASE_FIXTURE(MemoryInventory, "keys are referenced by path and linked to certificates") {
  auto key = inventory->keys().upsert({0, "/etc/ssl/private/www.key", "ecdsa-p256", "ab", 0});
  REQUIRE(key);
  CHECK(key->inserted);
  CHECK_FALSE(
      inventory->keys().upsert({0, "/etc/ssl/private/www.key", "ecdsa-p256", "ab", 0})->inserted);
  auto cert = certs().upsert(record("www", 1, kT0, kT0 + kDay)).value();
  REQUIRE(certs().set_key(cert.id, key->id));
  CHECK(certs().versions("www").value()[0].key_path == "/etc/ssl/private/www.key");
}

TEST_CASE_FIXTURE(MemoryInventory,
                  "a failed transaction leaves nothing; a failed savepoint only its part") {
  auto failed = inventory->transaction([&]() -> Status {
    REQUIRE(certs().upsert(record("a", 1, kT0, kT0 + kDay)));
    return fail(Errc::internal, "boom");
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message == "boom");
  CHECK(certs().versions("a").value().empty());

  REQUIRE(inventory->transaction([&]() -> Status {
    REQUIRE(certs().upsert(record("b", 2, kT0, kT0 + kDay)));
    auto inner = inventory->transaction([&]() -> Status {
      REQUIRE(certs().upsert(record("c", 3, kT0, kT0 + kDay)));
      return fail(Errc::internal, "inner");
    });
    CHECK_FALSE(inner);
    return {};
  }));
  CHECK(certs().versions("b").value().size() == 1);
  CHECK(certs().versions("c").value().empty());
}

TEST_CASE("the event log is append-only") {
  TempDir dir;
  ManualClock clock(kT0);
  const std::string path = (dir / "inventory.db").string();
  auto inventory = store::open_inventory(path, clock).value();
  REQUIRE(inventory->events().append({0, 0, "imported", "www", "first", ""}));
  clock.advance(std::chrono::seconds(5));
  REQUIRE(inventory->events().append({0, 0, "renewed", "www", "second", ""}));
  REQUIRE(inventory->events().append({0, 0, "imported", "api", "other", ""}));
  auto recent = inventory->events().recent(10, "www").value();
  REQUIRE(recent.size() == 2);
  CHECK(recent[0].message == "second");
  CHECK(recent[0].at == kT0 + 5);
  CHECK(inventory->events().recent(1).value().size() == 1);
  CHECK(raw_sql(path, "UPDATE events SET message = 'forged'") != SQLITE_OK);
  CHECK(raw_sql(path, "DELETE FROM events") != SQLITE_OK);
  CHECK(inventory->events().recent(10).value().size() == 3);
}

TEST_CASE_FIXTURE(MemoryInventory, "alerts open once per key, refresh, resolve and reopen") {
  store::AlertRecord alert{
      0,   "expiry:www:14d", "www", "expiry", "warning", "expires in 14 days", kT0,
      kT0, std::nullopt,     ""};
  auto opened = inventory->alerts().fire(alert).value();
  REQUIRE(opened);
  alert.last_fired_at = kT0 + 3600;
  alert.message = "expires in 13 days";
  CHECK_FALSE(inventory->alerts().fire(alert).value());
  auto open = inventory->alerts().open_alerts().value();
  REQUIRE(open.size() == 1);
  CHECK(open[0].id == *opened);
  CHECK(open[0].message == "expires in 13 days");
  CHECK(open[0].first_fired_at == kT0);
  CHECK(inventory->alerts().resolve("expiry:www:14d", kT0 + 7200, "recovered").value() == opened);
  CHECK_FALSE(inventory->alerts().resolve("expiry:www:14d", kT0 + 7200, "recovered").value());
  CHECK(inventory->alerts().open_alerts().value().empty());
  auto closed = inventory->alerts().find(*opened).value();
  REQUIRE(closed);
  CHECK(closed->resolved_at == kT0 + 7200);
  CHECK(closed->resolution == "recovered");
  auto reopened = inventory->alerts().fire(alert).value();
  REQUIRE(reopened);
  CHECK(*reopened != *opened);
  auto history = inventory->alerts().history(10, "www").value();
  REQUIRE(history.size() == 2);
  CHECK(history[0].id == *reopened);  // newest first
  CHECK(inventory->alerts().history(10, "api").value().empty());
}

TEST_CASE_FIXTURE(MemoryInventory, "alert notices wait in the outbox until delivered or given up") {
  auto id = inventory->alerts()
                .fire({0, "revoked:www", "www", "revoked", "critical", "revoked", kT0, kT0,
                       std::nullopt, ""})
                .value();
  REQUIRE(id);
  CHECK_FALSE(inventory->alerts().next_notice_at().value());
  auto webhook = inventory->alerts().queue_notice({0, *id, "firing", "webhook", kT0, 0, kT0});
  auto email = inventory->alerts().queue_notice({0, *id, "firing", "email", kT0, 0, kT0 + 10});
  REQUIRE(webhook);
  REQUIRE(email);
  CHECK(inventory->alerts().next_notice_at().value() == kT0);
  auto due = inventory->alerts().due_notices(kT0, 10).value();
  REQUIRE(due.size() == 1);
  CHECK(due[0].sink == "webhook");
  due[0].attempts = 1;
  due[0].next_attempt_at = kT0 + 60;
  due[0].last_error = "connection refused";
  REQUIRE(inventory->alerts().update_notice(due[0]));
  CHECK(inventory->alerts().next_notice_at().value() == kT0 + 10);
  due = inventory->alerts().due_notices(kT0 + 60, 10).value();
  REQUIRE(due.size() == 2);
  CHECK(due[0].sink == "email");
  for (auto& notice : due) {
    notice.delivered_at = kT0 + 60;
    REQUIRE(inventory->alerts().update_notice(notice));
  }
  CHECK_FALSE(inventory->alerts().next_notice_at().value());
  auto kept = inventory->alerts().notices_of(*id).value();
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].attempts == 1);
  CHECK(kept[0].last_error == "connection refused");
  CHECK(kept[0].delivered_at == kT0 + 60);
}

TEST_CASE_FIXTURE(MemoryInventory, "accounts, orders, staples, CRLs and probes round-trip") {
  auto account = inventory->accounts().upsert({0,
                                               "https://ca/dir",
                                               "/keys/acct.key",
                                               "ecdsa-p256",
                                               "",
                                               {"mailto:a@example.com"},
                                               "valid",
                                               0,
                                               0});
  REQUIRE(account);
  auto found = inventory->accounts().find("https://ca/dir", "/keys/acct.key").value();
  REQUIRE(found);
  CHECK(found->contacts == std::vector<std::string>{"mailto:a@example.com"});

  store::OrderRecord order{0,
                           account->id,
                           "www",
                           "https://ca/order/1",
                           "pending",
                           {"dns:www.example"},
                           "https://ca/finalize/1",
                           "",
                           "/keys/www.key",
                           "",
                           "",
                           "",
                           0,
                           0};
  REQUIRE(inventory->orders().upsert(order));
  CHECK_FALSE(inventory->orders().upsert(store::OrderRecord{}));  // no URL
  CHECK(inventory->orders().unfinished().value().size() == 1);
  order.status = "valid";
  order.certificate_url = "https://ca/cert/1";
  REQUIRE(inventory->orders().upsert(order));
  CHECK(inventory->orders().unfinished().value().empty());
  CHECK(inventory->orders().latest_valid("www").value()->order_url == "https://ca/order/1");
  CHECK_FALSE(inventory->orders().latest_valid("other").value());
  order.order_url = "https://ca/order/2";
  REQUIRE(inventory->orders().upsert(order));
  CHECK(inventory->orders().latest_valid("www").value()->order_url == "https://ca/order/2");
  CHECK(inventory->orders().find_by_url("https://ca/order/1").value()->certificate_url ==
        "https://ca/cert/1");

  auto cert = certs().upsert(record("www", 1, kT0, kT0 + kDay)).value();
  REQUIRE(inventory->staples().upsert(
      {cert.id, "/tls/www.ocsp", "http://ocsp", "good", kT0, kT0, kT0 + 7 * kDay, kT0, ""}));
  CHECK(inventory->staples().find(cert.id).value()->next_update == kT0 + 7 * kDay);
  REQUIRE(inventory->crls().upsert(
      {"http://crl/1.crl", "CN=CA", "0a", kT0, kT0 + kDay, "\"etag\"", "", "/crl/1.der", 3, kT0}));
  CHECK(inventory->crls().find("http://crl/1.crl").value()->etag == "\"etag\"");
  REQUIRE(inventory->probes().insert({0, "www.example:443", "www.example", kT0, true, "TLSv1.3",
                                      "TLS_AES_128_GCM_SHA256", "ff", "", "{}"}));
  CHECK(inventory->probes().latest("www.example:443").value()->protocol == "TLSv1.3");
}

// Two connections on one file: a reader never sees part of a writer's
// transaction and is never blocked by it.
TEST_CASE("readers see whole transactions while a writer works") {
  TempDir dir;
  ManualClock clock(kT0);
  const std::string path = (dir / "inventory.db").string();
  REQUIRE(store::open_inventory(path, clock));
  constexpr int kBatches = 20;
  constexpr int kPerBatch = 50;
  std::atomic<bool> done{false};
  std::atomic<int> reader_errors{0};
  std::atomic<int> torn_reads{0};
  std::atomic<int> reads{0};

  std::thread writer([&] {
    auto inventory = store::open_inventory(path, clock).value();
    for (int b = 0; b < kBatches; ++b) {
      auto status = inventory->transaction([&]() -> Status {
        for (int i = 0; i < kPerBatch; ++i) {
          int n = b * kPerBatch + i;
          CK_TRY_STATUS(inventory->certificates().upsert(
              record("name" + std::to_string(n), n + 1, kT0, kT0 + kDay)));
        }
        return {};
      });
      REQUIRE(status);
    }
    done = true;
  });
  std::thread reader([&] {
    auto inventory = store::open_inventory(path, clock).value();
    while (!done || reads == 0) {
      int count = 0;
      auto status = inventory->certificates().for_each({}, [&](const auto&) {
        ++count;
        return true;
      });
      reader_errors += status ? 0 : 1;
      torn_reads += count % kPerBatch != 0 ? 1 : 0;
      ++reads;
    }
  });
  writer.join();
  reader.join();
  CHECK(reads > 0);
  CHECK(reader_errors == 0);
  CHECK(torn_reads == 0);
  auto inventory = store::open_inventory(path, clock).value();
  int total = 0;
  REQUIRE(inventory->certificates().for_each({}, [&](const auto&) { return ++total, true; }));
  CHECK(total == kBatches * kPerBatch);
}

// Two `certkeeper issue` runs on a new state directory failed with "database
// is locked": turning a new database to WAL is refused at once (no busy
// handler) while another connection opens it. Many open one at once here.
TEST_CASE("a new inventory opened by many connections at once: every one succeeds") {
  const SystemClock clock;
  for (int round = 0; round < 20; ++round) {
    ck::test::TempDir dir;
    const std::string path = (dir / "inventory.db").string();
    std::vector<std::thread> openers;
    std::atomic<int> opened{0};
    std::vector<std::string> errors(6);
    for (int k = 0; k < 6; ++k) {
      openers.emplace_back([&, k] {
        auto inventory = store::open_inventory(path, clock);
        if (inventory) {
          ++opened;
        } else {
          errors[static_cast<std::size_t>(k)] = inventory.error().describe();
        }
      });
    }
    for (auto& t : openers) {
      t.join();
    }
    CAPTURE(round);
    std::string why;
    for (const auto& e : errors) {
      why += e;
    }
    CHECK_MESSAGE(opened == 6, why);
  }
}

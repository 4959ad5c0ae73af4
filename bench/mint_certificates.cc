// Writes N certificates of one throw-away CA to DIR, as c000001.example.test.pem
// and so on (each its own name, valid since yesterday for 30 to 389 days), for
// benchmarks that need an inventory of 100,000: one `openssl x509` each would
// take minutes. Usage: mint_certificates N DIR
#include <fmt/core.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/keys.h"
#include "core/pem.h"
#include "core/x509_build.h"

namespace {

template <typename T>
T value_or_exit(ck::Result<T> r, const char* what) {
  if (!r) {
    fmt::print(stderr, "mint_certificates: {}: {}\n", what, r.error().describe());
    std::exit(1);
  }
  return std::move(*r);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 0;
  if (argc != 3 ||
      std::from_chars(argv[1], argv[1] + std::strlen(argv[1]), count).ec != std::errc{}) {
    fmt::print(stderr, "usage: mint_certificates N DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[2];
  std::filesystem::create_directories(dir);
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  constexpr std::int64_t kDay = 86400;

  auto ca_key = value_or_exit(ck::generate_key(ck::KeyType::ecdsa_p256), "CA key");
  ck::CertificateSpec ca_spec{.common_name = "Bench CA",
                              .not_before = now - kDay,
                              .not_after = now + 400 * kDay,
                              .is_ca = true};
  auto ca = value_or_exit(ck::build_certificate(ca_spec, *ca_key, nullptr, *ca_key), "CA");
  auto leaf_key = value_or_exit(ck::generate_key(ck::KeyType::ecdsa_p256), "leaf key");
  for (std::size_t i = 1; i <= count; ++i) {
    const std::string name = fmt::format("c{:06}.example.test", i);
    ck::CertificateSpec spec{.common_name = name,
                             .dns_names = {name},
                             .not_before = now - kDay,
                             .not_after = now + static_cast<std::int64_t>(30 + i % 360) * kDay};
    auto cert =
        value_or_exit(ck::build_certificate(spec, *leaf_key, ca.get(), *ca_key), "certificate");
    std::ofstream(dir / (name + ".pem")) << value_or_exit(ck::certificate_to_pem(*cert), "PEM");
  }
  return 0;
}

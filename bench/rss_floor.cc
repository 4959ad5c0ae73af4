// The memory floor under any ACME client built on the libraries DESIGN.md
// names: a C++ program linking only OpenSSL, SQLite and the C++ runtime that
// does the irreducible work of one issuance and nothing else -- a P-256 key
// made and used to sign (the JWS and the CSR), one row written to SQLite in a
// transaction, and one verified TLS connection fetching an ACME directory.
// Its peak RSS, printed by acme_bench.sh next to certkeeper's, tells which
// part of certkeeper's figure is the platform's and which is certkeeper's own.
//
// Usage: rss_floor HOST PORT CA_FILE DB_FILE

#include <sqlite3.h>

#include <cstdio>
#include <memory>
#include <string>

#include "core/openssl.h"

namespace {

using namespace ck::ossl;  // header-only RAII handles; nothing of certkeeper is linked
using Db = std::unique_ptr<sqlite3, Deleter<sqlite3_close>>;

bool sign_with_new_key() {
  PKey key(EVP_EC_gen("P-256"));
  MdCtx md(EVP_MD_CTX_new());
  if (!key || !md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
    return false;
  }
  const std::string payload = "{\"protected\":\"...\",\"payload\":\"...\"}";
  unsigned char signature[128];
  size_t length = sizeof signature;
  return EVP_DigestSign(md.get(), signature, &length,
                        reinterpret_cast<const unsigned char*>(payload.data()),
                        payload.size()) == 1;
}

bool write_row(const char* path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open(path, &raw);
  Db db(raw);
  return rc == SQLITE_OK &&
         sqlite3_exec(db.get(),
                      "BEGIN; CREATE TABLE IF NOT EXISTS certs(name TEXT, pem TEXT);"
                      "INSERT INTO certs VALUES('floor.example', '-----BEGIN CERTIFICATE-----');"
                      "COMMIT;",
                      nullptr, nullptr, nullptr) == SQLITE_OK;
}

bool fetch_directory(const std::string& host, const std::string& port, const char* ca_file) {
  SslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), ca_file, nullptr) != 1) {
    return false;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  Bio bio(BIO_new_ssl_connect(ctx.get()));
  SSL* ssl = nullptr;
  BIO_get_ssl(bio.get(), &ssl);
  if (!bio || !ssl ||
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) !=
          1) {  // verify the address
    return false;
  }
  BIO_set_conn_hostname(bio.get(), (host + ":" + port).c_str());
  const std::string request =
      "GET /dir HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  if (BIO_do_connect(bio.get()) != 1 || SSL_get_verify_result(ssl) != X509_V_OK ||
      BIO_write(bio.get(), request.data(), static_cast<int>(request.size())) <= 0) {
    return false;
  }
  char buffer[4096];
  std::string response;
  for (int n; (n = BIO_read(bio.get(), buffer, sizeof buffer)) > 0;) {
    response.append(buffer, static_cast<std::size_t>(n));
  }
  return response.starts_with("HTTP/1.1 200");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: rss_floor HOST PORT CA_FILE DB_FILE\n");
    return 2;
  }
  const bool ok =
      sign_with_new_key() && write_row(argv[4]) && fetch_directory(argv[1], argv[2], argv[3]);
  std::puts(ok ? "ok" : "failed");
  return ok ? 0 : 1;
}

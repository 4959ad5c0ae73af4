// The HTTP client against real peers on loopback: `openssl s_server -WWW` for
// TLS trust decisions, and a scripted socket server for response shapes a CA
// could send (huge bodies, silence, odd headers).

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include "core/http.h"
#include "tests/support/test_support.h"

using namespace ck;
using namespace ck::test;
using namespace std::chrono_literals;

namespace {

HttpClient client(HttpOptions options = {}) {
  return HttpClient::create(std::move(options)).value();
}

}  // namespace

TEST_CASE("good: HTTPS to a server whose CA is named in ca_file") {
  StaticTlsServer tls;
  write_text(tls.dir / "hello.txt", "hello over TLS\n");
  HttpOptions options;
  options.ca_file = tls.ca_file();
  auto response = client(options).perform({"GET", tls.url("/hello.txt"), {}, {}, {}});
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "hello over TLS\n");
}

TEST_CASE("bad: a server the trust store does not know is refused") {
  StaticTlsServer tls;
  SUBCASE("bad_system_store") {
    auto response = client().perform({"GET", tls.url("/hello.txt"), {}, {}, {}});
    REQUIRE_FALSE(response);
    CHECK(response.error().code == Errc::tls);
  }
  SUBCASE("bad_other_ca") {
    TempDir other;
    write_text(other / "other.pem", TestPki::root("Other Root").cert_pem());
    HttpOptions options;
    options.ca_file = (other / "other.pem").string();
    auto response = client(options).perform({"GET", tls.url("/hello.txt"), {}, {}, {}});
    REQUIRE_FALSE(response);
    CHECK(response.error().code == Errc::tls);
    CHECK_FALSE(response.error().retryable);
  }
}

TEST_CASE("bad: a certificate for another address fails hostname verification") {
  StaticTlsServer tls({"127.0.0.2"});
  HttpOptions options;
  options.ca_file = (tls.dir / "root.pem").string();
  auto response = client(options).perform({"GET", tls.url("/hello.txt"), {}, {}, {}});
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::tls);
}

TEST_CASE("requests carry method, headers, body and a certkeeper user agent") {
  ScriptedHttpServer server([](const std::string&) {
    return http_response("201 Created",
                         "Location: https://ca.example/order/1\r\nLink: <https://a>;rel=\"up\"\r\n"
                         "link: <https://b>;rel=\"alternate\"\r\n",
                         "{}");
  });
  HttpRequest request{"POST",
                      server.url("/new-order"),
                      {{"Content-Type", "application/jose+json"}},
                      "{\"payload\":\"x\"}",
                      {}};
  auto response = client().perform(request);
  REQUIRE(response);
  CHECK(response->status == 201);
  CHECK(response->header("location").value() == "https://ca.example/order/1");
  CHECK(response->header_values("LINK").size() == 2);
  CHECK_FALSE(response->header("Retry-After"));
  CHECK(server.last_request().starts_with("POST /new-order HTTP/1.1\r\n"));
  CHECK(server.last_request().find("User-Agent: certkeeper/") != std::string::npos);
  CHECK(server.last_request().find("Content-Type: application/jose+json") != std::string::npos);
}

TEST_CASE("an HTTP error status is a response, not a transport error") {
  ScriptedHttpServer server([](const std::string&) {
    return http_response("503 Service Unavailable", "Retry-After: 120\r\n", "busy");
  });
  auto response = client().perform({"GET", server.url("/"), {}, {}, {}});
  REQUIRE(response);
  CHECK(response->status == 503);
  CHECK(response->header("retry-after").value() == "120");
}

TEST_CASE("bad: a body over the size limit is refused") {
  ScriptedHttpServer server(
      [](const std::string&) { return http_response("200 OK", "", std::string(70'000, 'x')); });
  HttpOptions options;
  options.max_response_bytes = 64 * 1024;
  auto response = client(options).perform({"GET", server.url("/huge"), {}, {}, {}});
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::too_large);
}

TEST_CASE("bad: a body over the limit without Content-Length is refused too") {
  ScriptedHttpServer server([](const std::string&) {
    return "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(70'000, 'x');
  });
  HttpOptions options;
  options.max_response_bytes = 64 * 1024;
  auto response = client(options).perform({"GET", server.url("/stream"), {}, {}, {}});
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::too_large);
}

TEST_CASE("bad: a server that never answers hits the timeout") {
  ScriptedHttpServer silent([](const std::string&) { return std::string(); });
  HttpRequest request{"GET", silent.url("/"), {}, {}, 300ms};
  auto response = client().perform(request);
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::timeout);
  CHECK(response.error().retryable);
}

TEST_CASE("a stop request cancels the transfer") {
  ScriptedHttpServer silent([](const std::string&) { return std::string(); });
  std::stop_source stop;
  stop.request_stop();
  auto response = client().perform({"GET", silent.url("/"), {}, {}, {}}, stop.get_token());
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::cancelled);
}

TEST_CASE("bad: only http and https URLs are allowed") {
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/"}) {
    CAPTURE(url);
    auto response = client().perform({"GET", url, {}, {}, {}});
    REQUIRE_FALSE(response);
    CHECK(response.error().code == Errc::invalid_argument);
  }
}

TEST_CASE("a refused connection is a retryable network error") {
  int port = free_port();
  auto response =
      client().perform({"GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, {}, {}});
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::network);
  CHECK(response.error().retryable);
}

TEST_CASE("libcurl: a version without CURLOPT_PROTOCOLS_STR is refused as unsupported, by name") {
  CHECK(curl_version_usable(0x075500, "7.85.0"));
  CHECK(curl_version_usable(0x075800, "7.88.1"));
  auto old = curl_version_usable(0x074a00, "7.74.0");
  REQUIRE_FALSE(old);
  CHECK(old.error().code == Errc::unsupported);
  CHECK_FALSE(old.error().retryable);
  CHECK(old.error().message.find("7.74.0") != std::string::npos);
  CHECK(old.error().message.find("7.85.0") != std::string::npos);
}

// Clients end, their connections do not: the thread's next client to the same
// server, with the same trust, goes on over the same TLS connection (nginx
// logs its serial number). A client that trusts another CA, or the system
// store, never rides a connection verified for another trust: it is refused.
TEST_CASE("a thread's next client reuses the connection its last one left, with the same trust") {
  TempDir dir;
  const Issued root = TestPki::root("Reuse Root");
  const Issued leaf = loopback_server_certificate(root, "localhost");
  write_text(dir / "server.pem", leaf.cert_pem());
  write_text(dir / "server.key", leaf.key_pem(), 0600);
  write_text(dir / "root.pem", root.cert_pem());
  write_text(dir / "other.pem", TestPki::root("Other Root").cert_pem());
  std::filesystem::create_directories(dir / "www");
  std::filesystem::permissions(dir.path(),
                               std::filesystem::perms(0755));  // nginx's workers read it
  write_text(dir / "www/hello.txt", "hello\n");
  const auto log = dir / "connections.log";
  auto nginx = start_nginx(dir / "nginx", [&](int port) {
    return "  log_format serial '$connection';\n  server {\n    listen 127.0.0.1:" +
           std::to_string(port) + " ssl;\n    ssl_certificate " + (dir / "server.pem").string() +
           ";\n    ssl_certificate_key " + (dir / "server.key").string() + ";\n    root " +
           (dir / "www").string() + ";\n    access_log " + log.string() + " serial;\n  }\n";
  });
  const std::string url = "https://127.0.0.1:" + std::to_string(nginx.port) + "/hello.txt";
  auto get = [&](const std::string& ca_file) {
    HttpOptions options;
    options.ca_file = ca_file;
    return client(options).perform({"GET", url, {}, {}, {}});
  };
  for (int i = 0; i < 2; ++i) {
    auto response = get((dir / "root.pem").string());
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  auto other = get((dir / "other.pem").string());
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Errc::tls);
  auto system = get("");
  REQUIRE_FALSE(system);
  CHECK(system.error().code == Errc::tls);
  // nginx logs a request just after answering it.
  std::string serials;
  for (int i = 0; i < 100 && std::ranges::count(serials, '\n') < 2; ++i) {
    std::this_thread::sleep_for(50ms);
    serials = std::filesystem::exists(log) ? read_text(log) : "";
  }
  REQUIRE(std::ranges::count(serials, '\n') == 2);
  const auto first_line = serials.substr(0, serials.find('\n'));
  CHECK(serials == first_line + "\n" + first_line + "\n");
}

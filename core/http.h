#pragma once
// A small HTTP(S) client over libcurl for ACME, OCSP, CRL and webhook traffic.
//
// Peer verification is always on: there is deliberately no option to turn it
// off. A private CA is trusted by naming its certificate in `ca_file`. Every
// request is bounded by a connect timeout, a total timeout and a response size
// limit, and can be cancelled through a std::stop_token.
//
// One HttpClient owns one libcurl handle and reuses its connections; it is not
// thread-safe. Give each job (thread) its own client.

#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace ck {

struct HttpOptions {
  std::string ca_file;  // PEM bundle to trust instead of the system store; "" = system store
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{30'000};  // whole request, unless the request overrides it
  std::size_t max_response_bytes = 8u << 20;  // body limit
  std::size_t max_header_bytes = 64u << 10;
  std::string user_agent;         // "" = "certkeeper/<version>"
  bool follow_redirects = false;  // ACME must see Location itself; CRL fetches may follow
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;
  std::optional<std::chrono::milliseconds> timeout;  // overrides HttpOptions::timeout
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;  // of the final response, in order received
  std::string body;

  // First header of that name (case-insensitive), if any.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
  // Every header of that name, e.g. all Link headers.
  [[nodiscard]] std::vector<std::string> header_values(std::string_view name) const;
};

[[nodiscard]] std::string default_user_agent();

// Whether a libcurl of this version (curl_version_info's version_num and text)
// can serve certkeeper; a missing or too old one is an `unsupported` error
// naming what was found. Checked when the library is first loaded.
[[nodiscard]] Status curl_version_usable(unsigned version_num, std::string_view version);

class HttpClient {
 public:
  [[nodiscard]] static Result<HttpClient> create(HttpOptions options);
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  ~HttpClient();

  // Performs one request. Any HTTP status is a successful Result; errors are
  // transport failures: Errc::network/timeout (retryable), tls, too_large,
  // cancelled, invalid_argument (bad URL or scheme).
  [[nodiscard]] Result<HttpResponse> perform(const HttpRequest& request, std::stop_token stop = {});

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ck

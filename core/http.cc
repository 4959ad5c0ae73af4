#include "core/http.h"

#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <mutex>

#include "core/version.h"

namespace ck {
namespace {

// libcurl is loaded on first use rather than linked: Debian's build drags in
// 25 more libraries (GnuTLS, Kerberos, LDAP, SSH, RTMP ...) whose loading costs
// every process about 5 ms and 4 MiB, and most commands (verify, probe, list,
// show) never speak HTTP. The functions certkeeper calls are looked up once and
// kept for the life of the process; the library is never unloaded.
struct CurlApi {
  decltype(&curl_global_init) global_init;
  decltype(&curl_version_info) version_info;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_reset) easy_reset;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
};

constexpr const char* kCurlLibrary = "libcurl.so.4";
// CURLOPT_PROTOCOLS_STR, which keeps every transfer to http and https, came in 7.85.0.
constexpr unsigned kMinimumCurl = 0x075500;
constexpr const char* kMinimumCurlText = "7.85.0";

template <typename Fn>
bool bind_symbol(void* library, const char* name, Fn& out, std::string& error) {
  out = reinterpret_cast<Fn>(dlsym(library, name));
  if (out == nullptr && error.empty()) {
    error = std::string(kCurlLibrary) + " has no " + name;
  }
  return out != nullptr;
}

}  // namespace

Status curl_version_usable(unsigned version_num, std::string_view version) {
  if (version_num < kMinimumCurl) {
    return fail(Errc::unsupported, "libcurl " + std::string(version) +
                                       " is too old: certkeeper needs " + kMinimumCurlText +
                                       " or newer (CURLOPT_PROTOCOLS_STR)");
  }
  return {};
}

namespace {

Result<CurlApi> load_curl() {
  void* library = dlopen(kCurlLibrary, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    return fail(Errc::unsupported, std::string("cannot load ") + kCurlLibrary +
                                       " (install libcurl4 " + kMinimumCurlText +
                                       " or newer): " + (why ? why : "unknown error"));
  }
  CurlApi api{};
  std::string error;
  bind_symbol(library, "curl_global_init", api.global_init, error);
  bind_symbol(library, "curl_version_info", api.version_info, error);
  bind_symbol(library, "curl_easy_init", api.easy_init, error);
  bind_symbol(library, "curl_easy_cleanup", api.easy_cleanup, error);
  bind_symbol(library, "curl_easy_reset", api.easy_reset, error);
  bind_symbol(library, "curl_easy_setopt", api.easy_setopt, error);
  bind_symbol(library, "curl_easy_perform", api.easy_perform, error);
  bind_symbol(library, "curl_easy_getinfo", api.easy_getinfo, error);
  bind_symbol(library, "curl_easy_strerror", api.easy_strerror, error);
  bind_symbol(library, "curl_slist_append", api.slist_append, error);
  bind_symbol(library, "curl_slist_free_all", api.slist_free_all, error);
  if (!error.empty()) {
    return fail(Errc::unsupported, kCurlLibrary + std::string(": ") + error);
  }
  const curl_version_info_data* found = api.version_info(CURLVERSION_NOW);
  CK_TRY_STATUS(curl_version_usable(found ? found->version_num : 0,
                                    found && found->version ? found->version : "unknown"));
  if (CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    return fail(Errc::internal, std::string("curl_global_init: ") + api.easy_strerror(rc));
  }
  return api;
}

// The process-wide libcurl, loaded and initialised once (thread-safe).
const Result<CurlApi>& curl_api() {
  static const Result<CurlApi> api = load_curl();
  return api;
}

struct CurlDeleter {
  decltype(&curl_easy_cleanup) cleanup = nullptr;
  void operator()(CURL* p) const noexcept { cleanup(p); }
};
struct SlistDeleter {
  decltype(&curl_slist_free_all) free_all = nullptr;
  void operator()(curl_slist* p) const noexcept { free_all(p); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using CurlSlist = std::unique_ptr<curl_slist, SlistDeleter>;

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// A client's easy handle outlives it, kept by the thread that let it go, so
// that the thread's next client reuses its live connections and TLS sessions:
// a daemon worker's next job at the same CA skips the TCP and TLS handshakes.
// curl_easy_reset() before each request clears every option, and libcurl
// reuses a connection only for a request of the same host, port and TLS
// settings (CA file, verification) as the one that made it. At most
// kIdleHandles per thread, each with kIdleConnections open at most; one idle
// longer than kIdleFor is closed when the thread next asks for one.
constexpr std::size_t kIdleHandles = 2;
constexpr std::size_t kIdleConnections = 2;  // kept open by each handle
constexpr std::chrono::seconds kIdleFor{60};

struct IdleHandle {
  CurlHandle handle;
  std::chrono::steady_clock::time_point since;
};

std::vector<IdleHandle>& idle_handles() {
  thread_local std::vector<IdleHandle> idle;
  return idle;
}

CurlHandle take_handle(const CurlApi& api) {
  auto& idle = idle_handles();
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(idle, [&](const IdleHandle& h) { return now - h.since > kIdleFor; });
  if (idle.empty()) {
    return CurlHandle(api.easy_init(), CurlDeleter{api.easy_cleanup});
  }
  CurlHandle handle = std::move(idle.back().handle);
  idle.pop_back();
  return handle;
}

void keep_handle(CurlHandle handle) {
  auto& idle = idle_handles();
  if (handle && idle.size() < kIdleHandles) {
    idle.push_back({std::move(handle), std::chrono::steady_clock::now()});
  }
}

// State shared with libcurl's callbacks during one transfer.
struct Transfer {
  HttpResponse response;
  std::size_t max_body = 0;
  std::size_t max_headers = 0;
  std::size_t header_bytes = 0;
  bool too_large = false;
  std::stop_token stop;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->response.body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;  // makes libcurl fail with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->header_bytes += n;
  if (t->header_bytes > t->max_headers) {
    t->too_large = true;
    return 0;
  }
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response (after 100-continue or a redirect)
    return n;
  }
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t->response.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
  }
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->stop.stop_requested() ? 1 : 0;
}

Error transfer_error(const CurlApi& api, CURLcode code, const Transfer& t, const HttpRequest& req,
                     const char* detail) {
  std::string message = api.easy_strerror(code);
  if (detail[0] != '\0') {
    message += std::string(": ") + detail;
  }
  std::string context = req.method + " " + req.url;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return Error{Errc::timeout, message, context, true};
    case CURLE_ABORTED_BY_CALLBACK: return Error{Errc::cancelled, "cancelled", context, false};
    case CURLE_WRITE_ERROR:
      if (t.too_large) {
        return Error{Errc::too_large, "response exceeds the size limit", context, false};
      }
      return Error{Errc::network, message, context, true};
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return Error{Errc::invalid_argument, message, context, false};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM: return Error{Errc::tls, message, context, false};
    case CURLE_SSL_CONNECT_ERROR: return Error{Errc::tls, message, context, true};
    default: return Error{Errc::network, message, context, true};
  }
}

}  // namespace

std::string default_user_agent() {
  std::string agent = std::string("certkeeper/") + kVersion;
  if (const auto& api = curl_api()) {
    agent += std::string(" (libcurl/") + api->version_info(CURLVERSION_NOW)->version + ")";
  }
  return agent;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::header_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) {
      out.push_back(value);
    }
  }
  return out;
}

struct HttpClient::Impl {
  const CurlApi& api;
  HttpOptions options;
  CurlHandle curl;

  ~Impl() { keep_handle(std::move(curl)); }

  // Sets every option for one request. Verification is forced on every time.
  CURLcode configure(const HttpRequest& req, Transfer& t, curl_slist* headers, char* errbuf) {
    CURL* h = curl.get();
    auto timeout = req.timeout.value_or(options.timeout);
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption opt, auto value) {
      if (rc == CURLE_OK) {
        rc = api.easy_setopt(h, opt, value);
      }
    };
    set(CURLOPT_URL, req.url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options.ca_file.empty()) {
      set(CURLOPT_CAINFO, options.ca_file.c_str());
    }
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_MAXCONNECTS, static_cast<long>(kIdleConnections));
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    set(CURLOPT_USERAGENT, options.user_agent.c_str());
    set(CURLOPT_FOLLOWLOCATION, options.follow_redirects ? 1L : 0L);
    set(CURLOPT_MAXREDIRS, 5L);
    set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_response_bytes));
    set(CURLOPT_ERRORBUFFER, errbuf);
    set(CURLOPT_WRITEFUNCTION, on_body);
    set(CURLOPT_WRITEDATA, &t);
    set(CURLOPT_HEADERFUNCTION, on_header);
    set(CURLOPT_HEADERDATA, &t);
    set(CURLOPT_NOPROGRESS, 0L);
    set(CURLOPT_XFERINFOFUNCTION, on_progress);
    set(CURLOPT_XFERINFODATA, &t);
    set(CURLOPT_HTTPHEADER, headers);
    if (req.method == "POST" || !req.body.empty()) {
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      set(CURLOPT_POSTFIELDS, req.body.data());
    }
    if (req.method == "HEAD") {
      set(CURLOPT_NOBODY, 1L);
    } else if (req.method != "GET" && req.method != "POST") {
      set(CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    return rc;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

Result<HttpClient> HttpClient::create(HttpOptions options) {
  const auto& api = curl_api();
  if (!api) {
    return std::unexpected(api.error());
  }
  if (options.user_agent.empty()) {
    options.user_agent = default_user_agent();
  }
  CurlHandle curl = take_handle(*api);
  if (!curl) {
    return fail(Errc::internal, "curl_easy_init failed");
  }
  // Built in place: Impl, which gives its handle back on destruction, does not move.
  std::unique_ptr<Impl> impl(new Impl{*api, std::move(options), std::move(curl)});
  return HttpClient(std::move(impl));
}

Result<HttpResponse> HttpClient::perform(const HttpRequest& request, std::stop_token stop) {
  const CurlApi& api = impl_->api;
  Transfer t;
  t.max_body = impl_->options.max_response_bytes;
  t.max_headers = impl_->options.max_header_bytes;
  t.stop = std::move(stop);
  CurlSlist headers(nullptr, SlistDeleter{api.slist_free_all});
  for (const auto& [name, value] : request.headers) {
    std::string line = name + ": " + value;
    curl_slist* appended = api.slist_append(headers.get(), line.c_str());
    if (!appended) {
      return fail(Errc::internal, "out of memory building headers");
    }
    static_cast<void>(headers.release());
    headers.reset(appended);
  }
  char errbuf[CURL_ERROR_SIZE] = {};
  api.easy_reset(impl_->curl.get());
  if (CURLcode rc = impl_->configure(request, t, headers.get(), errbuf); rc != CURLE_OK) {
    return std::unexpected(transfer_error(api, rc, t, request, errbuf));
  }
  CURLcode rc = api.easy_perform(impl_->curl.get());
  if (rc == CURLE_FILESIZE_EXCEEDED) {
    return fail(Errc::too_large, "response exceeds the size limit",
                request.method + " " + request.url);
  }
  if (rc != CURLE_OK) {
    return std::unexpected(transfer_error(api, rc, t, request, errbuf));
  }
  api.easy_getinfo(impl_->curl.get(), CURLINFO_RESPONSE_CODE, &t.response.status);
  return std::move(t.response);
}

}  // namespace ck

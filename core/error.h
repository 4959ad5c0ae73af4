#pragma once
// The one error model of certkeeper: every fallible function returns Result<T>.
// An Error carries a stable machine-readable code (printed in JSON, never renamed),
// a human message, the context it happened in (a file, a certificate, a URL) and
// whether retrying the same operation later can help.

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ck {

// Stable codes: to_string() of these appears in JSON output. Add, never rename.
enum class Errc {
  invalid_argument,  // the caller passed something malformed
  config,            // configuration file problem
  parse,             // data could not be parsed (PEM, DER, JSON, TOML)
  not_found,
  io,       // local file system
  network,  // resolve, connect, send, receive
  tls,      // TLS handshake or peer certificate verification failed
  timeout,
  cancelled,
  protocol,      // the peer answered, but not as the protocol says
  too_large,     // a size limit was hit
  crypto,        // an OpenSSL operation failed
  key_mismatch,  // private key does not belong to the certificate
  unsupported,
  store,           // database failure
  schema_too_new,  // the inventory was written by a newer certkeeper
  internal,
  rejected,  // the peer refused the request itself: asking again, or elsewhere, cannot help
};

[[nodiscard]] std::string_view to_string(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;  // for people
  std::string context;  // what it happened to: a path, a name, a URL
  bool retryable = false;
  // When a CA said it: the ACME problem type's short name ("rateLimited",
  // "accountDoesNotExist"), so that callers act on the type, not the text.
  std::string acme_problem;
  // When the peer said when to ask again (an HTTP Retry-After).
  std::optional<std::chrono::seconds> retry_after;

  // "context: message", or the message alone when there is no context.
  [[nodiscard]] std::string describe() const;
  // Returns a copy with `outer` prepended to the context ("outer: inner").
  [[nodiscard]] Error within(std::string_view outer) const;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(Errc code, std::string message,
                                                 std::string context = {}, bool retryable = false) {
  return std::unexpected(Error{code, std::move(message), std::move(context), retryable});
}

[[nodiscard]] inline std::unexpected<Error> fail(Error error) {
  return std::unexpected(std::move(error));
}

}  // namespace ck

// CK_TRY: propagates the error of a Result-returning expression, else yields
// its value. CK_TRY_STATUS: propagates the error, discarding any value.
// Used where a chain of fallible steps would otherwise nest.
#define CK_CONCAT_INNER(a, b) a##b
#define CK_CONCAT(a, b) CK_CONCAT_INNER(a, b)

#define CK_TRY(var, expr) CK_TRY_IMPL(var, expr, CK_CONCAT(ck_try_result_, __COUNTER__))
#define CK_TRY_IMPL(var, expr, tmp)                 \
  auto tmp = (expr);                                \
  if (!tmp) {                                       \
    return std::unexpected(std::move(tmp.error())); \
  }                                                 \
  auto var = std::move(*tmp)

#define CK_TRY_STATUS(expr) CK_TRY_STATUS_IMPL(expr, CK_CONCAT(ck_try_status_, __COUNTER__))
#define CK_TRY_STATUS_IMPL(expr, tmp)                 \
  do {                                                \
    if (auto tmp = (expr); !tmp) {                    \
      return std::unexpected(std::move(tmp.error())); \
    }                                                 \
  } while (false)

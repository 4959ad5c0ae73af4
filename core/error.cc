#include "core/error.h"

namespace ck {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::config: return "config";
    case Errc::parse: return "parse";
    case Errc::not_found: return "not_found";
    case Errc::io: return "io";
    case Errc::network: return "network";
    case Errc::tls: return "tls";
    case Errc::timeout: return "timeout";
    case Errc::cancelled: return "cancelled";
    case Errc::protocol: return "protocol";
    case Errc::too_large: return "too_large";
    case Errc::crypto: return "crypto";
    case Errc::key_mismatch: return "key_mismatch";
    case Errc::unsupported: return "unsupported";
    case Errc::store: return "store";
    case Errc::schema_too_new: return "schema_too_new";
    case Errc::internal: return "internal";
    case Errc::rejected: return "rejected";
    default: return "internal";
  }
}

std::string Error::describe() const {
  if (context.empty()) {
    return message;
  }
  return context + ": " + message;
}

Error Error::within(std::string_view outer) const {
  Error copy = *this;
  copy.context = context.empty() ? std::string(outer) : std::string(outer) + ": " + context;
  return copy;
}

}  // namespace ck

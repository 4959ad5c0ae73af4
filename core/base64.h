#pragma once
// Base64 (RFC 4648 §4) and base64url (§5). base64url is written without padding,
// as JOSE and ACME require (RFC 7515 §2, RFC 8555 §6.1).

#include <string>
#include <string_view>

#include "core/error.h"

namespace ck {

[[nodiscard]] std::string base64url_encode(std::string_view bytes);
// Accepts unpadded input only; any character outside the base64url alphabet,
// padding, or an impossible length (4n+1) is a parse error.
[[nodiscard]] Result<std::string> base64url_decode(std::string_view text);

[[nodiscard]] std::string base64_encode(std::string_view bytes);
// Standard alphabet; ASCII whitespace is skipped (PEM bodies are wrapped);
// '=' padding is accepted only at the end.
[[nodiscard]] Result<std::string> base64_decode(std::string_view text);

}  // namespace ck

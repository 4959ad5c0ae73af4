#pragma once
// IP address literals and the network-order bytes certificates and ACME carry
// (4 for IPv4, 16 for IPv6): one place for inet_pton and inet_ntop.

#include <optional>
#include <string>
#include <string_view>

namespace ck {

// The 4 or 16 bytes of an IPv4 or IPv6 literal; nullopt when `text` is not one.
[[nodiscard]] std::optional<std::string> ip_address_bytes(const std::string& text);

// The text form of 4 or 16 network-order bytes; nullopt for any other length.
[[nodiscard]] std::optional<std::string> ip_address_text(std::string_view bytes);

// Whether 4 or 16 such bytes are a loopback address: 127.0.0.0/8, ::1, or
// an IPv4-mapped 127.x.y.z.
[[nodiscard]] bool is_loopback(std::string_view bytes);

}  // namespace ck

#include "core/ip_address.h"

#include <arpa/inet.h>

namespace ck {

std::optional<std::string> ip_address_bytes(const std::string& text) {
  unsigned char bytes[16];
  if (::inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    return std::string(reinterpret_cast<const char*>(bytes), 4);
  }
  if (::inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
    return std::string(reinterpret_cast<const char*>(bytes), 16);
  }
  return std::nullopt;
}

std::optional<std::string> ip_address_text(std::string_view bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  const int family = bytes.size() == 4 ? AF_INET : bytes.size() == 16 ? AF_INET6 : AF_UNSPEC;
  if (family == AF_UNSPEC || !::inet_ntop(family, bytes.data(), text, sizeof text)) {
    return std::nullopt;
  }
  return std::string(text);
}

bool is_loopback(std::string_view bytes) {
  static constexpr std::string_view kV6Loopback("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
  static constexpr std::string_view kV4Mapped("\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
  if (bytes.size() == 16 && bytes.starts_with(kV4Mapped)) {
    bytes.remove_prefix(12);
  }
  return (bytes.size() == 4 && bytes[0] == 127) || bytes == kV6Loopback;
}

}  // namespace ck

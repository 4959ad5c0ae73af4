#include "core/base64.h"

#include <array>
#include <cstdint>

namespace ck {
namespace {

constexpr std::string_view kStd =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t n =
        (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) | std::uint8_t(in[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t n = std::uint8_t(in[i]) << 16;
    if (rest == 2) {
      n |= std::uint8_t(in[i + 1]) << 8;
    }
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    if (rest == 2) {
      out += alphabet[(n >> 6) & 63];
    }
    if (pad) {
      out.append(3 - rest, '=');
    }
  }
  return out;
}

std::array<std::int8_t, 256> reverse_table(std::string_view alphabet) {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<std::uint8_t>(alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

// Decodes 6-bit symbols; `skip_space` and `allow_pad` select the flavour.
Result<std::string> decode(std::string_view in, std::string_view alphabet, bool skip_space,
                           bool allow_pad) {
  static const auto kStdTable = reverse_table(kStd);
  static const auto kUrlTable = reverse_table(kUrl);
  const auto& table = alphabet == kStd ? kStdTable : kUrlTable;
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t symbols = 0;
  std::size_t padding = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (skip_space && is_space(c)) {
      continue;
    }
    if (c == '=' && allow_pad) {
      ++padding;
      continue;
    }
    int v = table[static_cast<std::uint8_t>(c)];
    if (v < 0 || padding > 0) {
      return fail(Errc::parse, "invalid base64 character at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (symbols % 4 == 1) {
    return fail(Errc::parse, "truncated base64 (impossible length)");
  }
  if (padding > 0 && ((symbols + padding) % 4 != 0 || padding > 2)) {
    return fail(Errc::parse, "invalid base64 padding");
  }
  // Leftover bits must be zero in canonical encodings (RFC 4648 §3.5).
  if ((acc & ((1u << bits) - 1)) != 0) {
    return fail(Errc::parse, "non-canonical base64 (trailing bits set)");
  }
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, kUrl, false);
}

Result<std::string> base64url_decode(std::string_view text) {
  return decode(text, kUrl, false, false);
}

std::string base64_encode(std::string_view bytes) {
  return encode(bytes, kStd, true);
}

Result<std::string> base64_decode(std::string_view text) {
  return decode(text, kStd, true, true);
}

}  // namespace ck

#pragma once
// What every fuzz target shares: the input as a string_view. Each target is
// one LLVMFuzzerTestOneInput over one parser of outside input; it must never
// crash, leak or trip a sanitizer, whatever the bytes (scripts/fuzz.sh).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ck::fuzz {

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace ck::fuzz

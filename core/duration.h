#pragma once
// Durations as operators write them: a sequence of <number><unit> with units
// s, m, h, d (and w for weeks), e.g. "30d", "12h", "1d12h", "90s".

#include <chrono>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ck {

[[nodiscard]] Result<std::chrono::seconds> parse_duration(std::string_view text);
// The shortest exact spelling: 86400s -> "1d", 90000s -> "1d1h", 0 -> "0s".
[[nodiscard]] std::string format_duration(std::chrono::seconds d);

}  // namespace ck

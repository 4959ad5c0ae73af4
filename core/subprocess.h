#pragma once
// Running another program: an argv (never a shell string), its environment
// extended, its output captured and bounded, its time bounded. Used for the
// operator's programs: DNS hooks, reload commands, alert commands, sendmail.

#include <chrono>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace ck {

struct ProgramRun {
  int exit_code = -1;  // 128 + the signal when a signal ended it
  std::string output;  // stdout and stderr together, the first 64 KiB
};

// Runs `argv` with this process's environment, where each "NAME=VALUE" of
// `extra_env` replaces any NAME already set. Past `timeout`, or once `stop` is
// requested, the program is killed (SIGKILL) and the result is a timeout or
// cancelled error. A program that cannot be started is an io error naming it.
// Any exit code is a successful result: what it means is the caller's.
// `input` is its standard input (at most kMaxProgramInput bytes: it is written
// whole before the program starts); without it, /dev/null.
inline constexpr std::size_t kMaxProgramInput = 60 * 1024;
[[nodiscard]] Result<ProgramRun> run_program(const std::vector<std::string>& argv,
                                             const std::vector<std::string>& extra_env,
                                             std::chrono::milliseconds timeout,
                                             std::stop_token stop = {},
                                             std::string_view input = {});

}  // namespace ck

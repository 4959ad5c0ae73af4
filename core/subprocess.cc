#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace ck {
namespace {

constexpr std::size_t kMaxOutput = 64 * 1024;

std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    const bool replaced = std::ranges::any_of(extra, [&](const std::string& x) {
      return x.size() > name.size() && x.compare(0, name.size(), name) == 0 &&
             x[name.size()] == '=';
    });
    if (!replaced) {
      env.emplace_back(entry);
    }
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// The spawn's file actions, freed on every path out.
struct FileActions {
  posix_spawn_file_actions_t actions{};
  FileActions() { posix_spawn_file_actions_init(&actions); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

// The program leads a process group of its own, so that a timeout kills what
// it started too (a reload script's `sleep`, a hook's curl), not only itself.
struct OwnProcessGroup {
  posix_spawnattr_t attributes{};
  OwnProcessGroup() {
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
  }
  ~OwnProcessGroup() { posix_spawnattr_destroy(&attributes); }
  OwnProcessGroup(const OwnProcessGroup&) = delete;
  OwnProcessGroup& operator=(const OwnProcessGroup&) = delete;
};

std::string describe_wait(std::chrono::milliseconds timeout) {
  return timeout < std::chrono::seconds(1) ? std::to_string(timeout.count()) + " ms"
                                           : std::to_string(timeout.count() / 1000) + " s";
}

// A pipe holding all of `input`, its write end closed: the program reads it
// as its standard input. Written before the program starts, so it must fit in
// the pipe (64 KiB on Linux).
Result<int> input_pipe(std::string_view input) {
  if (input.size() > kMaxProgramInput) {
    return fail(Errc::too_large,
                "standard input over " + std::to_string(kMaxProgramInput) + " bytes");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail(Errc::io, std::string("pipe: ") + std::strerror(errno));
  }
  // Never blocks: a pipe made small by the per-user limit is an error, not a hang.
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  std::size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = ::write(fds[1], input.data() + written, input.size() - written);
    if (n <= 0) {
      const int error = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      return fail(error == EAGAIN ? Errc::too_large : Errc::io,
                  std::string("standard input: ") + std::strerror(error));
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fds[1]);
  return fds[0];
}

int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

Result<ProgramRun> run_program(const std::vector<std::string>& argv,
                               const std::vector<std::string>& extra_env,
                               std::chrono::milliseconds timeout, std::stop_token stop,
                               std::string_view input) {
  if (argv.empty()) {
    return fail(Errc::invalid_argument, "no program to run");
  }
  int stdin_fd = -1;
  if (!input.empty()) {
    CK_TRY(fd, input_pipe(input));
    stdin_fd = fd;
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    if (stdin_fd >= 0) {
      ::close(stdin_fd);
    }
    return fail(Errc::io, std::string("pipe: ") + std::strerror(errno), argv[0]);
  }
  FileActions files;
  if (stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&files.actions, stdin_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&files.actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&files.actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&files.actions, pipe_fds[1], 2);
  // Nothing else of ours: libcurl opens its sockets without close-on-exec, and
  // a hook that left a process behind would hold a CA connection open.
  posix_spawn_file_actions_addclosefrom_np(&files.actions, 3);
  std::vector<std::string> args = argv;
  std::vector<std::string> env = environment_with(extra_env);
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  pid_t pid = -1;
  OwnProcessGroup group;
  const int spawned =
      posix_spawnp(&pid, c_args[0], &files.actions, &group.attributes, c_args.data(), c_env.data());
  ::close(pipe_fds[1]);
  if (stdin_fd >= 0) {
    ::close(stdin_fd);
  }
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return fail(Errc::io, "cannot run it: " + std::string(std::strerror(spawned)), argv[0]);
  }
  ProgramRun run;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto read_output = [&](int wait_ms) {
    pollfd p{pipe_fds[0], POLLIN, 0};
    if (::poll(&p, 1, wait_ms) <= 0) {
      return false;
    }
    char buffer[4096];
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0 && run.output.size() < kMaxOutput) {
      run.output.append(buffer,
                        std::min(static_cast<std::size_t>(n), kMaxOutput - run.output.size()));
    }
    return n > 0;
  };
  int status = 0;
  // Until it exits: a program may end while something it started keeps the
  // output open, and one may close its output and go on.
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline || stop.stop_requested()) {
      ::kill(-pid, SIGKILL);  // the group: the program and what it started
      ::waitpid(pid, &status, 0);
      ::close(pipe_fds[0]);
      return stop.stop_requested()
                 ? fail(Errc::cancelled, "stopped while it ran", argv[0])
                 : fail(Errc::timeout, "did not finish within " + describe_wait(timeout), argv[0],
                        true);
    }
    read_output(50);
  }
  while (read_output(0)) {
  }
  ::close(pipe_fds[0]);
  run.exit_code = exit_code_of(status);
  return run;
}

}  // namespace ck

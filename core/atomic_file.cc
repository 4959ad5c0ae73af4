#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace ck {
namespace {

namespace fs = std::filesystem;

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  [[nodiscard]] int get() const { return fd_; }
  // Closes now, reporting the error close() may carry (deferred write errors).
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Error io_error(std::string_view what, const fs::path& path, int err) {
  return Error{Errc::io, std::string(what) + ": " + errno_text(err), path.string(), false};
}

fs::path parent_or_dot(const fs::path& path) {
  fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

std::string random_suffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 12; ++i) {
    out += kChars[rng() % (sizeof kChars - 1)];
  }
  return out;
}

fs::path temp_path_for(const fs::path& path) {
  return parent_or_dot(path) / ("." + path.filename().string() + ".tmp-" + random_suffix());
}

// Whether `name` is one of temp_path_for's: "." NAME ".tmp-" and 12 of kChars.
bool is_temporary_name(const std::string& name) {
  const auto marker = name.rfind(".tmp-");
  return name.starts_with('.') && marker != std::string::npos && marker > 1 &&
         name.size() == marker + 5 + 12 &&
         std::all_of(name.begin() + static_cast<long>(marker) + 5, name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

Status write_all(int fd, std::string_view content, const fs::path& path) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::unexpected(io_error("write failed", path, errno));
    }
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Everything but the rename: create, set mode/owner, write, fsync, close.
Status write_temp(const fs::path& temp, std::string_view content, const WriteOptions& options) {
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    return std::unexpected(io_error("cannot create temporary file", temp, errno));
  }
  if (::fchmod(fd.get(), options.mode) != 0) {
    return std::unexpected(io_error("cannot set file mode", temp, errno));
  }
  if (options.owner && ::fchown(fd.get(), options.owner->uid, options.owner->gid) != 0) {
    return std::unexpected(io_error("cannot set file owner", temp, errno));
  }
  CK_TRY_STATUS(write_all(fd.get(), content, temp));
  if (options.sync != WriteOptions::Sync::none && ::fsync(fd.get()) != 0) {
    return std::unexpected(io_error("fsync failed", temp, errno));
  }
  if (fd.close() != 0) {
    return std::unexpected(io_error("close failed", temp, errno));
  }
  return {};
}

}  // namespace

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns the message pointer (which may not be buf).
  return ::strerror_r(err, buf, sizeof buf);
}

Status sync_directory(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    return std::unexpected(io_error("cannot open directory", dir, errno));
  }
  if (::fsync(fd.get()) != 0) {
    return std::unexpected(io_error("fsync of directory failed", dir, errno));
  }
  return {};
}

Status write_file_atomic(const fs::path& path, std::string_view content,
                         const WriteOptions& options) {
  const fs::path temp = temp_path_for(path);
  if (auto written = write_temp(temp, content, options); !written) {
    ::unlink(temp.c_str());
    // Named by the file meant, not the temporary one the operator never sees.
    Error error = written.error();
    error.message = "not written (" + error.message + "); what was there is kept";
    error.context = path.string();
    return std::unexpected(std::move(error));
  }
  // link() fails with EEXIST instead of replacing, which is what
  // replace_existing=false needs; rename() replaces atomically otherwise.
  int rc = options.replace_existing ? ::rename(temp.c_str(), path.c_str())
                                    : ::link(temp.c_str(), path.c_str());
  int err = errno;
  if (rc != 0 || !options.replace_existing) {
    ::unlink(temp.c_str());
  }
  if (rc != 0) {
    return std::unexpected(io_error(
        err == EEXIST ? "refusing to replace existing file" : "cannot move into place", path, err));
  }
  return options.sync == WriteOptions::Sync::file_and_directory
             ? sync_directory(parent_or_dot(path))
             : Status{};
}

Status replace_symlink_atomic(const fs::path& target, const fs::path& link, bool sync_parent) {
  const fs::path temp = temp_path_for(link);
  if (::symlink(target.c_str(), temp.c_str()) != 0) {
    return std::unexpected(io_error("cannot create symlink", temp, errno));
  }
  if (::rename(temp.c_str(), link.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return std::unexpected(io_error("cannot move symlink into place", link, err));
  }
  return sync_parent ? sync_directory(parent_or_dot(link)) : Status{};
}

Result<std::string> read_file(const fs::path& path, std::size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return std::unexpected(io_error("cannot open", path, errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(io_error("cannot stat", path, errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return fail(Errc::io, "is a directory", path.string());
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::unexpected(io_error("read failed", path, errno));
    }
    if (n == 0) {
      break;
    }
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return fail(Errc::too_large, "larger than " + std::to_string(max_bytes) + " bytes",
                  path.string());
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Status make_directories(const fs::path& dir, mode_t mode) {
  std::error_code ec;  // a folder we may not look into is an error, not an exception
  if (dir.empty() || fs::is_directory(dir, ec)) {
    return {};
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return std::unexpected(io_error("cannot look at directory", dir, ec.value()));
  }
  CK_TRY_STATUS(make_directories(dir.parent_path(), mode));
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return std::unexpected(io_error("cannot create directory", dir, errno));
  }
  return {};
}

std::size_t remove_stale_temporaries(const fs::path& dir, bool recursive,
                                     std::chrono::seconds min_age) {
  std::size_t removed = 0;
  std::error_code ec;
  const auto cutoff = fs::file_time_type::clock::now() - min_age;
  auto consider = [&](const fs::directory_entry& entry) {
    std::error_code e;
    if (entry.is_symlink(e) || entry.is_regular_file(e)) {
      if (is_temporary_name(entry.path().filename().string()) &&
          fs::symlink_status(entry.path(), e).type() != fs::file_type::not_found &&
          entry.last_write_time(e) <= cutoff && fs::remove(entry.path(), e)) {
        ++removed;
      }
    }
  };
  if (recursive) {
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
      consider(entry);
    }
  } else {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      consider(entry);
    }
  }
  return removed;
}

Result<FileLock> FileLock::try_acquire(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return std::unexpected(io_error("cannot open lock file", path, errno));
  }
  FileLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      return std::unexpected(io_error("cannot lock", path, err));
    }
    char holder[32] = {};
    const ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
    const std::string pid = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "";
    return fail(Errc::io, "held by another process" + (pid.empty() ? "" : " (pid " + pid + ")"),
                path.string());
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return std::unexpected(io_error("cannot write lock file", path, errno));
  }
  return lock;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    ::close(fd_);  // and with it the lock
  }
}

}  // namespace ck

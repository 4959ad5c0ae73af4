#pragma once
// Crash-safe file replacement. The new content goes to a temporary file in the
// same directory, gets its mode and owner, is fsynced, renamed over the target,
// and the directory is fsynced. On any failure the temporary file is removed and
// the previous file (if any) is untouched: readers see the old or the new
// content, never a mix, and a crash never leaves a half-written file behind.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace ck {

struct FileOwner {
  uid_t uid;
  gid_t gid;
};

struct WriteOptions {
  mode_t mode = 0644;
  std::optional<FileOwner> owner;  // unchanged (the writer's) when empty
  // When false, fail with Errc::io if the target already exists (used for keys:
  // an existing private key is never replaced by accident).
  bool replace_existing = true;
  // How much of the write a power failure spares once the call has returned.
  enum class Sync {
    file_and_directory,  // the content and the name
    file,                // the content; the caller syncs the directory once after a batch
    none,                // neither: for what a crash may lose (a challenge token, asked for again)
  } sync = Sync::file_and_directory;
};

// Removes the temporary files (".NAME.tmp-XXXXXXXXXXXX") that a process killed
// mid-write left in `dir` and, with `recursive`, below it; only those older
// than `min_age`, so that a write in flight elsewhere is left alone. Returns
// how many went; a folder that does not exist has none.
std::size_t remove_stale_temporaries(const std::filesystem::path& dir, bool recursive,
                                     std::chrono::seconds min_age);

[[nodiscard]] Status write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                       const WriteOptions& options = {});

// Points `link` at `target` by creating a fresh symlink and renaming it over
// `link`, so a reader always sees either the old or the new target. Without
// `sync_parent`, the caller syncs the link's directory after a batch.
[[nodiscard]] Status replace_symlink_atomic(const std::filesystem::path& target,
                                            const std::filesystem::path& link,
                                            bool sync_parent = true);

// Reads a whole file, refusing anything larger than `max_bytes`.
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path,
                                            std::size_t max_bytes = 64u << 20);

// Creates `dir` and its parents with `mode` (for those it creates).
[[nodiscard]] Status make_directories(const std::filesystem::path& dir, mode_t mode);

// fsync()s a directory so a rename or creation inside it is durable.
[[nodiscard]] Status sync_directory(const std::filesystem::path& dir);

// An exclusive lock on a file (flock), held while the object lives and let go
// by the kernel when the process dies, so a crash never leaves it held. The
// file records the holder's pid, for the message of the one turned away.
class FileLock {
 public:
  // Takes the lock without waiting: an error naming the holder when another
  // process (or another FileLock in this one) has it.
  [[nodiscard]] static Result<FileLock> try_acquire(const std::filesystem::path& path);
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// strerror for errno, thread-safe.
[[nodiscard]] std::string errno_text(int err);

}  // namespace ck

#include "store/layout.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "core/atomic_file.h"

namespace ck::store {

Status validate_certificate_name(std::string_view name) {
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  bool ok = !name.empty() && name.size() <= 64 && allowed(name.front()) && name.front() != '.' &&
            name.front() != '_' && name.front() != '-';
  for (char c : name) {
    ok = ok && allowed(c);
  }
  if (!ok) {
    return fail(
        Errc::invalid_argument,
        "invalid certificate name \"" + std::string(name) +
            "\": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
  }
  return {};
}

std::string version_label(std::int64_t not_before, std::string_view sha256) {
  std::time_t t = static_cast<std::time_t>(not_before);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(stamp) + "-" + std::string(sha256.substr(0, 8));
}

namespace {

std::string user_name(uid_t uid) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
    return found->pw_name;
  }
  return "uid " + std::to_string(uid);
}

Status check_state_directory(const std::filesystem::path& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    return fail(Errc::io, std::string("cannot look at it: ") + std::strerror(errno), root.string());
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(Errc::io, "it is not a directory", root.string());
  }
  if (st.st_uid != ::geteuid()) {
    const std::string owner = user_name(st.st_uid);
    return fail(Errc::io,
                "it belongs to " + owner + ", and certkeeper runs as " + user_name(::geteuid()) +
                    ": run it as " + owner + " (sudo -u " + owner +
                    " certkeeper ...), or files written now would be unreadable to " + owner,
                root.string());
  }
  if (::access(root.c_str(), R_OK | W_OK | X_OK) != 0) {
    const int err = errno;
    return fail(Errc::io,
                err == EROFS ? "it is on a read-only file system"
                             : std::string("it is not writable: ") + std::strerror(err),
                root.string());
  }
  return {};
}

}  // namespace

Status StateLayout::prepare() const {
  CK_TRY_STATUS(make_directories(root_, 0750));
  CK_TRY_STATUS(check_state_directory(root_));
  CK_TRY_STATUS(make_directories(keys_dir(), 0700));
  return make_directories(certs_dir(), 0755);
}

StateLayout::StateLayout(const std::filesystem::path& root) {
  std::error_code ec;
  root_ = std::filesystem::absolute(root, ec).lexically_normal();
  if (ec || root.empty()) {
    root_ = root;  // prepare() says what is wrong with it
  }
}

Result<std::filesystem::path> StateLayout::install_certificate(
    std::string_view name, std::string_view version, std::string_view cert_pem,
    std::string_view chain_pem, const std::filesystem::path& key) const {
  CK_TRY_STATUS(validate_certificate_name(name));
  const auto dir = name_dir(name) / version;
  CK_TRY_STATUS(make_directories(dir, 0755));
  const std::string fullchain = std::string(cert_pem) + std::string(chain_pem);
  // The version's folder is synced once, after all its entries, and before
  // `current` makes it visible.
  const WriteOptions batched{.sync = WriteOptions::Sync::file};
  CK_TRY_STATUS(write_file_atomic(dir / "cert.pem", cert_pem, batched));
  CK_TRY_STATUS(write_file_atomic(dir / "chain.pem", chain_pem, batched));
  CK_TRY_STATUS(write_file_atomic(dir / "fullchain.pem", fullchain, batched));
  if (!key.empty()) {
    // Relative inside the state directory, so that the directory can move.
    const auto from_root = key.lexically_relative(root_);
    const bool inside = !from_root.empty() && *from_root.begin() != "..";
    CK_TRY_STATUS(replace_symlink_atomic(
        inside ? key.lexically_relative(dir).string() : key.string(), dir / "privkey.pem", false));
  }
  CK_TRY_STATUS(sync_directory(dir));
  CK_TRY_STATUS(replace_symlink_atomic(std::string(version), current(name)));
  return dir;
}

Result<FileLock> StateLayout::lock_certificate(std::string_view name) const {
  CK_TRY_STATUS(validate_certificate_name(name));
  CK_TRY_STATUS(make_directories(locks_dir(), 0700));
  auto lock = FileLock::try_acquire(locks_dir() / (std::string(name) + ".lock"));
  if (!lock && lock.error().message.starts_with("held by")) {
    return fail(Errc::io,
                "another certkeeper is issuing or renewing " + std::string(name) +
                    " right now: its lock is " + lock.error().message +
                    "; nothing was ordered, try again when it is done",
                lock.error().context);
  }
  return lock;
}

Result<std::filesystem::path> StateLayout::write_private_key(std::string_view name,
                                                             std::string_view version,
                                                             std::string_view key_pem) const {
  CK_TRY_STATUS(validate_certificate_name(name));
  CK_TRY_STATUS(make_directories(keys_dir(), 0700));
  const auto path = keys_dir() / (std::string(name) + "-" + std::string(version) + ".key");
  CK_TRY_STATUS(write_file_atomic(path, key_pem, WriteOptions{0600, std::nullopt, false}));
  return path;
}

}  // namespace ck::store

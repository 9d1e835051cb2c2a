#include "medledger/node/pin_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "json_fields.h"
#include "medledger/core/sha256.h"

namespace medledger::node {

namespace {
using core::ErrorCode;

constexpr const char* kLockFileName = ".lock";
constexpr mode_t kFileMode = 0600;

core::Error io_error(const std::string& what, const std::filesystem::path& path) {
  return core::make_error(ErrorCode::kIoError,
                          what + " " + path.string() + ": " + std::strerror(errno));
}

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;  // one owner closes it once
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

core::Result<void> write_all(int fd, const std::string& text, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("cannot write", path);
    done += static_cast<std::size_t>(n);
  }
  return core::success();
}

core::Result<void> fsync_directory(const std::filesystem::path& directory) {
  Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) return io_error("cannot fsync", directory);
  return core::success();
}

// Holds flock(LOCK_EX) on the directory's lock file for the scope.
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::filesystem::path& directory)
      : fd_(::open((directory / kLockFileName).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode)) {
    locked_ = fd_.get() >= 0 && ::flock(fd_.get(), LOCK_EX) == 0;
  }
  ~DirectoryLock() {
    if (locked_) ::flock(fd_.get(), LOCK_UN);
  }
  DirectoryLock(const DirectoryLock&) = delete;  // one owner unlocks once
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  bool locked() const { return locked_; }

 private:
  Fd fd_;
  bool locked_ = false;
};
}  // namespace

core::Result<std::unique_ptr<PinStore>> PinStore::open(std::filesystem::path directory,
                                                       PinPolicy policy) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error)
    return core::make_error(ErrorCode::kIoError,
                            "cannot create " + directory.string() + ": " + error.message());
  std::filesystem::permissions(directory, std::filesystem::perms::owner_all, error);
  if (error)
    return core::make_error(ErrorCode::kIoError,
                            "cannot restrict " + directory.string() + ": " + error.message());
  return std::unique_ptr<PinStore>(new PinStore(std::move(directory), policy));
}

std::filesystem::path PinStore::path_for(const std::string& person_id) const {
  // Hashing keeps any id a safe file name without an escaping rule.
  return directory_ / (core::hex_encode(core::sha256(core::to_bytes(person_id))) + ".pin.json");
}

core::Result<void> PinStore::put(const PinRecord& record) {
  MEDLEDGER_TRY(detail::require_identifier("a person id", record.person_id));
  const std::filesystem::path target = path_for(record.person_id);
  const std::filesystem::path temp = target.string() + ".tmp";
  {
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode));
    if (fd.get() < 0) return io_error("cannot create", temp);
    MEDLEDGER_TRY(write_all(fd.get(), record.to_json_text(), temp));
    if (::fsync(fd.get()) != 0) return io_error("cannot fsync", temp);
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) return io_error("cannot rename onto", target);
  return fsync_directory(directory_);
}

core::Result<PinRecord> PinStore::get(const std::string& person_id) const {
  const std::filesystem::path path = path_for(person_id);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) {
      return core::make_error(ErrorCode::kNotFound, "no PIN is set for person '" + person_id + "'");
    }
    return io_error("cannot read", path);
  }
  std::string text(kMaxPinRecordJson + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  auto record = PinRecord::from_json_text(text);
  if (!record) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "PIN record " + path.string() + ": " + record.error().message);
  }
  if (record->person_id != person_id) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "PIN record " + path.string() + " is not for '" + person_id + "'");
  }
  return record;
}

core::Result<void> PinStore::remove(const std::string& person_id) {
  std::lock_guard<std::mutex> guard(mutex_);
  std::error_code error;
  if (!std::filesystem::remove(path_for(person_id), error)) {
    if (error) return core::make_error(ErrorCode::kIoError, "cannot remove: " + error.message());
    return core::make_error(ErrorCode::kNotFound, "no PIN is set for person '" + person_id + "'");
  }
  return fsync_directory(directory_);
}

core::Result<void> PinStore::enrol(const std::string& person_id, const core::SecretBytes& pin,
                                   const ScryptParams& params) {
  MEDLEDGER_TRY_ASSIGN(auto record, make_pin_record(person_id, pin, params));
  return enrol_record(record);
}

core::Result<void> PinStore::enrol_record(const PinRecord& record) {
  std::lock_guard<std::mutex> guard(mutex_);
  DirectoryLock lock(directory_);
  if (!lock.locked()) return io_error("cannot lock", directory_ / kLockFileName);
  if (std::filesystem::exists(path_for(record.person_id))) {
    return core::make_error(ErrorCode::kAlreadyExists,
                            "person '" + record.person_id + "' already has a PIN");
  }
  return put(record);
}

core::Result<void> PinStore::verify(const std::string& person_id, const core::SecretBytes& pin,
                                    std::int64_t now_unix) {
  std::lock_guard<std::mutex> guard(mutex_);
  DirectoryLock lock(directory_);
  if (!lock.locked()) return io_error("cannot lock", directory_ / kLockFileName);
  MEDLEDGER_TRY_ASSIGN(auto record, get(person_id));
  PinAttempt attempt = check_pin(record, pin, now_unix, policy_);
  // The failure count is durable before anyone learns the outcome.
  const bool changed = attempt.next.failures != record.failures ||
                       attempt.next.state != record.state ||
                       attempt.next.last_failure_unix != record.last_failure_unix;
  if (changed) MEDLEDGER_TRY(put(attempt.next));
  return attempt.outcome;
}

core::Result<void> PinStore::lock(const std::string& person_id) {
  std::lock_guard<std::mutex> guard(mutex_);
  DirectoryLock lock(directory_);
  if (!lock.locked()) return io_error("cannot lock", directory_ / kLockFileName);
  MEDLEDGER_TRY_ASSIGN(auto record, get(person_id));
  if (record.state == PinState::kLocked) return core::success();
  record.state = PinState::kLocked;
  return put(record);
}

core::Result<void> PinStore::reset(const std::string& person_id, const core::SecretBytes& new_pin,
                                   const ScryptParams& params) {
  std::lock_guard<std::mutex> guard(mutex_);
  DirectoryLock lock(directory_);
  if (!lock.locked()) return io_error("cannot lock", directory_ / kLockFileName);
  MEDLEDGER_TRY_ASSIGN(auto record, get(person_id));
  MEDLEDGER_TRY_ASSIGN(auto fresh, reset_pin(record, new_pin, params));
  return put(fresh);
}

}  // namespace medledger::node

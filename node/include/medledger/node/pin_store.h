// PinStore: PIN records as files in one directory, for the CLI on a single node.
// One file per person, `<hex SHA-256(person id)>.pin.json` (mode 0600, directory
// 0700), written atomically: temp file, fsync, rename, fsync of the directory.
// verify() serialises attempts on a person (a mutex in the process, flock on the
// directory's lock file across processes) so concurrent wrong PINs all count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/node/pin_verifier.h"

namespace medledger::node {

class PinStore {
 public:
  /// Creates `directory` (0700) if missing. kIoError if it cannot.
  static core::Result<std::unique_ptr<PinStore>> open(std::filesystem::path directory,
                                                      PinPolicy policy = {});

  /// Stores `record` (replacing any earlier one) durably. kIoError on failure.
  core::Result<void> put(const PinRecord& record);

  /// The record of `person_id`. kNotFound if none; kMalformedEncoding if the file is
  /// damaged or holds another person's record.
  core::Result<PinRecord> get(const std::string& person_id) const;

  /// Removes the record. kNotFound if none.
  core::Result<void> remove(const std::string& person_id);

  /// make_pin_record then enrol_record. kAlreadyExists if the person has a record.
  core::Result<void> enrol(const std::string& person_id, const core::SecretBytes& pin,
                           const ScryptParams& params = {});
  /// Stores a record made beforehand (make_pin_record: the scrypt runs outside the
  /// store's locks). kAlreadyExists if the person has a record; kIoError.
  core::Result<void> enrol_record(const PinRecord& record);

  /// One attempt: load, check_pin at `now_unix`, store the next record, then return
  /// the outcome (ok, kPersonPinIncorrect, kPersonLocked; kNotFound, kIoError).
  core::Result<void> verify(const std::string& person_id, const core::SecretBytes& pin,
                            std::int64_t now_unix);

  /// Locks the person (state locked, as after too many wrong PINs): every later
  /// verify is kPersonLocked until an administrator reset. Used when the person's
  /// certificate is revoked. kNotFound if no record, kIoError.
  core::Result<void> lock(const std::string& person_id);

  /// Administrator reset: a new PIN, active, no failures. kNotFound if no record.
  core::Result<void> reset(const std::string& person_id, const core::SecretBytes& new_pin,
                           const ScryptParams& params = {});

  /// The file that holds (or would hold) the record of `person_id`.
  std::filesystem::path path_for(const std::string& person_id) const;

 private:
  PinStore(std::filesystem::path directory, PinPolicy policy)
      : directory_(std::move(directory)), policy_(policy) {}

  std::filesystem::path directory_;
  PinPolicy policy_;
  std::mutex mutex_;
};

}  // namespace medledger::node

// PersonDirectory: the persons enrolled at this node and where their custodial
// keys are -- one file per person, <dir>/<hex SHA-256(principal)>.json (0600):
//
//   {"cert":"<PEM>","id":"dr-1","key":{"kind":"token","id":"<hex CKA_ID>"}
//    | {"kind":"wrapped","blob":"<b64url hsm wrapped-key blob>"} | {"kind":"external"},
//    "principal":"hospital-a/dr-1","role":"doctor"}
//
// No PIN and no private key in clear: the token holds the key, or the blob is
// wrapped under the token's KEK. Written atomically (temp, fsync, rename).
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "medledger/ca/certificate.h"
#include "medledger/ca/profile.h"
#include "medledger/core/bytes.h"
#include "medledger/core/result.h"

namespace medledger::node {

struct PersonEntry {
  std::string principal;  // "<hospital>/<id>"
  std::string id;
  ca::Role role = ca::Role::kDoctor;
  std::string cert_pem;
  bool wrapped = false;  // false: token key `key_id` (empty: external key); true: `wrapped_blob`
  core::Bytes key_id;
  core::Bytes wrapped_blob;
  bool external() const { return !wrapped && key_id.empty(); }
};

/// Persons PersonDirectory::find keeps in memory; when full it starts afresh
/// (a person is a few KiB: the PEM certificate).
inline constexpr std::size_t kPersonCacheCapacity = 4096;

class PersonDirectory {
 public:
  explicit PersonDirectory(std::filesystem::path dir) : dir_(std::move(dir)) {}

  /// Stores a new person. kAlreadyExists if the principal has a file; kIoError.
  /// Thread-safe (the check and the write are one step); reads need no lock
  /// because files are replaced atomically and never rewritten.
  core::Result<void> add(const PersonEntry& person);
  /// kNotFound if not enrolled here; kConfigInvalid if the file is damaged.
  /// Thread-safe. A person found once is kept in memory (files are never
  /// rewritten: the entry cannot change), so the hot path reads no file; absence
  /// is not kept (another process may enrol). Cost: a map lookup, or a file read
  /// and JSON parse the first time.
  core::Result<PersonEntry> find(std::string_view principal) const;
  bool contains(std::string_view principal) const;

 private:
  std::filesystem::path path_for(std::string_view principal) const;
  core::Result<PersonEntry> load(std::string_view principal) const;
  std::filesystem::path dir_;
  std::mutex add_mutex_;
  mutable std::mutex cache_mutex_;
  mutable std::map<std::string, PersonEntry, std::less<>> cache_;  // bounded: kPersonCacheCapacity
};

}  // namespace medledger::node

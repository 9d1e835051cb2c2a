// Internal: the patient keys this node holds -- each patient's key file (every
// version, wrapped for this node's encryption key) and the cache of unwrapped
// current keys -- and the wrapping of keys for other hospitals' nodes. Used by
// records (seal, read), sharing (grant, rotate) and enrolment (first key, undo).
// Thread-safe: a key file is read-modify-write, so appends and removals go one at
// a time under file_mutex_; the cache guards itself.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/core/result.h"
#include "medledger/ledger/records_state.h"
#include "medledger/node/patient_key.h"
#include "medledger/node/patient_key_cache.h"

namespace medledger::node {

struct NodeContext;

class PatientKeyring {
 public:
  explicit PatientKeyring(const NodeContext& node) : node_(node) {}

  /// The patient's newest key (from the cache, else unwrapped in the token).
  /// kNotFound if this node holds none.
  core::Result<PatientKey> current(std::string_view patient);
  /// Every version this node holds, newest first (each unwrapped in the token).
  core::Result<std::vector<PatientKey>> all_newest_first(std::string_view patient);
  /// Appends `key` (wrapped for this node) to the patient's file; from now on the
  /// newest version (a rotation): later seals use it at once.
  core::Result<void> store(const PatientKey& key);
  /// Deletes the patient's file and cached key (a failed enrolment's undo).
  core::Result<void> forget(std::string_view patient);

  /// `keys` wrapped for every valid node-encryption certificate of `hospital_id`
  /// on the ledger, at most ledger::kMaxWrappedKeys (newest keys first).
  core::Result<std::vector<boost::json::object>> wrap_for_hospital(
      const ledger::StateView& state, std::string_view hospital_id,
      const std::vector<const PatientKey*>& keys) const;
  /// The key of `key_version` that decrypts `record` here: the cache, this node's
  /// file, the grant named by `basis` ("grant:<grantee>"), the latest rotation.
  /// kDecryptionFailed if none is wrapped for this node.
  core::Result<PatientKey> for_reading(const ledger::StateView& state,
                                       const ledger::RecordEntry& record, std::uint64_t key_version,
                                       std::string_view basis);

  PatientKeyCacheStats stats() const { return cache_.stats(); }

 private:
  const NodeContext& node_;
  std::mutex file_mutex_;
  PatientKeyCache cache_;  // unwrapped current keys: no token ECDH per seal
};

}  // namespace medledger::node

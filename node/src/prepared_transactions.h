// Internal: the grants and revocations a node built for a patient who signs on
// their own device, by tx_id, until the signature comes back (Sharing::prepare_*,
// then Sharing::submit_signed_*). The node endorses an access.grant or
// access.revoke only if it built it: the wrapped keys in it are the node's, and a
// revocation's rotated patient key waits here until its commit. In memory only
// (a restart forgets them: prepare again); each lives kPreparedLifetime, the
// contract's time window. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/node/patient_key.h"

namespace medledger::node {

class PreparedTransactions {
 public:
  struct Entry {
    std::string type;     // ledger::kTxAccessGrant or kTxAccessRevoke
    std::string patient;  // the principal whose signature it waits for
    std::int64_t expires_at_ms = 0;
    std::shared_ptr<const PatientKey> rotated_key;  // access.revoke: stored after the commit
  };

  /// Keeps `entry` under `id` (expires_at_ms set here: now + kPreparedLifetime).
  /// Expired entries are dropped first when the table is full; still full:
  /// kSessionExhausted.
  core::Result<void> add(const core::Digest& id, Entry entry, std::int64_t now_ms);
  /// The entry prepared under `id`, expired or not; nullopt if never prepared here
  /// (or dropped after expiring).
  std::optional<Entry> find(const core::Digest& id) const;

 private:
  mutable std::mutex mutex_;
  std::map<core::Digest, Entry> entries_;  // at most kMaxPreparedTransactions
};

}  // namespace medledger::node

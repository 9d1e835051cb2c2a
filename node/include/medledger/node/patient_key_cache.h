// PatientKeyCache: the unwrapped current patient key of recently active patients,
// so that sealing a record needs no token ECDH per write (docs/node.md).
//
// A deliberate secret-in-RAM trade: at most kPatientKeyCacheCapacity keys, each for
// at most kPatientKeyCacheTtl after it was unwrapped, held in SecretBytes (wiped
// when evicted, replaced or when the cache is destroyed). A rotation (revoke_access)
// stores the new version, and a key of an older version never replaces a newer one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "medledger/node/patient_key.h"

namespace medledger::node {

/// Most patient keys kept unwrapped at once (one node's concurrently active patients).
inline constexpr std::size_t kPatientKeyCacheCapacity = 256;
/// How long an unwrapped key is used before it is unwrapped from the token again.
inline constexpr std::chrono::seconds kPatientKeyCacheTtl{300};

struct PatientKeyCacheStats {
  std::size_t size = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
};

/// Thread-safe. Times come from the caller (steady clock) so tests need no sleeping.
class PatientKeyCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit PatientKeyCache(std::size_t capacity = kPatientKeyCacheCapacity,
                           Clock::duration ttl = kPatientKeyCacheTtl)
      : capacity_(capacity), ttl_(ttl) {}

  /// A copy of the patient's key if held and younger than the TTL; else nullopt
  /// (an expired entry is wiped on the way). Cost: a map lookup + a 32-byte copy.
  std::optional<PatientKey> get(std::string_view patient, Clock::time_point now);
  /// Holds a copy of `key` from `now`, unless a newer version is held. When full,
  /// expired entries go first, then the oldest. Cost: a map insert (+ an O(n) scan when full).
  void put(const PatientKey& key, Clock::time_point now);
  /// Drops (wipes) the patient's key, if held.
  void invalidate(std::string_view patient);
  PatientKeyCacheStats stats() const;

 private:
  struct Entry {
    PatientKey key;
    Clock::time_point stored;
  };
  const std::size_t capacity_;
  const Clock::duration ttl_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

}  // namespace medledger::node

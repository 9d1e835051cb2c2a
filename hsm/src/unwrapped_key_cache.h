// Internal: the pool-wide LRU of unwrapped person keys (session objects), keyed by
// SHA-256 of the wrapped blob. Thread-safe (one mutex; held for map work only,
// never across a token call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <p11-kit/pkcs11.h>

#include "medledger/core/sha256.h"

namespace medledger::hsm {

/// Hash of a SHA-256 output for unordered containers: any 8 of its bytes are
/// already uniform.
struct DigestHash {
  std::size_t operator()(const core::Digest& d) const;
};

class UnwrappedKeyCache {
 public:
  /// `bound` >= 1: entries kept before the least recently used unpinned one is evicted.
  explicit UnwrappedKeyCache(std::size_t bound);

  struct Hit {
    CK_OBJECT_HANDLE object;
    std::uint64_t ticket;  // names this entry for unpin(): an entry re-made later has another
  };
  /// The cached object for `blob_id`, marked most recently used and pinned (not
  /// evicted until unpin). O(1).
  std::optional<Hit> find_and_pin(const core::Digest& blob_id);
  /// Undoes one find_and_pin; a no-op if the entry was dropped meanwhile.
  void unpin(const core::Digest& blob_id, std::uint64_t ticket);

  /// Caches `object`, unwrapped by the session in pool slot `owner`. Returns the
  /// objects evicted to stay within the bound (least recently used first, pinned
  /// ones skipped, so the bound may be exceeded by the pinned entries until they
  /// are unpinned); the caller destroys them. If the
  /// blob is already cached (two threads missed at once), `object` itself is
  /// returned for destruction and the cached one stays.
  std::vector<CK_OBJECT_HANDLE> insert(const core::Digest& blob_id, CK_OBJECT_HANDLE object,
                                       std::size_t owner);

  /// Forgets every object made by the session in slot `owner`: it is being closed
  /// and its session objects die with it (PKCS#11), so nothing is destroyed. O(n).
  void forget_owner(std::size_t owner);
  /// Forgets one entry (its handle went stale).
  void forget(const core::Digest& blob_id);
  /// Forgets everything (the module was re-initialised: every handle is gone).
  void clear();

  std::size_t size() const;

 private:
  struct Entry {
    core::Digest blob_id;
    CK_OBJECT_HANDLE object;
    std::size_t owner;
    std::uint64_t ticket;
    int pins = 0;
  };
  using Order = std::list<Entry>;  // most recently used first

  const std::size_t bound_;
  mutable std::mutex mutex_;
  Order order_;
  std::unordered_map<core::Digest, Order::iterator, DigestHash> index_;
  std::uint64_t next_ticket_ = 1;
};

}  // namespace medledger::hsm

#include "unwrapped_key_cache.h"

#include <cstring>
#include <iterator>

#include "medledger/core/assert.h"

namespace medledger::hsm {

UnwrappedKeyCache::UnwrappedKeyCache(std::size_t bound) : bound_(bound) {
  MEDLEDGER_ASSERT(bound_ >= 1);
}

std::size_t DigestHash::operator()(const core::Digest& d) const {
  std::size_t h = 0;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

std::optional<UnwrappedKeyCache::Hit> UnwrappedKeyCache::find_and_pin(const core::Digest& blob_id) {
  std::lock_guard lock(mutex_);
  auto found = index_.find(blob_id);
  if (found == index_.end()) return std::nullopt;
  order_.splice(order_.begin(), order_, found->second);
  Entry& entry = *found->second;
  ++entry.pins;
  return Hit{entry.object, entry.ticket};
}

void UnwrappedKeyCache::unpin(const core::Digest& blob_id, std::uint64_t ticket) {
  std::lock_guard lock(mutex_);
  auto found = index_.find(blob_id);
  if (found == index_.end() || found->second->ticket != ticket) return;
  MEDLEDGER_ASSERT(found->second->pins > 0);
  --found->second->pins;
}

std::vector<CK_OBJECT_HANDLE> UnwrappedKeyCache::insert(const core::Digest& blob_id,
                                                        CK_OBJECT_HANDLE object,
                                                        std::size_t owner) {
  std::vector<CK_OBJECT_HANDLE> victims;
  std::lock_guard lock(mutex_);
  if (index_.count(blob_id) != 0) {
    victims.push_back(object);
    return victims;
  }
  order_.push_front(Entry{blob_id, object, owner, next_ticket_++});
  index_.emplace(blob_id, order_.begin());
  // Evict from the cold end, skipping pinned entries (at most one per lease, so the
  // walk is bounded by the number of sessions) and never the entry just made: the
  // cache may exceed its bound by the number of pinned entries until they are unpinned.
  auto it = std::prev(order_.end());
  while (order_.size() > bound_ && it != order_.begin()) {
    if (it->pins > 0) {
      --it;
      continue;
    }
    auto victim = it--;
    victims.push_back(victim->object);
    index_.erase(victim->blob_id);
    order_.erase(victim);
  }
  return victims;
}

void UnwrappedKeyCache::forget_owner(std::size_t owner) {
  std::lock_guard lock(mutex_);
  for (auto it = order_.begin(); it != order_.end();) {
    if (it->owner == owner) {
      index_.erase(it->blob_id);
      it = order_.erase(it);
    } else {
      ++it;
    }
  }
}

void UnwrappedKeyCache::forget(const core::Digest& blob_id) {
  std::lock_guard lock(mutex_);
  auto found = index_.find(blob_id);
  if (found == index_.end()) return;
  order_.erase(found->second);
  index_.erase(found);
}

void UnwrappedKeyCache::clear() {
  std::lock_guard lock(mutex_);
  order_.clear();
  index_.clear();
}

std::size_t UnwrappedKeyCache::size() const {
  std::lock_guard lock(mutex_);
  return order_.size();
}

}  // namespace medledger::hsm

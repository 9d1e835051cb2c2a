#include "medledger/node/patient_key_cache.h"

#include <algorithm>

namespace medledger::node {

std::optional<PatientKey> PatientKeyCache::get(std::string_view patient, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(patient);
  if (it != entries_.end() && now - it->second.stored >= ttl_) {
    entries_.erase(it);  // SecretBytes wipes the key
    it = entries_.end();
  }
  if (it == entries_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  const PatientKey& held = it->second.key;
  return PatientKey{held.patient_id, held.version, held.key.clone()};
}

void PatientKeyCache::put(const PatientKey& key, Clock::time_point now) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key.patient_id);
  if (it != entries_.end()) {
    if (it->second.key.version > key.version) return;  // a rotation won the race
    it->second = Entry{PatientKey{key.patient_id, key.version, key.key.clone()}, now};
    return;
  }
  if (entries_.size() >= capacity_) {
    std::erase_if(entries_, [&](const auto& e) { return now - e.second.stored >= ttl_; });
  }
  if (entries_.size() >= capacity_) {
    auto oldest = std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.stored < b.second.stored; });
    entries_.erase(oldest);
  }
  entries_.emplace(key.patient_id,
                   Entry{PatientKey{key.patient_id, key.version, key.key.clone()}, now});
}

void PatientKeyCache::invalidate(std::string_view patient) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(patient); it != entries_.end()) entries_.erase(it);
}

PatientKeyCacheStats PatientKeyCache::stats() const {
  std::lock_guard lock(mutex_);
  return PatientKeyCacheStats{entries_.size(), hits_, misses_};
}

}  // namespace medledger::node

// PreparedTransactions: grants and revocations waiting for a patient's own signature.
#include "prepared_transactions.h"

#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/node/limits.h"

namespace medledger::node {

core::Result<void> PreparedTransactions::add(const core::Digest& id, Entry entry,
                                             std::int64_t now_ms) {
  entry.expires_at_ms = now_ms + kPreparedLifetime.count();
  std::lock_guard<std::mutex> guard(mutex_);
  if (entries_.size() >= kMaxPreparedTransactions) {
    std::erase_if(entries_,
                  [now_ms](const auto& item) { return item.second.expires_at_ms <= now_ms; });
  }
  if (entries_.size() >= kMaxPreparedTransactions) {
    return core::make_error(core::ErrorCode::kSessionExhausted,
                            "too many prepared transactions wait for signatures: retry later");
  }
  entries_.insert_or_assign(id, std::move(entry));
  MEDLEDGER_ASSERT(entries_.size() <= kMaxPreparedTransactions);
  return core::success();
}

std::optional<PreparedTransactions::Entry> PreparedTransactions::find(
    const core::Digest& id) const {
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

}  // namespace medledger::node

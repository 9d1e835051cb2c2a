// A bounded memo of valid (key, digest, signature) triples. Verification is a pure
// function of the three, so answering from the memo decides exactly what
// verifying again would: every node and `ledger verify` still agree. It lets a
// signature checked once in a caller's thread (after the token made it, or when an
// external signature arrived) cost a hash, not a second verification, when the
// ledger's single writer validates the block.
#include "verified_signatures.h"

#include <array>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_set>

namespace medledger::core {
namespace detail {
namespace {

// Shards keep concurrent callers from queueing on one lock.
constexpr std::size_t kShards = 16;
constexpr std::size_t kShardCapacity = kVerifiedSignatureMemoCapacity / kShards;
static_assert(kVerifiedSignatureMemoCapacity % kShards == 0);

struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept {
    std::size_t h = 0;  // the key is a SHA-256 output: any 8 bytes are uniform
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

struct Shard {
  std::mutex mutex;
  std::unordered_set<Digest, DigestHash> known;
  std::deque<Digest> arrival;  // oldest first: what goes when the shard is full
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
};

std::array<Shard, kShards>& shards() {
  static std::array<Shard, kShards> all;  // process-wide; thread-safe initialisation
  return all;
}

Shard& shard_of(const Digest& key) { return shards()[key[sizeof(std::size_t)] % kShards]; }

}  // namespace

Digest verified_signature_key(const Digest& key_fingerprint, const Digest& digest,
                              ByteView signature) {
  Sha256 h;
  h.update(ByteView(key_fingerprint.data(), key_fingerprint.size()));
  h.update(ByteView(digest.data(), digest.size()));
  h.update(signature);
  return h.finish();
}

bool verified_signature_known(const Digest& key) {
  Shard& shard = shard_of(key);
  std::lock_guard<std::mutex> guard(shard.mutex);
  const bool known = shard.known.count(key) != 0;
  ++(known ? shard.hits : shard.misses);
  return known;
}

void remember_verified_signature(const Digest& key) {
  Shard& shard = shard_of(key);
  std::lock_guard<std::mutex> guard(shard.mutex);
  if (!shard.known.insert(key).second) return;
  shard.arrival.push_back(key);
  if (shard.arrival.size() > kShardCapacity) {
    shard.known.erase(shard.arrival.front());
    shard.arrival.pop_front();
  }
}

}  // namespace detail

VerifiedSignatureMemoStats verified_signature_memo_stats() {
  VerifiedSignatureMemoStats out;
  for (auto& shard : detail::shards()) {
    std::lock_guard<std::mutex> guard(shard.mutex);
    out.size += shard.known.size();
    out.hits += shard.hits;
    out.misses += shard.misses;
  }
  return out;
}

void clear_verified_signature_memo() {
  for (auto& shard : detail::shards()) {
    std::lock_guard<std::mutex> guard(shard.mutex);
    shard.known.clear();
    shard.arrival.clear();
    shard.hits = shard.misses = 0;
  }
}

}  // namespace medledger::core

// Process-wide caches of the records contract (records_internal.h): parsed role
// certificates by DER, and positive chain validations by (leaf, admitted-CA set,
// role). Both keep only what a miss would compute again identically, so a fresh
// process, `ledger verify` and every other node reach the same decisions.
#include <map>
#include <mutex>

#include "ledger_internal.h"
#include "medledger/core/signer.h"
#include "records_internal.h"

namespace medledger::ledger::records {

using core::ErrorCode;
using core::make_error;
using core::Result;

namespace {

/// Most parsed role certificates kept (a consortium's active doctors, patients, nodes).
constexpr std::size_t kMaxCachedRoleCertificates = 4096;
/// Most positive chain validations kept ((certificate, CA set, role) triples).
constexpr std::size_t kMaxCachedChainValidations = 4096;

/// What a positive validation showed: it held for every time inside the path's
/// common validity window (signatures, constraints and names do not depend on time).
struct ChainPass {
  std::time_t not_before = 0;  // latest notBefore on the path
  std::time_t not_after = 0;   // earliest notAfter on the path
};

}  // namespace

/// The shared chain cache (one per process; guarded by its mutex).
struct ChainCache {
  std::mutex mutex;
  std::map<core::Digest, ChainPass> passes;
  ChainCacheStats stats;
};
ChainCache& chain_cache() {
  static ChainCache cache;
  return cache;
}

namespace {

core::Digest chain_key(const core::Digest& leaf_fp, const core::Digest& anchors_digest,
                       ca::Role role) {
  core::Bytes material(leaf_fp.begin(), leaf_fp.end());
  material.insert(material.end(), anchors_digest.begin(), anchors_digest.end());
  material.push_back(static_cast<std::uint8_t>(role));
  return core::sha256(material);
}

}  // namespace

Result<ParsedRoleCertificate> parse_role_certificate(const core::Bytes& der) {
  static std::mutex mutex;
  static std::map<core::Digest, ParsedRoleCertificate> cache;
  const core::Digest key = core::sha256(der);
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_der(der));
  ParsedRoleCertificate parsed{cert, cert.public_key_spki(), core::KeyAlgorithm::kEcdsaP256,
                               std::nullopt};
  auto algorithm = core::key_algorithm_of_spki(parsed.spki);
  if (algorithm) {
    parsed.algorithm = *algorithm;
  } else {
    parsed.algorithm_error = algorithm.error();
  }
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxCachedRoleCertificates) cache.clear();
  cache.emplace(key, parsed);
  return parsed;
}

Result<void> verify_with(const Transaction& tx, std::size_t index,
                         const ParsedRoleCertificate& signer, const core::Digest& id) {
  if (signer.algorithm_error) return *signer.algorithm_error;
  return detail::verify_signature_as(tx.signatures[index], signer.algorithm, signer.spki, id);
}

core::Digest trust_anchors_digest(const ca::TrustAnchors& anchors) {
  core::Sha256 hash;
  for (const auto* group : {&anchors.roots, &anchors.intermediates}) {
    const std::uint8_t tag = group == &anchors.roots ? 'R' : 'I';
    for (const ca::Certificate& c : *group) {
      hash.update(core::ByteView(&tag, 1));
      hash.update(certificate_fingerprint(c));
    }
  }
  return hash.finish();
}

Result<void> validate_chain_cached(const ca::Certificate& leaf, const core::Digest& leaf_fp,
                                   const ca::TrustAnchors& anchors,
                                   const core::Digest& anchors_digest, std::time_t at,
                                   ca::Role role) {
  const core::Digest key = chain_key(leaf_fp, anchors_digest, role);
  {
    std::lock_guard lock(records::chain_cache().mutex);
    auto it = records::chain_cache().passes.find(key);
    // Strictly inside the window: at its edges (and outside) validate in full, so
    // the boundary semantics and the error messages are exactly OpenSSL's.
    if (it != records::chain_cache().passes.end() && it->second.not_before < at &&
        at < it->second.not_after) {
      ++records::chain_cache().stats.hits;
      return core::success();
    }
    ++records::chain_cache().stats.misses;
  }
  auto valid = ca::validate_chain(leaf, anchors, {}, at, role);
  if (!valid) return valid.error();  // failures are never cached: the next miss decides again
  ChainPass pass{valid->path.front().not_before(), valid->path.front().not_after()};
  for (const ca::Certificate& c : valid->path) {
    pass.not_before = std::max(pass.not_before, c.not_before());
    pass.not_after = std::min(pass.not_after, c.not_after());
  }
  std::lock_guard lock(records::chain_cache().mutex);
  if (records::chain_cache().passes.size() >= kMaxCachedChainValidations)
    records::chain_cache().passes.clear();
  records::chain_cache().passes[key] = pass;
  return core::success();
}

}  // namespace medledger::ledger::records

namespace medledger::ledger {

ChainCacheStats chain_cache_stats() {
  std::lock_guard lock(records::chain_cache().mutex);
  ChainCacheStats out = records::chain_cache().stats;
  out.size = records::chain_cache().passes.size();
  return out;
}

void clear_chain_cache() {
  std::lock_guard lock(records::chain_cache().mutex);
  records::chain_cache().passes.clear();
  records::chain_cache().stats = {};
}

}  // namespace medledger::ledger

// Merkle log: RFC 9162 section 2.1 hashing, roots, inclusion and consistency proofs
// over a node store the caller provides (LMDB in the ledger, memory in tests).
//
// Hashing:  leaf  = SHA-256(0x00 || leaf bytes)
//           node  = SHA-256(0x01 || left || right)
//           MTH({}) = SHA-256("")
//
// Storage: only hashes of COMPLETE (perfect) subtrees are stored, addressed by
// (level, index): level 0 holds leaf hashes, node (l, i) covers leaves
// [i * 2^l, (i + 1) * 2^l). Appending leaf n writes (0, n) and every ancestor it
// completes: 1 + (number of trailing one bits of n) writes, at most 1 + log2(n+1).
// Nodes never change once written.
//
// Read bounds (docs/merkle.md): the hash of any range [b, b + len) that RFC 9162's
// recursion visits is the fold of popcount(len) stored perfect subtrees, so
//   root_at(n)                  reads popcount(n) <= 64 nodes;
//   inclusion_proof(i, n)       reads at most ceil(log2 n) + popcount(n) nodes;
//   consistency_proof(m, n)     reads at most ceil(log2 n) + popcount(n) nodes,
// because at most one element of a proof covers an incomplete range (all others are
// single stored nodes).
// No call scans leaves; proofs at 10^7 entries read a few dozen nodes.
//
// Errors: kInvalidArgument for sizes/indices outside what the RFC defines,
// kLedgerNotFound when the reader lacks a node the size implies (the store holds a
// smaller tree than asked, or lost a node: the store decides which to report).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"

namespace medledger::ledger {

using MerkleHash = core::Digest;

/// Levels above this cannot exist: a tree holds fewer than 2^63 leaves.
inline constexpr unsigned kMaxMerkleLevel = 63;
/// Largest proof any tree can have (one hash per level, plus one for consistency).
inline constexpr std::size_t kMaxMerkleProofHashes = 2 * kMaxMerkleLevel + 2;

/// One stored node: the hash of the perfect subtree (level, index).
struct MerkleNode {
  unsigned level = 0;
  std::uint64_t index = 0;
  MerkleHash hash{};
  friend bool operator==(const MerkleNode&, const MerkleNode&) = default;
};

/// Read access to stored perfect-subtree hashes.
class MerkleNodeReader {
 public:
  virtual ~MerkleNodeReader() = default;
  /// The hash of node (level, index), or nullopt when it is not stored.
  virtual std::optional<MerkleHash> node(unsigned level, std::uint64_t index) const = 0;
};

/// Write access to the node store (one LMDB write transaction, or memory).
class MerkleNodeWriter {
 public:
  virtual ~MerkleNodeWriter() = default;
  /// Stores one node; it is never overwritten with a different hash by this module.
  virtual core::Result<void> put_node(const MerkleNode& node) = 0;
};

/// SHA-256(0x00 || leaf).
MerkleHash merkle_leaf_hash(core::ByteView leaf);
/// SHA-256(0x01 || left || right).
MerkleHash merkle_node_hash(const MerkleHash& left, const MerkleHash& right);
/// MTH of the empty tree: SHA-256 of no bytes.
MerkleHash merkle_empty_root();

/// The nodes that appending `leaf_hash` as leaf number `size_before` completes:
/// (0, size_before) first, then each newly completed ancestor bottom-up.
/// Reads the left siblings (trailing one bits of size_before); kLedgerNotFound if
/// one is missing. Writes nothing.
core::Result<std::vector<MerkleNode>> nodes_completed_by_append(const MerkleNodeReader& reader,
                                                                std::uint64_t size_before,
                                                                const MerkleHash& leaf_hash);

/// nodes_completed_by_append, then writer.put_node for each, bottom-up.
core::Result<void> append_leaf(const MerkleNodeReader& reader, MerkleNodeWriter& writer,
                               std::uint64_t size_before, const MerkleHash& leaf_hash);

/// MTH of the first `size` leaves (size 0 gives merkle_empty_root()).
/// Reads popcount(size) nodes; kLedgerNotFound if one is missing.
core::Result<MerkleHash> root_at(const MerkleNodeReader& reader, std::uint64_t size);

/// RFC 9162 2.1.3.1 PATH(index, D[size]), leaf side first.
/// kInvalidArgument unless index < size. O(log size) reads (see above).
core::Result<std::vector<MerkleHash>> inclusion_proof(const MerkleNodeReader& reader,
                                                      std::uint64_t index, std::uint64_t size);

/// RFC 9162 2.1.4.1 PROOF(old_size, D[new_size]). Empty when old_size == new_size.
/// kInvalidArgument unless 0 < old_size <= new_size. O(log new_size) reads.
core::Result<std::vector<MerkleHash>> consistency_proof(const MerkleNodeReader& reader,
                                                        std::uint64_t old_size,
                                                        std::uint64_t new_size);

/// RFC 9162 2.1.3.2: true iff `proof` shows leaf `index` with `leaf_hash` is in the
/// tree of `size` leaves whose root is `root`. False for index >= size. Pure CPU.
bool verify_inclusion(std::uint64_t index, std::uint64_t size, const MerkleHash& leaf_hash,
                      const std::vector<MerkleHash>& proof, const MerkleHash& root);

/// RFC 9162 2.1.4.2: true iff `proof` shows the tree of old_size leaves with root
/// `old_root` is a prefix of the tree of new_size leaves with root `new_root`.
/// old_size == new_size needs an empty proof and equal roots; old_size 0 is false. Pure CPU.
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const MerkleHash& old_root,
                        const MerkleHash& new_root, const std::vector<MerkleHash>& proof);

/// A whole node store in memory, with a read counter: for tests, tools and the
/// offline verifier. Not thread-safe.
class MemoryMerkleTree final : public MerkleNodeReader, public MerkleNodeWriter {
 public:
  std::optional<MerkleHash> node(unsigned level, std::uint64_t index) const override;
  core::Result<void> put_node(const MerkleNode& node) override;

  /// Appends one leaf hash (writes the completed nodes); returns the new size.
  std::uint64_t append(const MerkleHash& leaf_hash);
  std::uint64_t size() const { return size_; }
  /// Number of node() calls so far (to check the read bounds).
  std::uint64_t reads() const { return reads_; }
  void reset_reads() { reads_ = 0; }

 private:
  std::map<std::pair<unsigned, std::uint64_t>, MerkleHash> nodes_;
  std::uint64_t size_ = 0;
  mutable std::uint64_t reads_ = 0;
};

}  // namespace medledger::ledger

// RFC 9162 section 2.1 over stored perfect subtrees. See merkle.h for the layout
// and the read bounds; the recursions below follow the RFC's MTH/PATH/SUBPROOF
// definitions with (begin, size) ranges instead of copied leaf lists.
#include "medledger/ledger/merkle.h"

#include <bit>
#include <string>

#include "medledger/core/assert.h"

namespace medledger::ledger {
namespace {

constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kNodePrefix = 0x01;

using core::ErrorCode;
using core::make_error;
using core::Result;

// The largest power of two strictly smaller than n (n >= 2): RFC 9162's split point k.
std::uint64_t split_point(std::uint64_t n) {
  MEDLEDGER_ASSERT(n >= 2);
  return std::bit_floor(n - 1);
}

Result<MerkleHash> read_node(const MerkleNodeReader& reader, unsigned level, std::uint64_t index) {
  if (auto hash = reader.node(level, index)) return *hash;
  return make_error(ErrorCode::kLedgerNotFound, "Merkle node (level " + std::to_string(level) +
                                                    ", index " + std::to_string(index) +
                                                    ") is not stored");
}

// MTH of leaves [begin, begin + size). `begin` is aligned as in every range the RFC
// recursion visits (a multiple of bit_ceil(size)), so the range is the concatenation
// of popcount(size) stored perfect subtrees, largest first; MTH folds them from the right.
Result<MerkleHash> range_hash(const MerkleNodeReader& reader, std::uint64_t begin,
                              std::uint64_t size) {
  MEDLEDGER_ASSERT(size >= 1);
  MEDLEDGER_ASSERT(begin % std::bit_ceil(size) == 0);
  std::vector<MerkleHash> pieces;
  std::uint64_t offset = begin;
  for (int level = 63; level >= 0; --level) {
    const std::uint64_t piece = std::uint64_t{1} << level;
    if ((size & piece) == 0) continue;
    MEDLEDGER_TRY_ASSIGN(auto hash,
                         read_node(reader, static_cast<unsigned>(level), offset >> level));
    pieces.push_back(hash);
    offset += piece;
  }
  MerkleHash acc = pieces.back();
  for (std::size_t i = pieces.size() - 1; i-- > 0;) acc = merkle_node_hash(pieces[i], acc);
  return acc;
}

// PATH(index, D[begin : begin + size]) appended leaf side first.
Result<void> path(const MerkleNodeReader& reader, std::uint64_t index, std::uint64_t begin,
                  std::uint64_t size, std::vector<MerkleHash>& out) {
  if (size == 1) return core::success();
  const std::uint64_t k = split_point(size);
  if (index < k) {
    MEDLEDGER_TRY(path(reader, index, begin, k, out));
    MEDLEDGER_TRY_ASSIGN(auto right, range_hash(reader, begin + k, size - k));
    out.push_back(right);
  } else {
    MEDLEDGER_TRY(path(reader, index - k, begin + k, size - k, out));
    MEDLEDGER_TRY_ASSIGN(auto left, range_hash(reader, begin, k));
    out.push_back(left);
  }
  return core::success();
}

// SUBPROOF(m, D[begin : begin + size], whole_old_tree).
Result<void> subproof(const MerkleNodeReader& reader, std::uint64_t m, std::uint64_t begin,
                      std::uint64_t size, bool whole_old_tree, std::vector<MerkleHash>& out) {
  if (m == size) {
    if (whole_old_tree) return core::success();
    MEDLEDGER_TRY_ASSIGN(auto hash, range_hash(reader, begin, m));
    out.push_back(hash);
    return core::success();
  }
  const std::uint64_t k = split_point(size);
  if (m <= k) {
    MEDLEDGER_TRY(subproof(reader, m, begin, k, whole_old_tree, out));
    MEDLEDGER_TRY_ASSIGN(auto right, range_hash(reader, begin + k, size - k));
    out.push_back(right);
  } else {
    MEDLEDGER_TRY(subproof(reader, m - k, begin + k, size - k, false, out));
    MEDLEDGER_TRY_ASSIGN(auto left, range_hash(reader, begin, k));
    out.push_back(left);
  }
  return core::success();
}

}  // namespace

MerkleHash merkle_leaf_hash(core::ByteView leaf) {
  const std::uint8_t prefix = kLeafPrefix;
  core::Sha256 hasher;
  hasher.update(core::ByteView(&prefix, 1)).update(leaf);
  return hasher.finish();
}

MerkleHash merkle_node_hash(const MerkleHash& left, const MerkleHash& right) {
  const std::uint8_t prefix = kNodePrefix;
  core::Sha256 hasher;
  hasher.update(core::ByteView(&prefix, 1)).update(left).update(right);
  return hasher.finish();
}

MerkleHash merkle_empty_root() { return core::sha256(core::ByteView{}); }

Result<std::vector<MerkleNode>> nodes_completed_by_append(const MerkleNodeReader& reader,
                                                          std::uint64_t size_before,
                                                          const MerkleHash& leaf_hash) {
  MEDLEDGER_ASSERT(size_before < (std::uint64_t{1} << kMaxMerkleLevel));
  std::vector<MerkleNode> nodes;
  nodes.push_back(MerkleNode{0, size_before, leaf_hash});
  // Each trailing one bit of the new leaf's index means its subtree is a right
  // child whose left sibling is already stored: the parent is now complete.
  std::uint64_t index = size_before;
  unsigned level = 0;
  while ((index & 1) == 1) {
    MEDLEDGER_TRY_ASSIGN(auto left, read_node(reader, level, index - 1));
    const MerkleHash parent = merkle_node_hash(left, nodes.back().hash);
    ++level;
    index >>= 1;
    nodes.push_back(MerkleNode{level, index, parent});
  }
  MEDLEDGER_ASSERT(nodes.size() == 1 + static_cast<std::size_t>(std::countr_one(size_before)));
  return nodes;
}

Result<void> append_leaf(const MerkleNodeReader& reader, MerkleNodeWriter& writer,
                         std::uint64_t size_before, const MerkleHash& leaf_hash) {
  MEDLEDGER_TRY_ASSIGN(auto nodes, nodes_completed_by_append(reader, size_before, leaf_hash));
  for (const MerkleNode& node : nodes) MEDLEDGER_TRY(writer.put_node(node));
  return core::success();
}

Result<MerkleHash> root_at(const MerkleNodeReader& reader, std::uint64_t size) {
  if (size == 0) return merkle_empty_root();
  return range_hash(reader, 0, size);
}

Result<std::vector<MerkleHash>> inclusion_proof(const MerkleNodeReader& reader, std::uint64_t index,
                                                std::uint64_t size) {
  if (index >= size) {
    return make_error(ErrorCode::kInvalidArgument,
                      "inclusion proof: leaf index " + std::to_string(index) +
                          " is not below tree size " + std::to_string(size));
  }
  std::vector<MerkleHash> proof;
  MEDLEDGER_TRY(path(reader, index, 0, size, proof));
  MEDLEDGER_ASSERT(proof.size() <= kMaxMerkleProofHashes);
  return proof;
}

Result<std::vector<MerkleHash>> consistency_proof(const MerkleNodeReader& reader,
                                                  std::uint64_t old_size, std::uint64_t new_size) {
  if (old_size == 0 || old_size > new_size) {
    return make_error(ErrorCode::kInvalidArgument,
                      "consistency proof needs 0 < old size <= new size (got " +
                          std::to_string(old_size) + ", " + std::to_string(new_size) + ")");
  }
  std::vector<MerkleHash> proof;
  MEDLEDGER_TRY(subproof(reader, old_size, 0, new_size, true, proof));
  MEDLEDGER_ASSERT(proof.size() <= kMaxMerkleProofHashes);
  return proof;
}

bool verify_inclusion(std::uint64_t index, std::uint64_t size, const MerkleHash& leaf_hash,
                      const std::vector<MerkleHash>& proof, const MerkleHash& root) {
  // RFC 9162 section 2.1.3.2, step by step.
  if (index >= size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  MerkleHash r = leaf_hash;
  for (const MerkleHash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = merkle_node_hash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const MerkleHash& old_root,
                        const MerkleHash& new_root, const std::vector<MerkleHash>& proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  // RFC 9162 section 2.1.4.2, step by step.
  if (proof.empty()) return false;
  std::vector<MerkleHash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  MerkleHash fr = path.front();
  MerkleHash sr = path.front();
  for (std::size_t i = 1; i < path.size(); ++i) {
    const MerkleHash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

std::optional<MerkleHash> MemoryMerkleTree::node(unsigned level, std::uint64_t index) const {
  ++reads_;
  auto it = nodes_.find({level, index});
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

Result<void> MemoryMerkleTree::put_node(const MerkleNode& node) {
  auto [it, inserted] = nodes_.try_emplace({node.level, node.index}, node.hash);
  if (!inserted && it->second != node.hash) {
    return make_error(ErrorCode::kInternal, "Merkle node rewritten with a different hash");
  }
  return core::success();
}

std::uint64_t MemoryMerkleTree::append(const MerkleHash& leaf_hash) {
  auto written = append_leaf(*this, *this, size_, leaf_hash);
  MEDLEDGER_ASSERT(written.ok());  // memory holds every node it wrote
  return ++size_;
}

}  // namespace medledger::ledger

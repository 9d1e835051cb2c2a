// Merkle log: RFC 6962 / 9162 known answers, an exhaustive cross-check against a
// straightforward recursive implementation of the RFC's definitions, read bounds,
// and proofs that must fail.
#include "medledger/ledger/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <vector>

#include "medledger/core/bytes.h"

namespace medledger::ledger {
namespace {

using core::Bytes;

MerkleHash hash_from_hex(std::string_view hex) {
  auto bytes = core::hex_decode(hex);
  EXPECT_TRUE(bytes.ok());
  MerkleHash hash{};
  EXPECT_EQ(bytes->size(), hash.size());
  std::copy(bytes->begin(), bytes->end(), hash.begin());
  return hash;
}

std::vector<MerkleHash> hashes_from_hex(std::initializer_list<std::string_view> hexes) {
  std::vector<MerkleHash> out;
  for (auto hex : hexes) out.push_back(hash_from_hex(hex));
  return out;
}

// The 8 leaves of the Certificate Transparency reference tree (RFC 6962 test data).
std::vector<Bytes> reference_leaves() {
  std::vector<Bytes> leaves;
  for (std::string_view hex : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                               "606162636465666768696a6b6c6d6e6f"}) {
    leaves.push_back(*core::hex_decode(hex));
  }
  return leaves;
}

MemoryMerkleTree tree_of(const std::vector<Bytes>& leaves, std::size_t count) {
  MemoryMerkleTree tree;
  for (std::size_t i = 0; i < count; ++i) tree.append(merkle_leaf_hash(leaves[i]));
  return tree;
}

// --- The RFC 9162 section 2.1 definitions, written directly over leaf lists. ---

std::uint64_t ref_split(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

MerkleHash ref_mth(const std::vector<Bytes>& d, std::size_t begin, std::size_t end) {
  const std::size_t n = end - begin;
  if (n == 0) return core::sha256(core::ByteView{});
  if (n == 1) {
    Bytes input{0x00};
    input.insert(input.end(), d[begin].begin(), d[begin].end());
    return core::sha256(input);
  }
  const std::size_t k = ref_split(n);
  const MerkleHash left = ref_mth(d, begin, begin + k);
  const MerkleHash right = ref_mth(d, begin + k, end);
  Bytes input{0x01};
  input.insert(input.end(), left.begin(), left.end());
  input.insert(input.end(), right.begin(), right.end());
  return core::sha256(input);
}

std::vector<MerkleHash> ref_path(std::size_t m, const std::vector<Bytes>& d, std::size_t begin,
                                 std::size_t end) {
  const std::size_t n = end - begin;
  if (n == 1) return {};
  const std::size_t k = ref_split(n);
  std::vector<MerkleHash> out;
  if (m < k) {
    out = ref_path(m, d, begin, begin + k);
    out.push_back(ref_mth(d, begin + k, end));
  } else {
    out = ref_path(m - k, d, begin + k, end);
    out.push_back(ref_mth(d, begin, begin + k));
  }
  return out;
}

std::vector<MerkleHash> ref_subproof(std::size_t m, const std::vector<Bytes>& d, std::size_t begin,
                                     std::size_t end, bool b) {
  const std::size_t n = end - begin;
  if (m == n) {
    if (b) return {};
    return {ref_mth(d, begin, end)};
  }
  const std::size_t k = ref_split(n);
  std::vector<MerkleHash> out;
  if (m <= k) {
    out = ref_subproof(m, d, begin, begin + k, b);
    out.push_back(ref_mth(d, begin + k, end));
  } else {
    out = ref_subproof(m - k, d, begin + k, end, false);
    out.push_back(ref_mth(d, begin, begin + k));
  }
  return out;
}

// --- Known answers ---

TEST(MerkleKnownAnswers, EmptyTreeRootIsSha256OfNothing) {
  MemoryMerkleTree tree;
  auto root = root_at(tree, 0);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(core::hex_encode(*root),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(MerkleKnownAnswers, RootsOfTheRfc6962ReferenceTreeForSizes1To8) {
  const std::vector<std::string_view> roots = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  const auto leaves = reference_leaves();
  const MemoryMerkleTree tree = tree_of(leaves, leaves.size());
  for (std::size_t size = 1; size <= roots.size(); ++size) {
    auto root = root_at(tree, size);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(core::hex_encode(*root), roots[size - 1]) << "size " << size;
  }
}

TEST(MerkleKnownAnswers, InclusionProofsOfTheRfc6962ReferenceTree) {
  struct Case {
    std::uint64_t index, size;
    std::vector<MerkleHash> proof;
  };
  const std::vector<Case> cases = {
      {0, 1, {}},
      {0, 8,
       hashes_from_hex({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       hashes_from_hex({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, hashes_from_hex({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       hashes_from_hex({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  const auto leaves = reference_leaves();
  const MemoryMerkleTree tree = tree_of(leaves, leaves.size());
  for (const Case& c : cases) {
    auto proof = inclusion_proof(tree, c.index, c.size);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(*proof, c.proof) << "index " << c.index << " size " << c.size;
    EXPECT_TRUE(verify_inclusion(c.index, c.size, merkle_leaf_hash(leaves[c.index]), c.proof,
                                 *root_at(tree, c.size)));
  }
}

TEST(MerkleKnownAnswers, ConsistencyProofsOfTheRfc6962ReferenceTree) {
  struct Case {
    std::uint64_t old_size, new_size;
    std::vector<MerkleHash> proof;
  };
  const std::vector<Case> cases = {
      {1, 1, {}},
      {1, 8,
       hashes_from_hex({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       hashes_from_hex({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       hashes_from_hex({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  const auto leaves = reference_leaves();
  const MemoryMerkleTree tree = tree_of(leaves, leaves.size());
  for (const Case& c : cases) {
    auto proof = consistency_proof(tree, c.old_size, c.new_size);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(*proof, c.proof) << c.old_size << " -> " << c.new_size;
    EXPECT_TRUE(verify_consistency(c.old_size, c.new_size, *root_at(tree, c.old_size),
                                   *root_at(tree, c.new_size), c.proof));
  }
}

// --- Exhaustive agreement with the RFC definitions ---

constexpr std::size_t kExhaustiveSize = 70;

std::vector<Bytes> numbered_leaves(std::size_t count) {
  std::vector<Bytes> leaves;
  for (std::size_t i = 0; i < count; ++i)
    leaves.push_back(core::to_bytes("leaf " + std::to_string(i)));
  return leaves;
}

TEST(MerkleReference, RootsAndProofsMatchTheRfcDefinitionsForEverySizeUpTo70) {
  const auto leaves = numbered_leaves(kExhaustiveSize);
  const MemoryMerkleTree tree = tree_of(leaves, leaves.size());
  for (std::size_t n = 1; n <= kExhaustiveSize; ++n) {
    const MerkleHash root = ref_mth(leaves, 0, n);
    ASSERT_EQ(*root_at(tree, n), root) << "size " << n;
    for (std::size_t i = 0; i < n; ++i) {
      auto proof = inclusion_proof(tree, i, n);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, ref_path(i, leaves, 0, n)) << "index " << i << " size " << n;
      ASSERT_TRUE(verify_inclusion(i, n, merkle_leaf_hash(leaves[i]), *proof, root));
    }
    for (std::size_t m = 1; m <= n; ++m) {
      auto proof = consistency_proof(tree, m, n);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, ref_subproof(m, leaves, 0, n, true)) << m << " -> " << n;
      ASSERT_TRUE(verify_consistency(m, n, ref_mth(leaves, 0, m), root, *proof));
    }
  }
}

TEST(MerkleReference, AppendWritesTheLeafAndEveryNewlyCompletedAncestor) {
  MemoryMerkleTree tree;
  for (std::uint64_t n = 0; n < 100; ++n) {
    const MerkleHash leaf = merkle_leaf_hash(core::to_bytes(std::to_string(n)));
    auto nodes = nodes_completed_by_append(tree, n, leaf);
    ASSERT_TRUE(nodes.ok());
    ASSERT_EQ(nodes->size(), 1u + static_cast<std::size_t>(std::countr_one(n)));
    EXPECT_EQ(nodes->front(), (MerkleNode{0, n, leaf}));
    for (const MerkleNode& node : *nodes) {
      // Each written node covers a perfect subtree ending at the new leaf.
      EXPECT_EQ(((node.index + 1) << node.level) - 1, n);
    }
    tree.append(leaf);
  }
}

// --- Read bounds ---

TEST(MerkleReadBounds, ProofsAndRootsReadLogarithmicallyManyNodes) {
  constexpr std::size_t kSize = 3000;
  MemoryMerkleTree tree;
  for (std::size_t i = 0; i < kSize; ++i)
    tree.append(merkle_leaf_hash(core::to_bytes(std::to_string(i))));
  for (std::uint64_t n = 1; n <= kSize; n += 7) {
    const std::uint64_t bound = static_cast<std::uint64_t>(std::bit_width(n - 1)) +
                                static_cast<std::uint64_t>(std::popcount(n));
    tree.reset_reads();
    ASSERT_TRUE(root_at(tree, n).ok());
    EXPECT_LE(tree.reads(), static_cast<std::uint64_t>(std::popcount(n)));
    for (std::uint64_t i = 0; i < n; i += 13) {
      tree.reset_reads();
      ASSERT_TRUE(inclusion_proof(tree, i, n).ok());
      EXPECT_LE(tree.reads(), bound) << "inclusion " << i << " of " << n;
      tree.reset_reads();
      ASSERT_TRUE(consistency_proof(tree, i + 1, n).ok());
      EXPECT_LE(tree.reads(), bound) << "consistency " << i + 1 << " -> " << n;
    }
  }
}

// A reader that "stores" every perfect subtree of a tree of kLeaves leaves without
// holding them: it only counts reads, to check the bounds at ledger scale.
class SyntheticReader final : public MerkleNodeReader {
 public:
  explicit SyntheticReader(std::uint64_t leaves) : leaves_(leaves) {}
  std::optional<MerkleHash> node(unsigned level, std::uint64_t index) const override {
    ++reads_;
    if (level > kMaxMerkleLevel || ((index + 1) << level) > leaves_) return std::nullopt;
    return merkle_leaf_hash(core::to_bytes(std::to_string(level) + "/" + std::to_string(index)));
  }
  std::uint64_t leaves_;
  mutable std::uint64_t reads_ = 0;
};

TEST(MerkleReadBounds, ProofsAtTenMillionLeavesReadAtMostFortyEightNodes) {
  constexpr std::uint64_t kLeaves = 10'000'000;
  SyntheticReader reader(kLeaves);
  for (std::uint64_t n :
       {kLeaves, kLeaves - 1, std::uint64_t{8'388'607}, std::uint64_t{8'388'609}}) {
    for (std::uint64_t i : {std::uint64_t{0}, n / 3, n / 2, n - 2, n - 1}) {
      reader.reads_ = 0;
      ASSERT_TRUE(inclusion_proof(reader, i, n).ok());
      EXPECT_LE(reader.reads_, 48u) << i << " of " << n;
      reader.reads_ = 0;
      ASSERT_TRUE(consistency_proof(reader, i + 1, n).ok());
      EXPECT_LE(reader.reads_, 48u) << i + 1 << " -> " << n;
    }
    reader.reads_ = 0;
    ASSERT_TRUE(root_at(reader, n).ok());
    EXPECT_LE(reader.reads_, 24u);
  }
}

// --- Proofs that must fail ---

class MerkleBadProofs : public ::testing::Test {
 protected:
  void SetUp() override {
    leaves_ = numbered_leaves(37);
    tree_ = tree_of(leaves_, leaves_.size());
  }
  std::vector<Bytes> leaves_;
  MemoryMerkleTree tree_;
};

TEST_F(MerkleBadProofs, InclusionProofWithAnyFlippedByteFails) {
  const std::uint64_t index = 21, size = 37;
  const auto proof = *inclusion_proof(tree_, index, size);
  const MerkleHash root = *root_at(tree_, size);
  const MerkleHash leaf = merkle_leaf_hash(leaves_[index]);
  ASSERT_TRUE(verify_inclusion(index, size, leaf, proof, root));
  for (std::size_t element = 0; element < proof.size(); ++element) {
    for (std::size_t byte = 0; byte < core::kSha256Size; byte += 5) {
      auto bad = proof;
      bad[element][byte] ^= 0x01;
      EXPECT_FALSE(verify_inclusion(index, size, leaf, bad, root)) << element << "/" << byte;
    }
  }
  MerkleHash bad_leaf = leaf;
  bad_leaf[0] ^= 0x80;
  EXPECT_FALSE(verify_inclusion(index, size, bad_leaf, proof, root));
  MerkleHash bad_root = root;
  bad_root[31] ^= 0x01;
  EXPECT_FALSE(verify_inclusion(index, size, leaf, proof, bad_root));
}

TEST_F(MerkleBadProofs, InclusionProofWithWrongIndexSizeOrLengthFails) {
  const std::uint64_t index = 21, size = 37;
  const auto proof = *inclusion_proof(tree_, index, size);
  const MerkleHash root = *root_at(tree_, size);
  const MerkleHash leaf = merkle_leaf_hash(leaves_[index]);
  for (std::uint64_t other = 0; other < 40; ++other) {
    if (other != index) {
      EXPECT_FALSE(verify_inclusion(other, size, leaf, proof, root)) << "index " << other;
    }
  }
  // The size is bound by the (signed) root, not by the proof: every size from 33 to 64
  // gives leaf 21 the same path shape (its 32-leaf subtree plus one right sibling), so
  // only sizes that change the shape can fail on the proof alone.
  for (std::uint64_t other = 0; other < 100; ++other) {
    if (other <= 32 || other > 64) {
      EXPECT_FALSE(verify_inclusion(index, other, leaf, proof, root)) << "size " << other;
    }
  }
  auto shorter = proof;
  shorter.pop_back();
  EXPECT_FALSE(verify_inclusion(index, size, leaf, shorter, root));
  auto longer = proof;
  longer.push_back(root);
  EXPECT_FALSE(verify_inclusion(index, size, leaf, longer, root));
  EXPECT_FALSE(verify_inclusion(index, size, leaf, {}, root));
}

TEST_F(MerkleBadProofs, ConsistencyProofWithAnyFlippedByteOrWrongSizesFails) {
  const std::uint64_t old_size = 13, new_size = 37;
  const auto proof = *consistency_proof(tree_, old_size, new_size);
  const MerkleHash old_root = *root_at(tree_, old_size);
  const MerkleHash new_root = *root_at(tree_, new_size);
  ASSERT_TRUE(verify_consistency(old_size, new_size, old_root, new_root, proof));
  for (std::size_t element = 0; element < proof.size(); ++element) {
    auto bad = proof;
    bad[element][element % core::kSha256Size] ^= 0x40;
    EXPECT_FALSE(verify_consistency(old_size, new_size, old_root, new_root, bad)) << element;
  }
  for (std::uint64_t other = 1; other < 100; ++other) {
    if (other != old_size) {
      EXPECT_FALSE(verify_consistency(other, new_size, old_root, new_root, proof)) << other;
    }
    // As for inclusion, new sizes 33..64 share the proof shape; the roots bind them.
    if (other <= 32 || other > 64) {
      EXPECT_FALSE(verify_consistency(old_size, other, old_root, new_root, proof)) << other;
    }
  }
  EXPECT_FALSE(verify_consistency(old_size, new_size, new_root, new_root, proof));
  EXPECT_FALSE(verify_consistency(old_size, new_size, old_root, old_root, proof));
  EXPECT_FALSE(verify_consistency(old_size, new_size, old_root, new_root, {}));
  EXPECT_FALSE(verify_consistency(0, new_size, old_root, new_root, proof));
  EXPECT_FALSE(verify_consistency(new_size, old_size, new_root, old_root, proof));
}

TEST_F(MerkleBadProofs, EqualSizesNeedEqualRootsAndAnEmptyProof) {
  const MerkleHash root = *root_at(tree_, 20);
  EXPECT_TRUE(verify_consistency(20, 20, root, root, {}));
  EXPECT_FALSE(verify_consistency(20, 20, root, *root_at(tree_, 21), {}));
  EXPECT_FALSE(verify_consistency(20, 20, root, root, {root}));
}

TEST_F(MerkleBadProofs, OutOfRangeArgumentsAreInvalidArgument) {
  auto past_end = inclusion_proof(tree_, 37, 37);
  ASSERT_FALSE(past_end.ok());
  EXPECT_EQ(past_end.error().code, core::ErrorCode::kInvalidArgument);
  auto empty_tree = inclusion_proof(tree_, 0, 0);
  ASSERT_FALSE(empty_tree.ok());
  EXPECT_EQ(empty_tree.error().code, core::ErrorCode::kInvalidArgument);
  auto from_zero = consistency_proof(tree_, 0, 10);
  ASSERT_FALSE(from_zero.ok());
  EXPECT_EQ(from_zero.error().code, core::ErrorCode::kInvalidArgument);
  auto shrinking = consistency_proof(tree_, 11, 10);
  ASSERT_FALSE(shrinking.ok());
  EXPECT_EQ(shrinking.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(MerkleBadProofs, SizesBeyondTheStoredTreeAreNotFound) {
  auto root = root_at(tree_, 38);
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.error().code, core::ErrorCode::kLedgerNotFound);
  auto inclusion = inclusion_proof(tree_, 3, 64);
  ASSERT_FALSE(inclusion.ok());
  EXPECT_EQ(inclusion.error().code, core::ErrorCode::kLedgerNotFound);
  auto consistency = consistency_proof(tree_, 5, 40);
  ASSERT_FALSE(consistency.ok());
  EXPECT_EQ(consistency.error().code, core::ErrorCode::kLedgerNotFound);
}

TEST(MerkleMemoryTree, RewritingANodeWithADifferentHashIsRefused) {
  MemoryMerkleTree tree;
  tree.append(merkle_leaf_hash(core::to_bytes("a")));
  EXPECT_TRUE(tree.put_node(MerkleNode{0, 0, merkle_leaf_hash(core::to_bytes("a"))}).ok());
  auto rewrite = tree.put_node(MerkleNode{0, 0, merkle_leaf_hash(core::to_bytes("b"))});
  ASSERT_FALSE(rewrite.ok());
  EXPECT_EQ(rewrite.error().code, core::ErrorCode::kInternal);
}

}  // namespace
}  // namespace medledger::ledger

// RFC 9162 proof checks (ledger/merkle.h) over attacker-chosen sizes, indices and proof
// paths: inclusion proofs (receipts, GET /v1/ledger/proof) and consistency proofs
// between two checkpoints. Input: u64 index/old size, u64 size/new size, then 32-byte
// hashes: the leaf (or old root), the root (or new root), the proof path.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.h"
#include "medledger/ledger/merkle.h"

using namespace medledger;

namespace {

std::uint64_t take_u64(const std::uint8_t*& data, std::size_t& size) {
  std::uint64_t value = 0;
  const std::size_t n = size < 8 ? size : 8;
  std::memcpy(&value, data, n);
  data += n;
  size -= n;
  return value;
}

ledger::MerkleHash take_hash(const std::uint8_t*& data, std::size_t& size) {
  ledger::MerkleHash hash{};
  const std::size_t n = size < hash.size() ? size : hash.size();
  std::memcpy(hash.data(), data, n);
  data += n;
  size -= n;
  return hash;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint64_t first = take_u64(data, size);
  const std::uint64_t second = take_u64(data, size);
  const ledger::MerkleHash a = take_hash(data, size);
  const ledger::MerkleHash b = take_hash(data, size);
  std::vector<ledger::MerkleHash> proof;
  while (size > 0 && proof.size() < 80) proof.push_back(take_hash(data, size));
  (void)ledger::verify_inclusion(first, second, a, proof, b);
  (void)ledger::verify_consistency(first, second, a, b, proof);
  return 0;
}

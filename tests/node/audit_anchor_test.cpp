// The audit bundle's anchor is checkable with the bundle alone: its genesis
// transaction is proved under the anchor's Merkle root, and one of the proposer
// keys it lists (the genesis proposers) verifies the anchor's header signature.
#include <gtest/gtest.h>

#include "hospital_node_fixture.h"
#include "medledger/core/bytes.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/block.h"
#include "medledger/ledger/merkle.h"

namespace medledger::node::testing {
namespace {

using AuditAnchorTest = TwoHospitals;

core::Bytes bytes_of(const boost::json::value& text) {
  return expect_ok(core::base64url_decode(std::string(text.as_string())));
}

TEST_F(AuditAnchorTest, GenesisIsProvedAndAListedProposerKeySignedTheHeader) {
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  auto audit = expect_ok(node_a_->audit().export_bundle({"hospital-a/pat-a", {}, {}}));
  const auto& anchor = audit.bundle.at("anchor").as_object();
  auto header = expect_ok(ledger::decode_header(anchor.at("block_header").as_string()));
  ASSERT_EQ(bytes_of(anchor.at("merkle_root")),
            core::Bytes(header.merkle_root.begin(), header.merkle_root.end()));

  // The genesis transaction (sequence 0) under the anchor's root, with its outcome.
  const auto& genesis = anchor.at("genesis").as_object();
  EXPECT_EQ(genesis.at("sequence").as_int64(), 0);
  EXPECT_EQ(genesis.at("result").as_int64(), 0);
  const std::string wire(genesis.at("transaction").as_string());
  core::Bytes leaf{0, 0};  // u16be(result) ‖ wire
  leaf.insert(leaf.end(), wire.begin(), wire.end());
  std::vector<ledger::MerkleHash> proof;
  for (const auto& hash : genesis.at("inclusion_proof").as_array()) {
    auto bytes = bytes_of(hash);
    ASSERT_EQ(bytes.size(), 32u);
    ledger::MerkleHash h{};
    std::copy(bytes.begin(), bytes.end(), h.begin());
    proof.push_back(h);
  }
  EXPECT_TRUE(ledger::verify_inclusion(0, header.log_size, ledger::merkle_leaf_hash(leaf), proof,
                                       header.merkle_root));

  // The proposer keys are the genesis document's, and one of them signed the header.
  const auto& keys = anchor.at("proposer_keys").as_array();
  ASSERT_FALSE(keys.empty());
  EXPECT_NE(wire.find(std::string(keys[0].as_string())), std::string::npos);
  int signers = 0;
  for (const auto& key : keys) {
    auto spki = bytes_of(key);
    if (core::sha256(spki) != header.proposer) continue;
    EXPECT_TRUE(ledger::verify_header_signature(header, spki).ok());
    ++signers;
  }
  EXPECT_EQ(signers, 1);
}

}  // namespace
}  // namespace medledger::node::testing

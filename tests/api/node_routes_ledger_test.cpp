// Ledger and CA routes: RFC 9162 consistency proofs checked with the ledger's own
// verifier, the CA chain as PKCS#7 read back by the real `openssl pkcs7` CLI.
#include <gtest/gtest.h>

#include "medledger/ca/store.h"
#include "medledger/ledger/merkle.h"
#include "node_routes_fixture.h"

namespace medledger::api {
namespace {

class NodeLedgerRoutes : public NodeRoutes {
 protected:
  ledger::MerkleHash hash_of(const boost::json::value& text) {
    auto bytes = core::base64url_decode(std::string(text.as_string()));
    EXPECT_TRUE(bytes.ok());
    ledger::MerkleHash hash{};
    if (bytes.ok() && bytes->size() == hash.size())
      std::copy(bytes->begin(), bytes->end(), hash.begin());
    return hash;
  }
};

TEST_F(NodeLedgerRoutes, ConsistencyProofVerifiesBetweenAnOldAndTheCurrentSize) {
  serve(node_a_.get(), pool_a_);
  const std::uint64_t old_size = log_size();
  ASSERT_EQ(post("/v1/records", store_body("rec-1")).status, 201);
  ASSERT_EQ(post("/v1/records", store_body("rec-2")).status, 201);
  const std::uint64_t new_size = log_size();
  ASSERT_GT(new_size, old_size);

  auto answer = get("/v1/ledger/proofs/consistency?first=" + std::to_string(old_size), kAuditor);
  ASSERT_EQ(answer.status, 200) << answer.body;
  auto body = json_of(answer);
  EXPECT_EQ(body.at("first").as_int64(), static_cast<std::int64_t>(old_size));
  EXPECT_EQ(body.at("second").as_int64(), static_cast<std::int64_t>(new_size));
  std::vector<ledger::MerkleHash> proof;
  for (const auto& hash : body.at("proof").as_array()) proof.push_back(hash_of(hash));
  const auto first_root = hash_of(body.at("first_root"));
  const auto second_root = hash_of(body.at("second_root"));
  EXPECT_EQ(first_root, node::testing::expect_ok(ledger_->ledger().root_at(old_size)));
  EXPECT_EQ(second_root, node::testing::expect_ok(ledger_->ledger().root_at(new_size)));
  EXPECT_TRUE(ledger::verify_consistency(old_size, new_size, first_root, second_root, proof));
  // The proof is about these sizes: it does not show another old root to be a prefix.
  auto wrong_root = first_root;
  wrong_root[0] ^= 1;
  EXPECT_FALSE(ledger::verify_consistency(old_size, new_size, wrong_root, second_root, proof));
}

TEST_F(NodeLedgerRoutes, ConsistencyProofBetweenEqualSizesIsEmpty) {
  serve(node_a_.get(), pool_a_);
  const auto size = std::to_string(log_size());
  auto answer = get("/v1/ledger/proofs/consistency?first=" + size + "&second=" + size, kNode);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_TRUE(json_of(answer).at("proof").as_array().empty());
  EXPECT_EQ(json_of(answer).at("first_root"), json_of(answer).at("second_root"));
}

TEST_F(NodeLedgerRoutes, ConsistencyProofRefusesSizesOutsideTheLog) {
  serve(node_a_.get(), pool_a_);
  const std::uint64_t size = log_size();
  const std::vector<std::string> queries = {
      "first=0", "first=2&second=1", "first=1&second=" + std::to_string(size + 1),
      "",        "first=abc",        "first=1&second=-3"};
  for (const auto& query : queries) {
    auto answer = get("/v1/ledger/proofs/consistency?" + query, kAuditor);
    EXPECT_EQ(answer.status, 400) << query << ": " << answer.body;
    EXPECT_EQ(error_code_of(answer), "INVALID_ARGUMENT") << query;
  }
}

TEST_F(NodeLedgerRoutes, InclusionProofRefusesMissingMalformedAndOutOfRangeSequences) {
  serve(node_a_.get(), pool_a_);
  const std::uint64_t size = log_size();
  const std::vector<std::string> queries = {"", "sequence=abc", "sequence=-1",
                                            "sequence=" + std::to_string(size), "sequence=0&size=x",
                                            "sequence=2&size=2",
                                            // a size the log has not reached, as consistency
                                            "sequence=0&size=" + std::to_string(size + 1),
                                            "sequence=1&size=" + std::to_string(4 * size + 3)};
  for (const auto& query : queries) {
    auto answer = get("/v1/ledger/proofs/inclusion?" + query, kAuditor);
    EXPECT_EQ(answer.status, 400) << query << ": " << answer.body;
    EXPECT_EQ(error_code_of(answer), "INVALID_ARGUMENT") << query;
  }
}

TEST_F(NodeLedgerRoutes, ConsistencyProofIsNotForDoctors) {
  serve(node_a_.get(), pool_a_);
  auto answer = get("/v1/ledger/proofs/consistency?first=1", testing::kDoctor);
  EXPECT_EQ(answer.status, 403) << answer.body;
  EXPECT_EQ(error_code_of(answer), "ROLE_FORBIDDEN");
}

TEST_F(NodeLedgerRoutes, Pkcs7ChainIsDerThatOpensslPrintsAsTheCaChain) {
  serve(node_a_.get(), pool_a_);
  auto answer = get("/v1/ca/chain.p7b", testing::kPatient);
  ASSERT_EQ(answer.status, 200) << answer.body;
  ASSERT_FALSE(answer.body.empty());
  EXPECT_EQ(static_cast<unsigned char>(answer.body[0]), 0x30);  // a DER SEQUENCE, not PEM text
  const auto file = root_ / "chain.p7b";
  std::ofstream(file, std::ios::binary) << answer.body;
  auto printed = run("openssl pkcs7 -inform DER -print_certs -in '" + file.string() + "'");
  ASSERT_EQ(printed.exit, 0) << printed.output;
  const auto chain = node::testing::expect_ok(ca::CaDirectory::open(root_ / "a-ca")).chain();
  for (const auto& certificate : chain) {
    EXPECT_NE(printed.output.find(certificate.to_pem()), std::string::npos) << printed.output;
  }
  EXPECT_NE(printed.output.find("hospital-a"), std::string::npos);
}

TEST_F(NodeLedgerRoutes, Pkcs7ChainIsTheCallersHospitalsChain) {
  serve_both();
  auto answer = get("/v1/ca/chain.p7b", kForeignNode);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto file = root_ / "chain-b.p7b";
  std::ofstream(file, std::ios::binary) << answer.body;
  auto printed = run("openssl pkcs7 -inform DER -print_certs -noout -in '" + file.string() + "'");
  ASSERT_EQ(printed.exit, 0) << printed.output;
  EXPECT_NE(printed.output.find("hospital-b"), std::string::npos) << printed.output;
  EXPECT_EQ(printed.output.find("hospital-a"), std::string::npos) << printed.output;
}

}  // namespace
}  // namespace medledger::api

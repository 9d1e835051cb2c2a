// EtcdClient against answers a real etcd does not send (a broken or hostile gateway, a
// proxy in between): each is an ORDERING_UNAVAILABLE error, never a crash. The inputs
// are what fuzz/etcd_gateway_fuzzer.cpp found (fuzz/corpus/etcd_gateway/regression-*).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "medledger/cluster/etcd_client.h"
#include "scripted_etcd_gateway.h"
#include "temp_dir.h"

namespace medledger::cluster {
namespace {

using core::ErrorCode;

class EtcdClientAnswers : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway_ = std::make_unique<testing::ScriptedGateway>(dir_.path() / "gateway.pem");
    EtcdConfig config;
    config.endpoints = {gateway_->endpoint()};
    config.ca_file = dir_.path() / "gateway.pem";
    auto client = EtcdClient::connect(config);
    ASSERT_TRUE(client.ok()) << client.error().to_string();
    client_ = std::move(*client);
  }

  /// range() of one key answered with `kvs` (the JSON array of the answer's "kvs").
  core::Result<RangeResult> range_answered(const std::string& kvs) {
    gateway_->script(200, R"({"header":{"revision":"5"},"kvs":)" + kvs + "}");
    return client_->range("/medledger/blocks/1", "");
  }

  medledger::testing::TempDir dir_;
  std::unique_ptr<testing::ScriptedGateway> gateway_;
  std::unique_ptr<EtcdClient> client_;
};

TEST_F(EtcdClientAnswers, WellFormedRangeIsRead) {
  auto range = range_answered(R"([{"key":"L2s=","value":"dmFsdWU=","mod_revision":"5"}])");
  ASSERT_TRUE(range.ok()) << range.error().to_string();
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].key, "/k");
  EXPECT_EQ(range->kvs[0].value, "value");
  EXPECT_EQ(range->revision, 5);
}

// "====" decodes (OpenSSL) to 3 bytes and has 4 padding characters: the length went
// below zero and range() threw std::length_error (the orderer's thread would have
// ended the process).
TEST_F(EtcdClientAnswers, KeyOfOnlyPaddingIsRefused) {
  auto range = range_answered(R"([{"key":"====","value":"","mod_revision":"5"}])");
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().code, ErrorCode::kOrderingUnavailable);
}

// One character and three '=' is no base64 at all; it was read as an empty value.
TEST_F(EtcdClientAnswers, ValueWithThreePaddingCharactersIsRefused) {
  auto range = range_answered(R"([{"key":"L2s=","value":"A===","mod_revision":"5"}])");
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().code, ErrorCode::kOrderingUnavailable);
}

// A watch event at revision 2^63 - 1: the revision to watch from next, one more,
// overflowed (signed overflow: undefined behaviour, reported by UBSan).
TEST_F(EtcdClientAnswers, WatchEventAtLargestRevisionIsRefused) {
  gateway_->script(200, R"({"result":{"events":[{"kv":{"key":"L2s=","value":"dg==",)"
                        R"("mod_revision":"9223372036854775807"}}]}})"
                        "\n");
  auto end = client_->watch("/k", "/l", 3, std::chrono::seconds(2),
                            [](const std::vector<WatchEvent>&) { return true; });
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, ErrorCode::kOrderingUnavailable);
}

}  // namespace
}  // namespace medledger::cluster

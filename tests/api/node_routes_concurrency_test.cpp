// Concurrent clients on one server: the node routes call the (thread-safe)
// HospitalNode without a lock of their own, so requests of several connections
// run at once on the handler pool. Every acknowledged record must be on the
// ledger exactly once and the ledger must verify from genesis.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "node_routes_fixture.h"

namespace medledger::api {
namespace {

constexpr int kClients = 4;  // at most the test server's handler threads
constexpr int kRecordsPerClient = 3;

class NodeConcurrentRoutes : public NodeRoutes {};

TEST_F(NodeConcurrentRoutes, ConcurrentClientsStoreEveryRecordOnceAndTheLedgerVerifies) {
  serve_both();
  std::vector<std::vector<testing::HttpResult>> results(kClients);
  std::vector<std::thread> clients;
  // Bodies are written before the threads start (post() is not thread-safe: it numbers files).
  std::vector<std::vector<std::string>> bodies(kClients);
  for (int c = 0; c < kClients; ++c) {
    for (int r = 0; r < kRecordsPerClient; ++r) {
      const auto file =
          root_ / ("concurrent-" + std::to_string(c) + "-" + std::to_string(r) + ".json");
      std::ofstream(file) << store_body("rec-" + std::to_string(c) + "-" + std::to_string(r));
      bodies[c].push_back(file.string());
    }
  }
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (const auto& file : bodies[c]) {
        results[c].push_back(
            testing::curl(*pki_, server_->port(), "/v1/records", kNode,
                          "-H 'Content-Type: application/json' --data-binary @" + file));
      }
    });
  }
  // A reader of the other hospital alongside the writers.
  std::vector<testing::HttpResult> heads;
  std::thread reader([&] {
    for (int i = 0; i < kRecordsPerClient; ++i)
      heads.push_back(testing::curl(*pki_, server_->port(), "/v1/ledger/head", kForeignNode));
  });
  for (auto& client : clients) client.join();
  reader.join();

  std::set<std::int64_t> sequences;
  for (const auto& client : results) {
    ASSERT_EQ(client.size(), static_cast<std::size_t>(kRecordsPerClient));
    for (const auto& stored : client) {
      ASSERT_EQ(stored.status, 201) << stored.body;
      auto receipt = json_of(stored);
      EXPECT_EQ(receipt.at("result_name").as_string(), "ACCEPTED");
      EXPECT_TRUE(sequences.insert(receipt.at("sequence").as_int64()).second)
          << "sequence acknowledged twice";
    }
  }
  for (const auto& head : heads) EXPECT_EQ(head.status, 200) << head.body;
  auto listed = get("/v1/records?patient=hospital-a/pat-a");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(json_of(listed).at("records").as_array().size(),
            static_cast<std::size_t>(kClients * kRecordsPerClient));
  server_.reset();
  expect_verify_clean();
}

}  // namespace
}  // namespace medledger::api

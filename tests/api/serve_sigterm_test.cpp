// SIGTERM during load on the real binary: client threads store records through
// `medledger serve` (hospital A of the tests/node fixture) while the process is
// told to stop. The server must exit 0 within its grace period, and every write
// that was answered 201 must be on the ledger afterwards, which must verify.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "medledger/net/https_client.h"
#include "serve_process.h"
#include "served_consortium_fixture.h"

namespace medledger::api {
namespace {

using namespace std::chrono_literals;

constexpr int kClientThreads = 4;
// Bounds of the load loop: writes per thread and acknowledged writes before SIGTERM.
constexpr int kMaxWritesPerThread = 100;
constexpr int kAcknowledgedBeforeSigterm = 6;

using ServeSigterm = testing::ServedConsortium;

std::string store_body(const std::string& record) {
  boost::json::object body;
  body["record_id"] = record;
  body["doctor"] = "hospital-a/dr-a";
  body["patient"] = "hospital-a/pat-a";
  body["payload"] =
      core::base64url_encode(core::to_bytes(R"({"resourceType":"Observation","status":"final"})"));
  body["doctor_pin"] = node::testing::kDoctorPin;
  body["patient_pin"] = node::testing::kPatientPin;
  return boost::json::serialize(body);
}

TEST_F(ServeSigterm, EveryAcknowledgedWriteSurvivesAGracefulStopUnderLoad) {
  testing::issue_from_token_ca(pool_a_, root_ / "a-ca", ca::Role::kNode, "client-node-a",
                               pki_->dir.path());
  const auto log = log_path();
  const auto config =
      write("serve.toml", head() + "[limits]\nshutdown_grace_ms = 5000\n[threads]\nhandlers = 4\n" +
                              hospital(root_ / "a", "hospital-a"));
  testing::ServeProcess serve(config, log);
  const auto port = serve.start();
  ASSERT_NE(port, 0) << serve.log();

  std::mutex mutex;
  std::vector<std::string> acknowledged;  // tx_id (base64url) of every 201
  std::atomic<int> acknowledged_count{0};
  std::atomic<int> other_failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClientThreads; ++t) {
    clients.emplace_back([&, t] {
      net::HttpsClientOptions options;
      options.ca_bundle = pki_->ca_pem;
      options.client_certificate = pki_->cert("client-node-a");
      options.client_key = pki_->key("client-node-a");
      options.request_timeout = 20s;
      auto client = net::HttpsClient::connect_to({"127.0.0.1", port}, options);
      if (!client) return;
      for (int i = 0; i < kMaxWritesPerThread; ++i) {
        auto reply =
            client->request("POST", "/v1/records",
                            store_body("rec-" + std::to_string(t) + "-" + std::to_string(i)));
        if (!reply) return;  // the server stopped: connection closed or refused
        if (reply->status == 201) {
          std::lock_guard lock(mutex);
          acknowledged.emplace_back(boost::json::parse(reply->body).at("tx_id").as_string());
          ++acknowledged_count;
        } else if (reply->status != 503) {  // 503: refused while stopping
          ++other_failures;
          ADD_FAILURE() << reply->status << " " << reply->body;
          return;
        }
      }
    });
  }
  for (int i = 0; i < 3000 && acknowledged_count < kAcknowledgedBeforeSigterm; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_GE(acknowledged_count.load(), kAcknowledgedBeforeSigterm) << serve.log();
  // Writes are in flight now (every thread loops without pause).
  const bool stopped = serve.terminate(10s);  // grace 5 s + drain
  for (auto& client : clients) client.join();
  ASSERT_TRUE(stopped) << "serve did not exit within 10 s of SIGTERM";
  EXPECT_EQ(serve.exit_code(), 0) << serve.log();
  EXPECT_EQ(other_failures.load(), 0);

  // The ledger verifies from genesis, and every acknowledged write is in it.
  const auto ledger_dir = root_ / "ledger";
  // The CLI's layout is --path DIR holding DIR/lmdb; the fixture's ledger is that lmdb directory.
  std::filesystem::create_directories(root_ / "cli");
  std::filesystem::create_directory_symlink(ledger_dir, root_ / "cli" / "lmdb");
  int verify_exit = -1;
  const std::string verify = testing::run_command(
      std::string(MEDLEDGER_CLI) + " ledger verify --path '" + (root_ / "cli").string() + "' 2>&1",
      verify_exit);
  EXPECT_EQ(verify_exit, 0) << verify;
  auto ledger = node::testing::expect_ok(ledger::Ledger::open(ledger_dir));
  for (const auto& tx : acknowledged) {
    auto id = node::testing::expect_ok(core::base64url_decode(tx));
    core::Digest digest{};
    ASSERT_EQ(id.size(), digest.size());
    std::copy(id.begin(), id.end(), digest.begin());
    auto sequence = node::testing::expect_ok(ledger->find(digest));
    ASSERT_TRUE(sequence.has_value()) << "acknowledged write " << tx << " is not on the ledger";
    EXPECT_EQ(node::testing::expect_ok(ledger->transaction(*sequence)).result, ledger::kTxAccepted);
  }
  const std::string lines = serve.log();
  EXPECT_NE(lines.find(R"("event":"signal","signal":"SIGTERM")"), std::string::npos);
  EXPECT_NE(lines.find(R"("event":"stopped")"), std::string::npos);
}

}  // namespace
}  // namespace medledger::api

// The real /healthz probes (api/health.h) behind a real server: the token probe
// through the fault-injecting PKCS#11 module (tests/fault_pkcs11) in front of
// SoftHSM2, the ledger probe on a real consortium ledger (tests/node fixture).
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <atomic>
#include <memory>

#include <boost/json/parse.hpp>

#include "../node/hospital_node_fixture.h"
#include "api_test_support.h"
#include "fault_control.h"
#include "medledger/api/health.h"
#include "softhsm_fixture.h"

namespace medledger::api {
namespace {

constexpr const char* kLabel = "health";
constexpr const char* kSoPin = "87654321";
constexpr const char* kUserPin = "246810";

boost::json::value healthz(const testing::Pki& pki, std::uint16_t port, int expected_status) {
  auto result = testing::curl(pki, port, "/healthz");
  EXPECT_EQ(result.status, expected_status) << result.body;
  boost::json::error_code ec;
  auto body = boost::json::parse(result.body, ec);
  EXPECT_FALSE(ec) << result.body;
  return body;
}

class TokenHealth : public ::testing::Test {
 protected:
  void SetUp() override {
    softhsm_.init_token_with_softhsm_util(kLabel, kSoPin, kUserPin);
    fault_ = ::dlopen(MEDLEDGER_FAULT_MODULE, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(fault_, nullptr) << ::dlerror();
    set_device_removed_ = reinterpret_cast<medledger_fault_set_device_removed_fn>(
        ::dlsym(fault_, "medledger_fault_set_device_removed"));
    clear_ = reinterpret_cast<medledger_fault_clear_fn>(::dlsym(fault_, "medledger_fault_clear"));
    ASSERT_TRUE(set_device_removed_ && clear_);
    auto module = node::testing::expect_ok(hsm::Module::load(MEDLEDGER_FAULT_MODULE));
    pool_ = node::testing::expect_ok(hsm::SessionPool::open(
        module, hsm::TokenSelector::by_label(kLabel), node::testing::secret(kUserPin)));
    pki_ = testing::Pki::create();
  }
  void TearDown() override {
    if (clear_ != nullptr) clear_();
  }

  medledger::testing::SoftHsmDirectory softhsm_;
  void* fault_ = nullptr;
  medledger_fault_set_device_removed_fn set_device_removed_ = nullptr;
  medledger_fault_clear_fn clear_ = nullptr;
  std::shared_ptr<hsm::SessionPool> pool_;
  std::unique_ptr<testing::Pki> pki_;
};

TEST_F(TokenHealth, TokenGoingAwayIs503TokenUnavailableAndRecoversWithoutRestart) {
  testing::TestServerOptions options;
  options.probes.token = token_probe({pool_});
  auto server = testing::start_server(*pki_, options);

  auto ok = healthz(*pki_, server->port(), 200);
  EXPECT_EQ(ok.at("checks").at("token").at("tokens").at(0).as_string(), kLabel);

  set_device_removed_(1);
  auto down = healthz(*pki_, server->port(), 503);
  EXPECT_EQ(down.at("status").as_string(), "unavailable");
  EXPECT_EQ(down.at("checks").at("token").at("code").as_string(), "TOKEN_UNAVAILABLE");
  EXPECT_NE(std::string(down.at("checks").at("token").at("message").as_string()).find(kLabel),
            std::string::npos);
  EXPECT_EQ(server->metrics->value(kHealthUpMetric, {{"component", "token"}}), 0);

  set_device_removed_(0);  // the token is back: the same process answers healthy again
  auto back = healthz(*pki_, server->port(), 200);
  EXPECT_EQ(back.at("checks").at("token").at("status").as_string(), "ok");
  EXPECT_EQ(server->metrics->value(kHealthUpMetric, {{"component", "token"}}), 1);
  auto metrics = testing::curl(*pki_, server->port(), "/metrics", testing::kAdmin);
  EXPECT_NE(metrics.body.find("medledger_health_up{component=\"token\"} 1"), std::string::npos)
      << metrics.body;
}

class LedgerHealth : public node::testing::TwoHospitals {};

TEST_F(LedgerHealth, LedgerProbeReportsHeightAndFailsBelowTheDiskFloor) {
  auto pki = testing::Pki::create();
  testing::TestServerOptions options;
  options.probes.ledger = ledger_probe(ledger_->ledger(), root_ / "ledger", 1);
  auto server = testing::start_server(*pki, options);
  auto ok = healthz(*pki, server->port(), 200);
  EXPECT_EQ(static_cast<std::uint64_t>(ok.at("checks").at("ledger").at("height").as_int64()),
            node::testing::expect_ok(ledger_->ledger().tip()).block.header.height);
  EXPECT_GT(ok.at("checks").at("ledger").at("free_bytes").to_number<double>(), 1.0);

  // A floor no disk meets: the check fails as a full disk would.
  testing::TestServerOptions full;
  full.probes.ledger = ledger_probe(ledger_->ledger(), root_ / "ledger", ~std::uint64_t{0});
  auto strict = testing::start_server(*pki, full);
  auto down = healthz(*pki, strict->port(), 503);
  EXPECT_EQ(down.at("checks").at("ledger").at("code").as_string(), "LEDGER_STORAGE");
}

TEST_F(LedgerHealth, LedgerProbeFailsWhileTheWriterIsStuckOnOneBlock) {
  auto pki = testing::Pki::create();
  // What node::ConsortiumLedger::commit_in_progress_for reports (tests/ledger/ordering_test.cpp
  // drives the real orderer into a held block), set by the test.
  auto busy = std::make_shared<std::atomic<std::int64_t>>(-1);  // -1: idle
  testing::TestServerOptions options;
  options.probes.ledger = ledger_probe(ledger_->ledger(), root_ / "ledger", 1,
                                       [busy]() -> std::optional<std::chrono::milliseconds> {
                                         if (busy->load() < 0) return std::nullopt;
                                         return std::chrono::milliseconds(busy->load());
                                       });
  auto server = testing::start_server(*pki, options);
  (void)healthz(*pki, server->port(), 200);
  busy->store(40);  // a block in progress, as usual
  (void)healthz(*pki, server->port(), 200);
  busy->store(kWriterStallLimit.count() + 1);
  auto down = healthz(*pki, server->port(), 503);
  EXPECT_EQ(down.at("checks").at("ledger").at("code").as_string(), "LEDGER_STORAGE");
  EXPECT_NE(
      std::string(down.at("checks").at("ledger").at("message").as_string()).find("stuck disk"),
      std::string::npos);
  busy->store(-1);  // the disk came back: healthy again, same process
  (void)healthz(*pki, server->port(), 200);
}

}  // namespace
}  // namespace medledger::api

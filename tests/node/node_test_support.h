// What the node tests share: result unwrapping, and a SoftHSM2 directory with two
// tokens ("hospital-a", "hospital-b") -- two nodes -- each with a session pool.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "medledger/core/secret.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token.h"
#include "medledger/node/person_session.h"
#include "result_expect.h"
#include "softhsm_fixture.h"

namespace medledger::node::testing {

using medledger::testing::expect_ok;  // tests/support/result_expect.h
using medledger::testing::secret;

/// A person's PIN as the credential the node's signing operations take.
inline PersonCredential by_pin(const std::string& pin) {
  return PersonCredential::pin(secret(pin));
}

/// The error code of a failed Result; fails the test if it succeeded.
template <typename T>
core::ErrorCode error_of(const core::Result<T>& result) {
  EXPECT_FALSE(result.ok()) << "expected an error";
  return result.ok() ? core::ErrorCode::kInternal : result.error().code;
}

inline constexpr const char* kSoPin = "so-secret-1234";
inline constexpr const char* kUserPin = "user-secret-5678";

class TwoNodeTokens : public ::testing::Test {
 protected:
  void SetUp() override {
    if (medledger::testing::SoftHsmDirectory::provisioned_by_hook()) {
      // Another module: its tokens exist before it loads (its arguments name them).
      dir_.init_token_with_softhsm_util("hospital-a", kSoPin, kUserPin);
      dir_.init_token_with_softhsm_util("hospital-b", kSoPin, kUserPin);
      module_ = expect_ok(hsm::Module::load(medledger::testing::SoftHsmDirectory::module_path()));
    } else {
      module_ = expect_ok(hsm::Module::load(medledger::testing::SoftHsmDirectory::module_path()));
      (void)expect_ok(hsm::init_token(*module_, "hospital-a", secret(kSoPin), secret(kUserPin)));
      (void)expect_ok(hsm::init_token(*module_, "hospital-b", secret(kSoPin), secret(kUserPin)));
    }
    pool_a_ = expect_ok(hsm::SessionPool::open(module_, hsm::TokenSelector::by_label("hospital-a"),
                                               secret(kUserPin)));
    pool_b_ = expect_ok(hsm::SessionPool::open(module_, hsm::TokenSelector::by_label("hospital-b"),
                                               secret(kUserPin)));
  }

  medledger::testing::SoftHsmDirectory dir_;  // first: sets SOFTHSM2_CONF before the module loads
  std::shared_ptr<hsm::Module> module_;
  std::shared_ptr<hsm::SessionPool> pool_a_;
  std::shared_ptr<hsm::SessionPool> pool_b_;
};

}  // namespace medledger::node::testing

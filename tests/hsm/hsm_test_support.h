// What the hsm tests share: a fresh SoftHSM2 directory with one token made by our
// own init_token (or, on another module, by its provisioning hook), and a pool on it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "medledger/core/secret.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token.h"
#include "result_expect.h"
#include "softhsm_fixture.h"

namespace medledger::hsm::testing {

inline constexpr const char* kLabel = "medledger-test";
inline constexpr const char* kSoPin = "so-secret-1234";
inline constexpr const char* kUserPin = "user-secret-5678";

using medledger::testing::expect_ok;  // tests/support/result_expect.h
using medledger::testing::secret;

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (medledger::testing::SoftHsmDirectory::provisioned_by_hook()) {
      // The module's tokens exist before it loads (its initialisation arguments name them).
      dir_.init_token_with_softhsm_util(kLabel, kSoPin, kUserPin);
      module_ = expect_ok(Module::load(medledger::testing::SoftHsmDirectory::module_path()));
      token_ = expect_ok(find_token(*module_, TokenSelector::by_label(kLabel)));
      return;
    }
    module_ = expect_ok(Module::load(medledger::testing::SoftHsmDirectory::module_path()));
    token_ = expect_ok(init_token(*module_, kLabel, secret(kSoPin), secret(kUserPin)));
  }

  /// The KEK for wrapped keys: by the SO where the token has one, else by the user.
  core::Bytes create_test_kek(const std::string& label = kDefaultKekLabel) {
    if (medledger::testing::SoftHsmDirectory::provisioned_by_hook()) {
      return expect_ok(create_kek_without_so(*module_, TokenSelector::by_label(kLabel),
                                             secret(kUserPin), label))
          .id;
    }
    return expect_ok(create_kek(*module_, TokenSelector::by_label(kLabel), secret(kSoPin), label));
  }

  std::shared_ptr<SessionPool> open_pool(PoolOptions options = {}) {
    return expect_ok(
        SessionPool::open(module_, TokenSelector::by_label(kLabel), secret(kUserPin), options));
  }

  medledger::testing::SoftHsmDirectory dir_;  // first: sets SOFTHSM2_CONF before the module loads
  std::shared_ptr<Module> module_;
  TokenInfo token_;
};

}  // namespace medledger::hsm::testing

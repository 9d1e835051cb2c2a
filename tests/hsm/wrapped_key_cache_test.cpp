// The pool-wide cache of unwrapped person keys, observed through the
// fault-injecting module's call counters (tests/fault_pkcs11): a hit does not
// unwrap, eviction destroys the object, a session's objects are forgotten when the
// session is dropped, and a key unwrapped by one session signs in another.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fault_control.h"
#include "hsm_test_support.h"
#include "medledger/core/sha256.h"
#include "medledger/core/signer.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token.h"
#include "medledger/hsm/wrapped_key.h"

namespace medledger::hsm {
namespace {

using testing::expect_ok;
using testing::kLabel;
using testing::kSoPin;
using testing::kUserPin;
using testing::secret;

class WrappedKeyCache : public ::testing::Test {
 protected:
  void SetUp() override {
    softhsm_.init_token_with_softhsm_util(kLabel, kSoPin, kUserPin);
    fault_ = ::dlopen(MEDLEDGER_FAULT_MODULE, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(fault_, nullptr) << ::dlerror();
    calls_ = reinterpret_cast<medledger_fault_count_fn>(::dlsym(fault_, "medledger_fault_calls"));
    ASSERT_NE(calls_, nullptr);
    module_ = expect_ok(Module::load(MEDLEDGER_FAULT_MODULE));
    kek_id_ = expect_ok(create_kek(*module_, TokenSelector::by_label(kLabel), secret(kSoPin)));
  }

  void open(PoolOptions options) {
    auto pool =
        SessionPool::open(module_, TokenSelector::by_label(kLabel), secret(kUserPin), options);
    ASSERT_TRUE(pool) << pool.error().to_string();
    pool_ = *pool;
    auto store = WrappedKeyStore::open(pool_, kek_id_);
    ASSERT_TRUE(store) << store.error().to_string();
    store_ = std::move(*store);
  }

  core::Bytes make_blob() {
    auto blob = store_->generate(core::KeyAlgorithm::kEcdsaP256);
    EXPECT_TRUE(blob) << blob.error().to_string();
    return blob ? *blob : core::Bytes{};
  }

  void expect_signs(const core::Bytes& blob, std::string_view message) {
    const core::Digest digest = core::sha256(core::to_bytes(message));
    auto signature = store_->sign_digest(blob, digest);
    ASSERT_TRUE(signature) << signature.error().to_string();
    auto key = decode_wrapped_key(blob);
    ASSERT_TRUE(key);
    EXPECT_TRUE(core::verify_digest_signature(key->public_key_spki, digest, *signature));
  }

  unsigned long calls(const char* function) const { return calls_(function); }

  medledger::testing::SoftHsmDirectory softhsm_;
  void* fault_ = nullptr;
  medledger_fault_count_fn calls_ = nullptr;
  std::shared_ptr<Module> module_;
  core::Bytes kek_id_;
  std::shared_ptr<SessionPool> pool_;
  std::unique_ptr<WrappedKeyStore> store_;
};

TEST_F(WrappedKeyCache, HitSignsWithoutUnwrappingAgain) {
  open({});
  auto blob = make_blob();
  const auto unwraps = calls("C_UnwrapKey");
  expect_signs(blob, "first");
  EXPECT_EQ(calls("C_UnwrapKey") - unwraps, 1u);
  for (int i = 0; i < 5; ++i) expect_signs(blob, "again " + std::to_string(i));
  auto signer =
      store_->signer(blob);  // the same blob through a signer object shares the cache entry
  ASSERT_TRUE(signer);
  auto signature = (*signer)->sign_digest(core::sha256(core::to_bytes("signer")));
  ASSERT_TRUE(signature) << signature.error().to_string();
  EXPECT_EQ(calls("C_UnwrapKey") - unwraps, 1u) << "hits must not unwrap";
}

TEST_F(WrappedKeyCache, EvictionDestroysTheLeastRecentlyUsedObject) {
  PoolOptions options;
  options.max_unwrapped_keys = 2;
  open(options);
  auto a = make_blob();
  auto b = make_blob();
  auto c = make_blob();
  expect_signs(a, "a");
  CK_OBJECT_HANDLE object_a = CK_INVALID_HANDLE;
  {
    auto lease = pool_->acquire();
    ASSERT_TRUE(lease);
    auto cached = lease->cached_unwrapped_key(core::sha256(a));
    ASSERT_TRUE(cached.has_value());
    object_a = *cached;
  }
  expect_signs(b, "b");
  const auto destroys = calls("C_DestroyObject");
  expect_signs(c, "c");  // a is the least recently used: evicted
  EXPECT_EQ(calls("C_DestroyObject") - destroys, 1u);
  auto lease = pool_->acquire();
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->unwrapped_key_count(), 2u);
  EXPECT_FALSE(lease->cached_unwrapped_key(core::sha256(a)).has_value());
  auto gone = lease->session().attribute(object_a, CKA_KEY_TYPE);
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("CKR_OBJECT_HANDLE_INVALID"), std::string::npos)
      << gone.error().to_string();
}

TEST_F(WrappedKeyCache, AnObjectMadeByAnotherSessionIsDestroyedWhenEvicted) {
  PoolOptions options;
  options.max_sessions = 2;
  options.max_unwrapped_keys = 1;
  open(options);
  auto a = make_blob();
  auto b = make_blob();
  expect_signs(a, "a");            // unwrapped by the session this thread uses
  auto holder = pool_->acquire();  // that session, busy now: b goes to the other one
  ASSERT_TRUE(holder);
  CK_OBJECT_HANDLE object_a = CK_INVALID_HANDLE;
  {
    auto other = pool_->acquire();
    ASSERT_TRUE(other);
    auto cached = other->cached_unwrapped_key(core::sha256(a));
    ASSERT_TRUE(cached.has_value());
    object_a = *cached;
  }  // unpinned again
  const auto destroys = calls("C_DestroyObject");
  expect_signs(b, "b");  // evicts a through the other session
  EXPECT_EQ(calls("C_DestroyObject") - destroys, 1u);
  auto gone = holder->session().attribute(object_a, CKA_KEY_TYPE);
  ASSERT_FALSE(gone) << "the evicted object still exists";
  EXPECT_NE(gone.error().message.find("CKR_OBJECT_HANDLE_INVALID"), std::string::npos)
      << gone.error().to_string();
  EXPECT_EQ(holder->unwrapped_key_count(), 1u);
}

TEST_F(WrappedKeyCache, KeyInUseByALeaseIsNotEvicted) {
  PoolOptions options;
  options.max_unwrapped_keys = 1;
  open(options);
  auto a = make_blob();
  auto b = make_blob();
  expect_signs(a, "a");
  auto holder = pool_->acquire();
  ASSERT_TRUE(holder);
  auto pinned = holder->cached_unwrapped_key(core::sha256(a));  // a thread about to sign with a
  ASSERT_TRUE(pinned.has_value());
  expect_signs(b, "b");  // another session: b is cached, a must survive while pinned
  EXPECT_TRUE(holder->session().attribute(*pinned, CKA_KEY_TYPE))
      << "a pinned object was destroyed";
  EXPECT_EQ(holder->unwrapped_key_count(), 2u);
}

TEST_F(WrappedKeyCache, KeyUnwrappedByOneSessionSignsInAnother) {
  PoolOptions options;
  options.max_sessions = 2;
  open(options);
  auto blob = make_blob();
  expect_signs(blob, "first");  // unwrapped in some session
  const auto unwraps = calls("C_UnwrapKey");
  // Hold one session so the next signatures run on the other; both must hit.
  for (int held = 0; held < 2; ++held) {
    auto lease = pool_->acquire();
    ASSERT_TRUE(lease);
    expect_signs(blob, "while a session is held " + std::to_string(held));
  }
  EXPECT_EQ(calls("C_UnwrapKey") - unwraps, 0u);
  EXPECT_EQ(pool_->open_sessions(), 2u);
}

TEST_F(WrappedKeyCache, ADroppedSessionsKeysAreForgottenAndUnwrappedAgain) {
  PoolOptions options;
  options.max_sessions = 1;
  open(options);
  auto blob = make_blob();
  expect_signs(blob, "before");
  {
    auto lease = pool_->acquire();
    ASSERT_TRUE(lease);
    ASSERT_EQ(lease->unwrapped_key_count(), 1u);
    lease->discard();  // C_CloseSession: the token destroys its session objects
  }
  {
    auto lease = pool_->acquire();
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->unwrapped_key_count(), 0u);
    EXPECT_FALSE(lease->cached_unwrapped_key(core::sha256(blob)).has_value());
  }
  const auto unwraps = calls("C_UnwrapKey");
  expect_signs(blob, "after");
  EXPECT_EQ(calls("C_UnwrapKey") - unwraps, 1u);
}

}  // namespace
}  // namespace medledger::hsm

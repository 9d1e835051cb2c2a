#include <gtest/gtest.h>

#include "hsm_test_support.h"
#include "medledger/hsm/key_store.h"
#include "medledger/core/software_signer.h"
#include "medledger/hsm/wrapped_key.h"

namespace medledger::hsm::testing {
namespace {

using core::ErrorCode;
using core::KeyAlgorithm;

class WrappedKeyTest : public TokenTest {
 protected:
  std::unique_ptr<WrappedKeyStore> open_store(PoolOptions options = {}) {
    if (kek_id_.empty())
      kek_id_ = expect_ok(create_kek(*module_, TokenSelector::by_label(kLabel), secret(kSoPin)));
    pool_ = open_pool(options);
    return expect_ok(WrappedKeyStore::open(pool_, kek_id_));
  }
  core::Bytes kek_id_;
  std::shared_ptr<SessionPool> pool_;
};

TEST_F(WrappedKeyTest, KekIsTrustedSensitiveNonExtractableWrapUnwrapOnly) {
  auto store = open_store();
  auto lease = expect_ok(pool_->acquire());
  auto kek = expect_ok(pool_->find_key(lease, CKO_SECRET_KEY, kek_id_));
  Session& s = lease.session();
  EXPECT_TRUE(expect_ok(s.bool_attribute(kek, CKA_TRUSTED)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(kek, CKA_SENSITIVE)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(kek, CKA_EXTRACTABLE)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(kek, CKA_WRAP)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(kek, CKA_UNWRAP)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(kek, CKA_ENCRYPT)));
  EXPECT_EQ(expect_ok(s.ulong_attribute(kek, CKA_VALUE_LEN)), 32u);
  // The SO cannot log in while this process has a user session open.
  auto while_user_logged_in =
      create_kek(*module_, TokenSelector::by_label(kLabel), secret(kSoPin), "second");
  ASSERT_FALSE(while_user_logged_in);
  EXPECT_NE(while_user_logged_in.error().message.find("CKR_USER_ANOTHER_ALREADY_LOGGED_IN"),
            std::string::npos);
}

TEST_F(WrappedKeyTest, SecondKekWithTheSameLabelIsAlreadyExists) {
  expect_ok(create_kek(*module_, TokenSelector::by_label(kLabel), secret(kSoPin)));
  auto again = create_kek(*module_, TokenSelector::by_label(kLabel), secret(kSoPin));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists) << again.error().to_string();
}

TEST_F(WrappedKeyTest, WrappedKeysSignAndVerifyWithOpenSslAndLeaveNoObjectsBehind) {
  auto store = open_store();
  for (auto algorithm : {KeyAlgorithm::kEcdsaP256}) {
    auto blob = expect_ok(store->generate(algorithm));
    auto key = expect_ok(decode_wrapped_key(blob));
    EXPECT_EQ(key.algorithm, algorithm);
    EXPECT_EQ(key.kek_id, kek_id_);
    auto digest = core::sha256(core::to_bytes("record"));
    auto signature = expect_ok(store->sign_digest(blob, digest));
    expect_ok(core::verify_digest_signature(key.public_key_spki, digest, signature));
    auto signer = expect_ok(store->signer(blob));
    auto again = expect_ok(signer->sign_digest(digest));  // from the cache this time
    expect_ok(core::verify_digest_signature(signer->public_key_spki(), digest, again));
  }
  // Only the KEK is a token object: the person keys never stayed in the token.
  auto pin = secret(kUserPin);
  auto status = expect_ok(token_status(*module_, TokenSelector::by_label(kLabel), &pin));
  EXPECT_EQ(status.private_keys, 0u);
  EXPECT_EQ(status.public_keys, 0u);
  EXPECT_EQ(status.secret_keys, 1u);
}

// SoftHSM 2.6 generates Ed25519 keys but C_WrapKey refuses Edwards private keys
// (CKR_KEY_NOT_WRAPPABLE): wrapped person keys are P-256 on SoftHSM (docs/hsm.md).
TEST_F(WrappedKeyTest, Ed25519KeysThatTheTokenCannotWrapAreUnsupportedAndLeaveNothingBehind) {
  auto store = open_store();
  auto blob = store->generate(KeyAlgorithm::kEd25519);
  ASSERT_FALSE(blob);
  EXPECT_EQ(blob.error().code, ErrorCode::kUnsupportedAlgorithm);
  EXPECT_NE(blob.error().message.find("C_WrapKey: CKR_KEY_NOT_WRAPPABLE"), std::string::npos);
  auto lease = expect_ok(pool_->acquire());
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  auto left = expect_ok(
      lease.session().find_objects({{CKA_CLASS, &private_class, sizeof private_class}}, 10));
  EXPECT_TRUE(left.empty());
}

TEST_F(WrappedKeyTest, UnwrappedKeyIsASensitiveNonExtractableSessionObject) {
  PoolOptions one_session;
  one_session.max_sessions = 1;
  auto store = open_store(one_session);
  auto blob = expect_ok(store->generate(KeyAlgorithm::kEcdsaP256));
  expect_ok(store->sign_digest(blob, core::sha256(core::to_bytes("x"))));
  auto lease = expect_ok(pool_->acquire());
  auto object = lease.cached_unwrapped_key(core::sha256(blob));
  ASSERT_TRUE(object.has_value());
  Session& s = lease.session();
  EXPECT_FALSE(expect_ok(s.bool_attribute(*object, CKA_TOKEN)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(*object, CKA_SENSITIVE)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(*object, CKA_EXTRACTABLE)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(*object, CKA_SIGN)));
  EXPECT_FALSE(s.attribute(*object, CKA_VALUE));
}

TEST_F(WrappedKeyTest, UnwrappedKeyCacheKeepsAtMostTheConfiguredNumberPerSession) {
  constexpr std::size_t kBound = 3;
  PoolOptions options;
  options.max_sessions = 1;
  options.max_unwrapped_keys = kBound;
  auto store = open_store(options);
  std::vector<core::Bytes> blobs;
  for (std::size_t i = 0; i < kBound + 2; ++i)
    blobs.push_back(expect_ok(store->generate(KeyAlgorithm::kEcdsaP256)));
  auto digest = core::sha256(core::to_bytes("lru"));
  for (const auto& blob : blobs) expect_ok(store->sign_digest(blob, digest));
  {
    auto lease = expect_ok(pool_->acquire());
    EXPECT_EQ(lease.unwrapped_key_count(), kBound);
    EXPECT_FALSE(lease.cached_unwrapped_key(core::sha256(blobs[0])).has_value());  // evicted first
    EXPECT_TRUE(lease.cached_unwrapped_key(core::sha256(blobs.back())).has_value());
  }
  // An evicted key unwraps again and still signs.
  auto signature = expect_ok(store->sign_digest(blobs[0], digest));
  expect_ok(core::verify_digest_signature(expect_ok(decode_wrapped_key(blobs[0])).public_key_spki,
                                          digest, signature));
  auto lease = expect_ok(pool_->acquire());
  EXPECT_EQ(lease.unwrapped_key_count(), kBound);
}

TEST_F(WrappedKeyTest, CorruptedOrForeignBlobsAreWrappedKeyInvalid) {
  auto store = open_store();
  auto blob = expect_ok(store->generate(KeyAlgorithm::kEcdsaP256));
  auto digest = core::sha256(core::to_bytes("x"));
  auto expect_invalid = [&](const core::Bytes& bad, const char* what) {
    auto r = store->sign_digest(bad, digest);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, ErrorCode::kWrappedKeyInvalid)
        << what << ": " << r.error().to_string();
  };
  core::Bytes flipped = blob;
  flipped.back() ^= 0x01;  // inside the RFC 5649 ciphertext: the integrity check fails
  expect_invalid(flipped, "flipped ciphertext bit");
  expect_invalid(core::Bytes(blob.begin(), blob.end() - 1), "truncated");
  core::Bytes trailing = blob;
  trailing.push_back(0);
  expect_invalid(trailing, "trailing byte");
  core::Bytes bad_magic = blob;
  bad_magic[0] = 'X';
  expect_invalid(bad_magic, "magic");
  core::Bytes bad_version = blob;
  bad_version[4] = 9;
  expect_invalid(bad_version, "version");
  core::Bytes other_kek = blob;
  other_kek[7] ^= 0xff;  // first byte of the KEK id
  expect_invalid(other_kek, "another KEK");
  // A valid blob whose public key was swapped for another key's.
  auto other = expect_ok(decode_wrapped_key(expect_ok(store->generate(KeyAlgorithm::kEcdsaP256))));
  auto key = expect_ok(decode_wrapped_key(blob));
  key.public_key_spki = other.public_key_spki;
  expect_invalid(encode_wrapped_key(key), "swapped public key");
  expect_invalid({}, "empty");
}

TEST(WrappedKeyCodec, EncodeDecodeRoundTripsAndFormatIsAsDocumented) {
  auto software = expect_ok(core::SoftwareSigner::generate(KeyAlgorithm::kEd25519));
  WrappedKey key{KeyAlgorithm::kEd25519, core::Bytes{0xaa, 0xbb}, software->public_key_spki(),
                 core::Bytes(40, 0x5c)};
  auto blob = encode_wrapped_key(key);
  ASSERT_GE(blob.size(), 9u);
  EXPECT_EQ(core::to_string(core::ByteView(blob).first(4)), "MLWK");
  EXPECT_EQ(blob[4], kWrappedKeyVersion);
  EXPECT_EQ(blob[5], 2);  // ed25519
  EXPECT_EQ(blob[6], 2);  // KEK id length
  EXPECT_EQ(blob.size(), 4 + 1 + 1 + 1 + 2 + 2 + key.public_key_spki.size() + 2 + 40);
  auto back = expect_ok(decode_wrapped_key(blob));
  EXPECT_EQ(back.algorithm, key.algorithm);
  EXPECT_EQ(back.kek_id, key.kek_id);
  EXPECT_EQ(back.public_key_spki, key.public_key_spki);
  EXPECT_EQ(back.wrapped_private_key, key.wrapped_private_key);
  blob[5] = 1;  // claims P-256 but carries an Ed25519 key
  EXPECT_EQ(decode_wrapped_key(blob).error().code, ErrorCode::kWrappedKeyInvalid);
}

TEST_F(TokenTest, WrappedKeyStoreWithoutItsKekIsKeyNotFound) {
  auto store = WrappedKeyStore::open(open_pool(), core::Bytes(20, 0x01));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kKeyNotFound);
}

}  // namespace
}  // namespace medledger::hsm::testing

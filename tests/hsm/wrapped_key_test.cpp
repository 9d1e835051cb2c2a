#include <gtest/gtest.h>

#include "hsm_test_support.h"
#include "medledger/hsm/key_store.h"
#include "medledger/core/software_signer.h"
#include "medledger/hsm/wrapped_key.h"

namespace medledger::hsm::testing {
namespace {

using core::ErrorCode;
using core::KeyAlgorithm;

constexpr std::size_t kKekIdOffset =
    12;  // magic 4, version, algorithm, mechanism 4, format, length

// The version 1 layout of `key` (no mechanism or format fields).
core::Bytes version_one_blob(const WrappedKey& key) {
  core::Bytes v2 = encode_wrapped_key(key);
  core::Bytes v1(v2.begin(), v2.begin() + 6);
  v1[4] = 1;
  v1.insert(v1.end(), v2.begin() + 11, v2.end());  // from the KEK id length on
  return v1;
}

class WrappedKeyTest : public TokenTest {
 protected:
  std::unique_ptr<WrappedKeyStore> open_store(PoolOptions options = {}) {
    if (kek_id_.empty()) kek_id_ = create_test_kek();
    pool_ = open_pool(options);
    return expect_ok(WrappedKeyStore::open(pool_, kek_id_));
  }
  core::Bytes kek_id_;
  std::shared_ptr<SessionPool> pool_;
};

TEST_F(WrappedKeyTest, KekIsTrustedSensitiveNonExtractableWrapUnwrapOnly) {
  MEDLEDGER_SKIP_WITHOUT_TOKEN_INIT();
  auto store = open_store();
  EXPECT_TRUE(store->kek_trusted());
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
  create_test_kek();
  if (!medledger::testing::SoftHsmDirectory::provisioned_by_hook()) {
    auto by_so = create_kek(*module_, TokenSelector::by_label(kLabel), secret(kSoPin));
    ASSERT_FALSE(by_so);
    EXPECT_EQ(by_so.error().code, ErrorCode::kAlreadyExists) << by_so.error().to_string();
  }
  auto again = create_kek_without_so(*module_, TokenSelector::by_label(kLabel), secret(kUserPin));
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
  if (!pool_->require(Capability::kEd25519)) {
    // A token without Ed25519 at all (NSS's softoken) says which mechanism it lacks.
    EXPECT_EQ(blob.error().code, ErrorCode::kMechanismMissing);
    EXPECT_NE(blob.error().message.find("ed25519 signing"), std::string::npos);
  } else {
    EXPECT_EQ(blob.error().code, ErrorCode::kUnsupportedAlgorithm);
    EXPECT_NE(blob.error().message.find("C_WrapKey: CKR_KEY_NOT_WRAPPABLE"), std::string::npos);
  }
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
  // Sign only, whatever the token added at unwrap (NSS sets CKA_DERIVE and
  // CKA_SIGN_RECOVER on EC keys; the store turns them off).
  for (auto use : {CKA_DECRYPT, CKA_DERIVE, CKA_UNWRAP, CKA_SIGN_RECOVER})
    EXPECT_FALSE(expect_ok(s.bool_attribute(*object, use))) << use;
  EXPECT_FALSE(s.attribute(*object, CKA_VALUE));
}

// Without an SO the KEK is the user's: private, not CKA_TRUSTED. A token that enforces
// CKA_WRAP_WITH_TRUSTED (SoftHSM2, as PKCS#11 requires) could not wrap person keys with
// it, so it is refused and removed; one that does not (NSS) gets it, and says so.
TEST_F(WrappedKeyTest, KekWithoutSoIsRefusedWhereTrustIsEnforcedAndUsableWhereNot) {
  auto kek = create_kek_without_so(*module_, TokenSelector::by_label(kLabel), secret(kUserPin));
  auto pin = secret(kUserPin);
  if (!kek) {
    EXPECT_EQ(kek.error().code, ErrorCode::kInvalidArgument) << kek.error().to_string();
    EXPECT_NE(kek.error().message.find("CKA_WRAP_WITH_TRUSTED"), std::string::npos);
    auto status = expect_ok(token_status(*module_, TokenSelector::by_label(kLabel), &pin));
    EXPECT_EQ(status.secret_keys, 0u) << "the refused KEK must not stay behind";
    EXPECT_TRUE(medledger::testing::SoftHsmDirectory::without_token_init_reason().empty())
        << "a token without an SO must take a KEK without one";
    return;
  }
  EXPECT_FALSE(kek->trust_enforced);
  kek_id_ = kek->id;
  auto store = open_store();
  EXPECT_FALSE(store->kek_trusted());
  auto blob = expect_ok(store->generate(KeyAlgorithm::kEcdsaP256));
  auto digest = core::sha256(core::to_bytes("no SO"));
  expect_ok(core::verify_digest_signature(expect_ok(decode_wrapped_key(blob)).public_key_spki,
                                          digest, expect_ok(store->sign_digest(blob, digest))));
  auto lease = expect_ok(pool_->acquire());
  auto object = expect_ok(pool_->find_key(lease, CKO_SECRET_KEY, kek_id_));
  EXPECT_TRUE(expect_ok(lease.session().bool_attribute(object, CKA_PRIVATE)));
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
  other_kek[kKekIdOffset] ^= 0xff;  // first byte of the KEK id
  expect_invalid(other_kek, "another KEK");
  core::Bytes other_mechanism = blob;
  other_mechanism[9] = 0x09;  // CKM_AES_KEY_WRAP (RFC 3394 without padding)
  expect_invalid(other_mechanism, "mechanism");
  core::Bytes other_format = blob;
  other_format[10] = 7;
  expect_invalid(other_format, "format");
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
                 core::Bytes(40, 0x5c),  CKM_AES_KEY_WRAP_PAD,    WrapFormat::kRfc3394Pkcs7};
  auto blob = encode_wrapped_key(key);
  ASSERT_GE(blob.size(), kKekIdOffset);
  EXPECT_EQ(core::to_string(core::ByteView(blob).first(4)), "MLWK");
  EXPECT_EQ(blob[4], kWrappedKeyVersion);
  EXPECT_EQ(blob[4], 2);
  EXPECT_EQ(blob[5], 2);  // ed25519
  EXPECT_EQ((core::Bytes{blob[6], blob[7], blob[8], blob[9]}), (core::Bytes{0, 0, 0x21, 0x0a}));
  EXPECT_EQ(blob[10], 2);  // RFC 3394 with PKCS #7 padding
  EXPECT_EQ(blob[11], 2);  // KEK id length
  EXPECT_EQ(blob.size(), 4 + 1 + 1 + 4 + 1 + 1 + 2 + 2 + key.public_key_spki.size() + 2 + 40);
  auto back = expect_ok(decode_wrapped_key(blob));
  EXPECT_EQ(back.algorithm, key.algorithm);
  EXPECT_EQ(back.kek_id, key.kek_id);
  EXPECT_EQ(back.public_key_spki, key.public_key_spki);
  EXPECT_EQ(back.wrapped_private_key, key.wrapped_private_key);
  EXPECT_EQ(back.wrap_mechanism, key.wrap_mechanism);
  EXPECT_EQ(back.wrap_format, key.wrap_format);
  // CKM_AES_KEY_WRAP_KWP is RFC 5649 by definition: another format is a bad blob.
  key.wrap_mechanism = kCkmAesKeyWrapKwp;
  EXPECT_EQ(decode_wrapped_key(encode_wrapped_key(key)).error().code,
            ErrorCode::kWrappedKeyInvalid);
  blob[5] = 1;  // claims P-256 but carries an Ed25519 key
  EXPECT_EQ(decode_wrapped_key(blob).error().code, ErrorCode::kWrappedKeyInvalid);
}

TEST(WrappedKeyCodec, VersionOneBlobsReadAsPadWithRfc5649) {
  auto software = expect_ok(core::SoftwareSigner::generate(KeyAlgorithm::kEcdsaP256));
  WrappedKey key{KeyAlgorithm::kEcdsaP256, core::Bytes{0xaa}, software->public_key_spki(),
                 core::Bytes(40, 0x5c)};
  auto v1 = version_one_blob(key);
  EXPECT_EQ(v1[4], 1);
  auto back = expect_ok(decode_wrapped_key(v1));
  EXPECT_EQ(back.wrap_mechanism, static_cast<CK_MECHANISM_TYPE>(CKM_AES_KEY_WRAP_PAD));
  EXPECT_EQ(back.wrap_format, WrapFormat::kRfc5649);
  EXPECT_EQ(back.kek_id, key.kek_id);
  EXPECT_EQ(back.public_key_spki, key.public_key_spki);
  EXPECT_EQ(back.wrapped_private_key, key.wrapped_private_key);
}

// A blob written before the format recorded its mechanism (version 1, RFC 5649 under
// CKM_AES_KEY_WRAP_PAD) still signs: the token picks its own RFC 5649 mechanism.
TEST_F(WrappedKeyTest, VersionOneBlobsStillSign) {
  auto store = open_store();
  auto key = expect_ok(decode_wrapped_key(expect_ok(store->generate(KeyAlgorithm::kEcdsaP256))));
  if (key.wrap_format != WrapFormat::kRfc5649)
    GTEST_SKIP() << "this token wraps only in RFC 3394 with PKCS #7 padding";
  auto v1 = version_one_blob(key);
  auto digest = core::sha256(core::to_bytes("old blob"));
  auto signature = expect_ok(store->sign_digest(v1, digest));
  expect_ok(core::verify_digest_signature(key.public_key_spki, digest, signature));
}

TEST_F(WrappedKeyTest, BlobsRecordTheMechanismAndFormatTheTokenWrappedWith) {
  auto store = open_store();
  auto key = expect_ok(decode_wrapped_key(expect_ok(store->generate(KeyAlgorithm::kEcdsaP256))));
  EXPECT_EQ(key.wrap_mechanism, store->generate_mechanism());
  // CKM_AES_KEY_WRAP_KWP where the token has it (NSS), else _PAD (SoftHSM2 2.6 lacks KWP).
  EXPECT_EQ(store->generate_mechanism() == kCkmAesKeyWrapKwp, pool_->offers(kCkmAesKeyWrapKwp));
  ASSERT_TRUE(store->pad_format().has_value()) << "known-answer round trip failed";
  // What _PAD produces differs: RFC 5649 in SoftHSM2, RFC 3394 + PKCS #7 padding in NSS.
  const bool nss = pool_->token().manufacturer == "Mozilla Foundation";
  EXPECT_EQ(*store->pad_format(), nss ? WrapFormat::kRfc3394Pkcs7 : WrapFormat::kRfc5649);
  EXPECT_EQ(key.wrap_format, store->generate_mechanism() == kCkmAesKeyWrapKwp
                                 ? WrapFormat::kRfc5649
                                 : *store->pad_format());
}

TEST_F(WrappedKeyTest, BlobInAFormatTheTokenCannotUnwrapIsMechanismMissing) {
  auto store = open_store();
  auto key = expect_ok(decode_wrapped_key(expect_ok(store->generate(KeyAlgorithm::kEcdsaP256))));
  // A format neither of the token's mechanisms produces, if there is one.
  WrapFormat other = *store->pad_format() == WrapFormat::kRfc5649 ? WrapFormat::kRfc3394Pkcs7
                                                                  : WrapFormat::kRfc5649;
  if (other == WrapFormat::kRfc5649 && pool_->offers(kCkmAesKeyWrapKwp))
    GTEST_SKIP() << "this token unwraps both formats";
  key.wrap_mechanism = CKM_AES_KEY_WRAP_PAD;
  key.wrap_format = other;
  auto signature = store->sign_digest(encode_wrapped_key(key), core::sha256(core::to_bytes("x")));
  ASSERT_FALSE(signature);
  EXPECT_EQ(signature.error().code, ErrorCode::kMechanismMissing) << signature.error().to_string();
  EXPECT_NE(signature.error().message.find(wrap_format_name(other)), std::string::npos);
}

TEST_F(TokenTest, WrappedKeyStoreWithoutItsKekIsKeyNotFound) {
  auto store = WrappedKeyStore::open(open_pool(), core::Bytes(20, 0x01));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kKeyNotFound);
}

}  // namespace
}  // namespace medledger::hsm::testing

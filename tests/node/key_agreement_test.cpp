// hsm::TokenKeyAgreement on a real SoftHSM2 token: the encryption key's attributes,
// ECDH in the token against ECDH in OpenSSL, and the refusals.
#include <gtest/gtest.h>

#include "medledger/core/signer.h"
#include "medledger/core/software_signer.h"
#include "medledger/hsm/key_agreement.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/public_key.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/node/software_key_agreement.h"
#include "node_test_support.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;
using KeyAgreementTest = TwoNodeTokens;

TEST_F(KeyAgreementTest, EncryptionKeyDerivesOnlyIsSensitiveNeverExtractableWithTheKeyStoreIdRule) {
  auto key = expect_ok(hsm::TokenKeyAgreement::generate(pool_a_, "node-encryption"));
  EXPECT_EQ(key.id, hsm::key_id_for(key.public_key_spki));
  EXPECT_EQ(key.id.size(), hsm::kKeyIdSize);

  auto lease = expect_ok(pool_a_->acquire());
  auto priv = expect_ok(pool_a_->find_key(lease, CKO_PRIVATE_KEY, key.id));
  auto pub = expect_ok(pool_a_->find_key(lease, CKO_PUBLIC_KEY, key.id));
  hsm::Session& s = lease.session();
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_TOKEN)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_PRIVATE)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_SENSITIVE)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(priv, CKA_EXTRACTABLE)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_NEVER_EXTRACTABLE)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_DERIVE)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(priv, CKA_SIGN)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(priv, CKA_DECRYPT)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(priv, CKA_UNWRAP)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(pub, CKA_VERIFY)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(pub, CKA_DERIVE)));
  EXPECT_EQ(expect_ok(s.attribute(priv, CKA_ID)), key.id);
  EXPECT_EQ(expect_ok(s.attribute(pub, CKA_ID)), key.id);
  EXPECT_FALSE(s.attribute(priv, CKA_VALUE).ok());
}

TEST_F(KeyAgreementTest, TokenEcdhEqualsOpenSslEcdhFromThePeerSide) {
  auto key = expect_ok(hsm::TokenKeyAgreement::generate(pool_a_, "node-encryption"));
  auto token = expect_ok(hsm::TokenKeyAgreement::open(pool_a_, key.id));
  EXPECT_EQ(token->public_key_spki(), key.public_key_spki);
  auto peer = expect_ok(SoftwareKeyAgreement::generate());

  auto in_token = expect_ok(token->derive_shared_secret(peer->public_key_spki()));
  auto in_software = expect_ok(peer->derive_shared_secret(token->public_key_spki()));
  EXPECT_EQ(in_token.size(), hsm::kEcdhP256SecretSize);
  EXPECT_TRUE(core::constant_time_equal(in_token.view(), in_software.view()));

  // Another peer gives another secret.
  auto other = expect_ok(SoftwareKeyAgreement::generate());
  auto with_other = expect_ok(token->derive_shared_secret(other->public_key_spki()));
  EXPECT_FALSE(core::constant_time_equal(in_token.view(), with_other.view()));
}

TEST_F(KeyAgreementTest, DerivedSecretObjectsDoNotStayInTheSession) {
  auto key = expect_ok(hsm::TokenKeyAgreement::generate(pool_a_, "node-encryption"));
  auto token = expect_ok(hsm::TokenKeyAgreement::open(pool_a_, key.id));
  auto peer = expect_ok(SoftwareKeyAgreement::generate());
  for (int i = 0; i < 3; ++i) (void)expect_ok(token->derive_shared_secret(peer->public_key_spki()));
  auto lease = expect_ok(pool_a_->acquire());
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  auto secrets = expect_ok(
      lease.session().find_objects({{CKA_CLASS, &secret_class, sizeof secret_class}}, 16));
  EXPECT_TRUE(secrets.empty());
}

TEST_F(KeyAgreementTest, SigningKeyCannotBeUsedForKeyAgreement) {
  hsm::KeyStore store(pool_a_);
  auto signing = expect_ok(store.generate({"doctor-1", core::KeyAlgorithm::kEcdsaP256}));
  auto opened = hsm::TokenKeyAgreement::open(pool_a_, signing.id);
  EXPECT_EQ(error_of(opened), ErrorCode::kInvalidArgument);
}

TEST_F(KeyAgreementTest, EncryptionKeyCannotSign) {
  auto key = expect_ok(hsm::TokenKeyAgreement::generate(pool_a_, "node-encryption"));
  hsm::KeyStore store(pool_a_);
  auto signer = expect_ok(store.signer(key.id));
  auto signature = signer->sign_digest(core::sha256(core::to_bytes("not for this key")));
  ASSERT_FALSE(signature.ok());
  // The token refuses the key for signing: SoftHSM2 says the function is not permitted,
  // NSS's softoken that the key type does not fit (an ECDH key).
  const std::string& why = signature.error().message;
  EXPECT_TRUE(why.find("CKR_KEY_FUNCTION_NOT_PERMITTED") != std::string::npos ||
              why.find("CKR_KEY_TYPE_INCONSISTENT") != std::string::npos)
      << why;
}

TEST_F(KeyAgreementTest, MissingKeyIsKeyNotFoundAndDuplicateLabelIsAlreadyExists) {
  EXPECT_EQ(error_of(hsm::TokenKeyAgreement::open(pool_a_, core::Bytes(hsm::kKeyIdSize, 0x42))),
            ErrorCode::kKeyNotFound);
  (void)expect_ok(hsm::TokenKeyAgreement::generate(pool_a_, "node-encryption"));
  EXPECT_EQ(error_of(hsm::TokenKeyAgreement::generate(pool_a_, "node-encryption")),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(error_of(hsm::TokenKeyAgreement::generate(pool_a_, "")), ErrorCode::kInvalidArgument);
}

TEST_F(KeyAgreementTest, PeerKeyThatIsNotP256IsRefusedBeforeTheToken) {
  auto key = expect_ok(hsm::TokenKeyAgreement::generate(pool_a_, "node-encryption"));
  auto token = expect_ok(hsm::TokenKeyAgreement::open(pool_a_, key.id));
  auto ed25519 = expect_ok(core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519));
  EXPECT_EQ(error_of(token->derive_shared_secret(ed25519->public_key_spki())),
            ErrorCode::kUnsupportedAlgorithm);
  EXPECT_EQ(error_of(token->derive_shared_secret(core::to_bytes("not a key"))),
            ErrorCode::kMalformedEncoding);
  // A P-256 SPKI whose point was altered is off the curve and does not parse.
  auto peer = expect_ok(SoftwareKeyAgreement::generate());
  core::Bytes bent = peer->public_key_spki();
  bent.back() ^= 0x01;
  EXPECT_EQ(error_of(token->derive_shared_secret(bent)), ErrorCode::kMalformedEncoding);
}

TEST_F(KeyAgreementTest, KeyOfOneTokenIsNotFoundInTheOther) {
  auto key = expect_ok(hsm::TokenKeyAgreement::generate(pool_a_, "node-encryption"));
  EXPECT_EQ(error_of(hsm::TokenKeyAgreement::open(pool_b_, key.id)), ErrorCode::kKeyNotFound);
}

}  // namespace
}  // namespace medledger::node::testing

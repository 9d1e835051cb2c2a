// Patient keys wrapped for a node's token encryption key (ECDH P-256 + HKDF +
// AES-GCM): unwrapped by that node's token only, every tampering refused.
#include <gtest/gtest.h>

#include "medledger/core/signer.h"
#include "medledger/core/software_signer.h"
#include "medledger/hsm/key_agreement.h"
#include "medledger/node/patient_key.h"
#include "medledger/node/record_envelope.h"
#include "medledger/node/software_key_agreement.h"
#include "node_test_support.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;

class PatientKeyTest : public TwoNodeTokens {
 protected:
  void SetUp() override {
    TwoNodeTokens::SetUp();
    auto a = expect_ok(hsm::TokenKeyAgreement::generate(pool_a_, "node-encryption"));
    auto b = expect_ok(hsm::TokenKeyAgreement::generate(pool_b_, "node-encryption"));
    node_a_ = expect_ok(hsm::TokenKeyAgreement::open(pool_a_, a.id));
    node_b_ = expect_ok(hsm::TokenKeyAgreement::open(pool_b_, b.id));
  }

  std::unique_ptr<hsm::TokenKeyAgreement> node_a_;
  std::unique_ptr<hsm::TokenKeyAgreement> node_b_;
  PatientKey key_ = expect_ok(generate_patient_key("patient-42", 3));
};

TEST_F(PatientKeyTest, KeyWrappedForNodeBUnwrapsWithBsTokenKey) {
  auto wrapped = expect_ok(wrap_patient_key_for(node_b_->public_key_spki(), key_));
  EXPECT_EQ(wrapped.recipient,
            core::to_bytes(core::public_key_fingerprint(node_b_->public_key_spki())));
  auto parsed = expect_ok(WrappedPatientKey::from_json_text(wrapped.to_json_text()));
  EXPECT_EQ(parsed.to_json_text(), wrapped.to_json_text());
  auto unwrapped = expect_ok(unwrap_patient_key(*node_b_, parsed));
  EXPECT_EQ(unwrapped.patient_id, "patient-42");
  EXPECT_EQ(unwrapped.version, 3u);
  EXPECT_TRUE(core::constant_time_equal(unwrapped.key.view(), key_.key.view()));
}

TEST_F(PatientKeyTest, RecordSealedAtADecryptsAtBWithTheKeyWrappedForB) {
  auto sealed = expect_ok(seal_record({"patient-42", "rec-1", 1, "application/fhir+json"},
                                      core::to_bytes(R"({"resourceType":"Patient"})"), key_));
  auto for_b = expect_ok(wrap_patient_key_for(node_b_->public_key_spki(), key_));
  auto at_b = expect_ok(unwrap_patient_key(*node_b_, for_b));
  EXPECT_EQ(core::to_string(expect_ok(open_record(sealed, at_b))), R"({"resourceType":"Patient"})");
}

TEST_F(PatientKeyTest, NodeWithoutAWrappedKeyCannotUnwrapOrDecrypt) {
  auto for_b = expect_ok(wrap_patient_key_for(node_b_->public_key_spki(), key_));
  auto at_a = unwrap_patient_key(*node_a_, for_b);
  EXPECT_EQ(error_of(at_a), ErrorCode::kDecryptionFailed);
  // Relabelled as A's: the recipient check passes, the ECDH gives A another key.
  WrappedPatientKey relabelled = for_b;
  relabelled.recipient = core::to_bytes(core::public_key_fingerprint(node_a_->public_key_spki()));
  EXPECT_EQ(error_of(unwrap_patient_key(*node_a_, relabelled)), ErrorCode::kDecryptionFailed);
  // Guessing a patient key does not open the record either.
  auto sealed =
      expect_ok(seal_record({"patient-42", "rec-1", 1, "text/plain"}, core::to_bytes("x"), key_));
  auto guess = expect_ok(generate_patient_key("patient-42", 3));
  EXPECT_EQ(error_of(open_record(sealed, guess)), ErrorCode::kDecryptionFailed);
}

TEST_F(PatientKeyTest, EveryTamperedFieldIsDecryptionFailed) {
  auto wrapped = expect_ok(wrap_patient_key_for(node_b_->public_key_spki(), key_));
  for (std::size_t i = 0; i < wrapped.ciphertext.size(); ++i) {
    WrappedPatientKey bent = wrapped;
    bent.ciphertext[i] ^= 0x04;
    EXPECT_EQ(error_of(unwrap_patient_key(*node_b_, bent)), ErrorCode::kDecryptionFailed)
        << "ciphertext " << i;
  }
  WrappedPatientKey bent = wrapped;
  bent.nonce[5] ^= 0x01;
  EXPECT_EQ(error_of(unwrap_patient_key(*node_b_, bent)), ErrorCode::kDecryptionFailed);
  bent = wrapped;
  bent.patient_id = "patient-43";
  EXPECT_EQ(error_of(unwrap_patient_key(*node_b_, bent)), ErrorCode::kDecryptionFailed);
  bent = wrapped;
  bent.key_version = 4;
  EXPECT_EQ(error_of(unwrap_patient_key(*node_b_, bent)), ErrorCode::kDecryptionFailed);
  // Another valid ephemeral point, and a point bent off the curve.
  bent = wrapped;
  bent.ephemeral_public = expect_ok(SoftwareKeyAgreement::generate())->public_point();
  EXPECT_EQ(error_of(unwrap_patient_key(*node_b_, bent)), ErrorCode::kDecryptionFailed);
  bent = wrapped;
  bent.ephemeral_public.back() ^= 0x01;
  EXPECT_EQ(error_of(unwrap_patient_key(*node_b_, bent)), ErrorCode::kDecryptionFailed);
}

TEST_F(PatientKeyTest, EachWrapUsesAFreshEphemeralKey) {
  auto first = expect_ok(wrap_patient_key_for(node_b_->public_key_spki(), key_));
  auto second = expect_ok(wrap_patient_key_for(node_b_->public_key_spki(), key_));
  EXPECT_NE(first.ephemeral_public, second.ephemeral_public);
  EXPECT_NE(first.ciphertext, second.ciphertext);
}

TEST_F(PatientKeyTest, RotatedKeyIsNewAndOldRecordsNeedTheOldVersion) {
  auto rotated = expect_ok(rotate_patient_key(key_));
  EXPECT_EQ(rotated.version, 4u);
  EXPECT_FALSE(core::constant_time_equal(rotated.key.view(), key_.key.view()));
  auto old_record =
      expect_ok(seal_record({"patient-42", "rec-1", 1, "text/plain"}, core::to_bytes("old"), key_));
  auto new_record = expect_ok(
      seal_record({"patient-42", "rec-2", 1, "text/plain"}, core::to_bytes("new"), rotated));
  EXPECT_EQ(error_of(open_record(new_record, key_)), ErrorCode::kDecryptionFailed);
  EXPECT_EQ(core::to_string(expect_ok(open_record(old_record, key_))), "old");
  EXPECT_EQ(core::to_string(expect_ok(open_record(new_record, rotated))), "new");
}

TEST_F(PatientKeyTest, SoftwareRecipientUnwrapsLikeATokenRecipient) {
  auto software = expect_ok(SoftwareKeyAgreement::generate());
  auto wrapped = expect_ok(wrap_patient_key_for(software->public_key_spki(), key_));
  auto unwrapped = expect_ok(unwrap_patient_key(*software, wrapped));
  EXPECT_TRUE(core::constant_time_equal(unwrapped.key.view(), key_.key.view()));
}

TEST_F(PatientKeyTest, BadRecipientKeysAndMalformedJsonAreRefused) {
  auto ed25519_spki = core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(ed25519_spki.ok());
  EXPECT_EQ(error_of(wrap_patient_key_for((*ed25519_spki)->public_key_spki(), key_)),
            ErrorCode::kUnsupportedAlgorithm);
  EXPECT_EQ(error_of(wrap_patient_key_for(core::to_bytes("junk"), key_)),
            ErrorCode::kMalformedEncoding);

  auto object = expect_ok(wrap_patient_key_for(node_b_->public_key_spki(), key_)).to_json();
  auto missing = object;
  missing.erase("recipient");
  EXPECT_EQ(error_of(WrappedPatientKey::from_json(missing)), ErrorCode::kMalformedEncoding);
  auto short_point = object;
  short_point["ephemeral_public_key"] = core::base64url_encode(core::Bytes(64, 4));
  EXPECT_EQ(error_of(WrappedPatientKey::from_json(short_point)), ErrorCode::kMalformedEncoding);
  auto zero_version = object;
  zero_version["key_version"] = 0;
  EXPECT_EQ(error_of(WrappedPatientKey::from_json(zero_version)), ErrorCode::kMalformedEncoding);
  EXPECT_EQ(error_of(WrappedPatientKey::from_json_text(std::string(5000, ' '))),
            ErrorCode::kMalformedEncoding);
}

}  // namespace
}  // namespace medledger::node::testing

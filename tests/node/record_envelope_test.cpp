// Sealed records: round trips, and every altered byte or moved ciphertext refused
// with DECRYPTION_FAILED.
#include <gtest/gtest.h>

#include "medledger/node/record_envelope.h"
#include "node_test_support.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;

const std::string kFhir =
    R"({"resourceType":"Observation","status":"final","code":{"text":"HbA1c"}})";

RecordContext context(std::string record_id = "rec-1", std::uint64_t version = 1) {
  return RecordContext{"patient-42", std::move(record_id), version, "application/fhir+json"};
}

class RecordEnvelopeTest : public ::testing::Test {
 protected:
  PatientKey key_ = expect_ok(generate_patient_key("patient-42"));
  SealedRecord sealed_ = expect_ok(seal_record(context(), core::to_bytes(kFhir), key_));
};

TEST_F(RecordEnvelopeTest, SealedRecordOpensToThePayloadThroughItsJson) {
  EXPECT_EQ(core::to_string(expect_ok(open_record(sealed_, key_))), kFhir);
  const std::string text = sealed_.to_json_text();
  EXPECT_EQ(text.find("Observation"), std::string::npos) << "plaintext leaked into the envelope";
  auto parsed = expect_ok(SealedRecord::from_json_text(text));
  EXPECT_EQ(parsed.to_json_text(), text);
  EXPECT_EQ(parsed.digest(), sealed_.digest());
  EXPECT_EQ(core::to_string(expect_ok(open_record(parsed, key_))), kFhir);
}

TEST_F(RecordEnvelopeTest, EmptyAndMaximumPayloadsRoundTrip) {
  auto empty = expect_ok(seal_record(context(), {}, key_));
  EXPECT_TRUE(expect_ok(open_record(empty, key_)).empty());
  core::Bytes big(kDefaultMaxRecordPayload, 0x5a);
  auto sealed = expect_ok(seal_record(context(), big, key_));
  EXPECT_EQ(
      expect_ok(open_record(expect_ok(SealedRecord::from_json_text(sealed.to_json_text())), key_)),
      big);
}

TEST_F(RecordEnvelopeTest, PayloadOverTheLimitIsRecordTooLarge) {
  core::Bytes big(kDefaultMaxRecordPayload + 1, 0x5a);
  EXPECT_EQ(error_of(seal_record(context(), big, key_)), ErrorCode::kRecordTooLarge);
  RecordLimits lowered{1024};
  EXPECT_EQ(error_of(seal_record(context(), core::Bytes(1025), key_, lowered)),
            ErrorCode::kRecordTooLarge);
  // A config cannot raise the limit past the ceiling.
  RecordLimits raised{kMaxRecordPayloadCeiling * 2};
  EXPECT_EQ(
      error_of(seal_record(context(), core::Bytes(kMaxRecordPayloadCeiling + 1), key_, raised)),
      ErrorCode::kRecordTooLarge);
  // A reader with a lower limit refuses a larger record.
  auto sealed = expect_ok(seal_record(context(), core::Bytes(2048), key_));
  EXPECT_EQ(error_of(open_record(sealed, key_, lowered)), ErrorCode::kRecordTooLarge);
}

TEST_F(RecordEnvelopeTest, TwoSealsOfOnePayloadShareNoKeyOrNonce) {
  auto again = expect_ok(seal_record(context(), core::to_bytes(kFhir), key_));
  EXPECT_NE(again.nonce, sealed_.nonce);
  EXPECT_NE(again.data_key_nonce, sealed_.data_key_nonce);
  EXPECT_NE(again.ciphertext, sealed_.ciphertext);
  EXPECT_NE(again.wrapped_data_key, sealed_.wrapped_data_key);
}

TEST_F(RecordEnvelopeTest, EveryAlteredCiphertextByteIsDecryptionFailed) {
  for (std::size_t i = 0; i < sealed_.ciphertext.size(); ++i) {
    SealedRecord bent = sealed_;
    bent.ciphertext[i] ^= 0x80;
    EXPECT_EQ(error_of(open_record(bent, key_)), ErrorCode::kDecryptionFailed) << "byte " << i;
  }
  SealedRecord cut = sealed_;
  cut.ciphertext.pop_back();
  EXPECT_EQ(error_of(open_record(cut, key_)), ErrorCode::kDecryptionFailed);
}

TEST_F(RecordEnvelopeTest, AlteredNoncesAndWrappedDataKeyAreDecryptionFailed) {
  SealedRecord bent = sealed_;
  bent.nonce[0] ^= 0x01;
  EXPECT_EQ(error_of(open_record(bent, key_)), ErrorCode::kDecryptionFailed);
  bent = sealed_;
  bent.data_key_nonce[11] ^= 0x01;
  EXPECT_EQ(error_of(open_record(bent, key_)), ErrorCode::kDecryptionFailed);
  for (std::size_t i = 0; i < sealed_.wrapped_data_key.size(); ++i) {
    bent = sealed_;
    bent.wrapped_data_key[i] ^= 0x01;
    EXPECT_EQ(error_of(open_record(bent, key_)), ErrorCode::kDecryptionFailed) << "byte " << i;
  }
}

TEST_F(RecordEnvelopeTest, ChangedBoundContextIsDecryptionFailed) {
  SealedRecord bent = sealed_;
  bent.context.record_id = "rec-2";
  EXPECT_EQ(error_of(open_record(bent, key_)), ErrorCode::kDecryptionFailed);
  bent = sealed_;
  bent.context.version = 2;
  EXPECT_EQ(error_of(open_record(bent, key_)), ErrorCode::kDecryptionFailed);
  bent = sealed_;
  bent.context.content_type = "text/plain";
  EXPECT_EQ(error_of(open_record(bent, key_)), ErrorCode::kDecryptionFailed);
}

TEST_F(RecordEnvelopeTest, CiphertextMovedToAnotherRecordDoesNotOpen) {
  auto other = expect_ok(seal_record(context("rec-2"), core::to_bytes("other"), key_));
  SealedRecord moved = other;
  moved.nonce = sealed_.nonce;
  moved.ciphertext = sealed_.ciphertext;
  EXPECT_EQ(error_of(open_record(moved, key_)), ErrorCode::kDecryptionFailed);
  // The whole envelope (data key included) under another record's id and version.
  moved = sealed_;
  moved.context = other.context;
  EXPECT_EQ(error_of(open_record(moved, key_)), ErrorCode::kDecryptionFailed);
}

TEST_F(RecordEnvelopeTest, WrongPatientKeyIsDecryptionFailed) {
  auto other_same_version = expect_ok(generate_patient_key("patient-42"));
  EXPECT_EQ(error_of(open_record(sealed_, other_same_version)), ErrorCode::kDecryptionFailed);
  auto rotated = expect_ok(rotate_patient_key(key_));
  EXPECT_EQ(rotated.version, 2u);
  EXPECT_EQ(error_of(open_record(sealed_, rotated)), ErrorCode::kDecryptionFailed);
  auto other_patient = expect_ok(generate_patient_key("patient-43"));
  EXPECT_EQ(error_of(open_record(sealed_, other_patient)), ErrorCode::kDecryptionFailed);
  // A patient key of version 1 with the version field changed is still the wrong key.
  auto relabelled = PatientKey{"patient-42", 2, rotated.key.clone()};
  SealedRecord claims_v2 = sealed_;
  claims_v2.patient_key_version = 2;
  EXPECT_EQ(error_of(open_record(claims_v2, relabelled)), ErrorCode::kDecryptionFailed);
}

TEST_F(RecordEnvelopeTest, SealingUnderAnotherPatientsKeyIsRefused) {
  auto other = expect_ok(generate_patient_key("patient-43"));
  EXPECT_EQ(error_of(seal_record(context(), core::to_bytes(kFhir), other)),
            ErrorCode::kInvalidArgument);
}

TEST_F(RecordEnvelopeTest, BadContextsAreInvalidArgument) {
  auto bad = context();
  bad.record_id = "";
  EXPECT_EQ(error_of(seal_record(bad, {}, key_)), ErrorCode::kInvalidArgument);
  bad = context();
  bad.record_id = "has space";
  EXPECT_EQ(error_of(seal_record(bad, {}, key_)), ErrorCode::kInvalidArgument);
  bad = context();
  bad.version = 0;
  EXPECT_EQ(error_of(seal_record(bad, {}, key_)), ErrorCode::kInvalidArgument);
  bad = context();
  bad.content_type = std::string(kMaxContentTypeBytes + 1, 'a');
  EXPECT_EQ(error_of(seal_record(bad, {}, key_)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(generate_patient_key(std::string(kMaxIdentifierBytes + 1, 'p'))),
            ErrorCode::kInvalidArgument);
}

TEST_F(RecordEnvelopeTest, MalformedJsonIsMalformedEncoding) {
  auto object = sealed_.to_json();
  auto without = object;
  without.erase("nonce");
  EXPECT_EQ(error_of(SealedRecord::from_json(without)), ErrorCode::kMalformedEncoding);
  auto extra = object;
  extra["plaintext"] = "x";
  EXPECT_EQ(error_of(SealedRecord::from_json(extra)), ErrorCode::kMalformedEncoding);
  auto short_nonce = object;
  short_nonce["nonce"] = core::base64url_encode(core::Bytes(11, 1));
  EXPECT_EQ(error_of(SealedRecord::from_json(short_nonce)), ErrorCode::kMalformedEncoding);
  auto padded = object;
  padded["nonce"] = std::string(padded["nonce"].as_string()) + "=";
  EXPECT_EQ(error_of(SealedRecord::from_json(padded)), ErrorCode::kMalformedEncoding);
  auto wrong_format = object;
  wrong_format["format"] = "medledger-record-v2";
  EXPECT_EQ(error_of(SealedRecord::from_json(wrong_format)), ErrorCode::kMalformedEncoding);
  auto negative = object;
  negative["version"] = -1;
  EXPECT_EQ(error_of(SealedRecord::from_json(negative)), ErrorCode::kMalformedEncoding);
  EXPECT_EQ(error_of(SealedRecord::from_json_text("[]")), ErrorCode::kMalformedEncoding);
  EXPECT_EQ(error_of(SealedRecord::from_json_text("{")), ErrorCode::kMalformedEncoding);
}

}  // namespace
}  // namespace medledger::node::testing

// The medical-records contract, records: record.put dual verification (every
// rejection reason), versions and history, and that rejections change nothing.
#include "medledger/core/canonical_json.h"
#include "records_fixture.h"

namespace medledger::ledger::testing {
namespace {

using ca::Role;
using core::ErrorCode;

class RecordsPut : public RecordsLedgerTest {
 protected:
  void SetUp() override {
    RecordsLedgerTest::SetUp();
    doctor = enrol(*a, Role::kDoctor, "dr-1");
    patient = enrol(*a, Role::kPatient, "p-1");
    node = enrol(*a, Role::kNode, "node-1");
  }
  bool record_exists(const std::string& id) {
    auto r = find_record(*snapshot(), id);
    EXPECT_TRUE(r);
    return r && r->has_value();
  }
  Identity doctor, patient, node;
};

TEST_F(RecordsPut, DoctorPatientAndNodeSignaturesStoreVersionOne) {
  auto [result, id] = put(put_body("rec-1", 1, patient), {&doctor, &patient, &node});
  EXPECT_ACCEPTED(result);
  auto state = snapshot();
  auto record = find_record(*state, "rec-1");
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->owner, "hospital-a/p-1");
  EXPECT_EQ((*record)->hospital, "hospital-a");
  EXPECT_EQ((*record)->latest, 1u);
  EXPECT_EQ((*record)->latest_tx, id);
  auto version = find_record_version(*state, "rec-1", 1);
  ASSERT_TRUE(version && *version);
  EXPECT_EQ((*version)->doctor, "hospital-a/dr-1");
  EXPECT_EQ((*version)->doctor_cert, doctor.fp);
  EXPECT_EQ((*version)->patient_cert, patient.fp);
  EXPECT_EQ((*version)->node_cert, node.fp);
  EXPECT_EQ((*version)->plaintext_digest, core::sha256(core::to_bytes("payload")));
  auto owned = patient_records(*state, "hospital-a/p-1");
  ASSERT_TRUE(owned);
  EXPECT_EQ(*owned, std::vector<std::string>{"rec-1"});
}

TEST_F(RecordsPut, SignatureOrderDoesNotMatter) {
  EXPECT_ACCEPTED(put(put_body("rec-1", 1, patient), {&node, &patient, &doctor}).first);
}

TEST_F(RecordsPut, MissingDoctorSignatureIsRejectedAndNothingIsStored) {
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&patient, &node}).first, kDoctorSignatureMissing);
  EXPECT_FALSE(record_exists("rec-1"));
}

TEST_F(RecordsPut, MissingPatientSignatureIsRejected) {
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&doctor, &node}).first, kPatientSignatureMissing);
  EXPECT_FALSE(record_exists("rec-1"));
}

TEST_F(RecordsPut, MissingNodeEndorsementIsRejected) {
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&doctor, &patient}).first, kNodeSignatureMissing);
  EXPECT_FALSE(record_exists("rec-1"));
}

TEST_F(RecordsPut, NoSignatureAtAllIsRejected) {
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {}).first, kDoctorSignatureMissing);
}

TEST_F(RecordsPut, DoctorSigningInThePatientsPlaceIsRejected) {
  Identity other_doctor = enrol(*a, Role::kDoctor, "dr-2");
  // Two doctors and a node: one doctor signs where the patient should.
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&doctor, &other_doctor, &node}).first,
              kSignerRoleDuplicated);
  // The body names the doctor as the patient: the doctor's certificate cannot fill the patient's
  // role.
  RecordPutBody as_patient = put_body("rec-1", 1, patient);
  as_patient.patient = doctor.principal;
  EXPECT_CODE(put(as_patient, {&doctor, &node}).first, kPatientSignatureMissing);
  EXPECT_CODE(put(as_patient, {&doctor, &patient, &node}).first, kPatientMismatch);
  EXPECT_FALSE(record_exists("rec-1"));
}

TEST_F(RecordsPut, ExtraSignerOfAnotherRoleIsRejectedAsWrongRole) {
  Identity auditor = enrol(*a, Role::kAuditor, "aud-1");
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&doctor, &patient, &node, &auditor}).first,
              kCertificateWrongRole);
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&doctor, &patient, &node, &a->ca_identity}).first,
              kCertificateWrongRole);
}

TEST_F(RecordsPut, SignerCertificateNotOnTheLedgerIsRejected) {
  Identity unregistered = issue(*a, Role::kDoctor, "dr-ghost");
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&unregistered, &patient, &node}).first,
              kCertNotOnLedger);
}

TEST_F(RecordsPut, BadSignatureIsRejected) {
  Transaction tx =
      make_tx(std::string(kTxRecordPut), make_record_put_body(put_body("rec-1", 1, patient)));
  sign(tx, doctor);
  sign(tx, patient);
  sign(tx, node);
  // The patient's signature is replaced by one over another digest.
  auto other = patient.key->sign_digest(core::sha256(core::to_bytes("something else")));
  ASSERT_TRUE(other);
  tx.signatures[1].signature = *other;
  EXPECT_CODE(submit(tx), kSignatureInvalid);
  EXPECT_FALSE(record_exists("rec-1"));
}

TEST_F(RecordsPut, TamperedBodyAfterSigningIsRejected) {
  Transaction tx =
      make_tx(std::string(kTxRecordPut), make_record_put_body(put_body("rec-1", 1, patient)));
  sign(tx, doctor);
  sign(tx, patient);
  sign(tx, node);
  tx.body["plaintext_digest"] =
      core::base64url_encode(core::sha256(core::to_bytes("altered payload")));
  EXPECT_CODE(submit(tx), kSignatureInvalid);
  EXPECT_FALSE(record_exists("rec-1"));
}

TEST_F(RecordsPut, SignatureWithAWrongAlgorithmNameIsRejected) {
  Transaction tx =
      make_tx(std::string(kTxRecordPut), make_record_put_body(put_body("rec-1", 1, patient)));
  sign(tx, doctor);
  sign(tx, patient);
  sign(tx, node);
  tx.signatures[0].algorithm = core::KeyAlgorithm::kEd25519;
  EXPECT_CODE(submit(tx), kUnsupportedAlgorithm);
}

TEST_F(RecordsPut, RevokedDoctorCertificateIsRejected) {
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(doctor.fp, "keyCompromise"),
                                {&a->ca_identity}));
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&doctor, &patient, &node}).first,
              kCertificateRevoked);
}

TEST_F(RecordsPut, RevokedNodeCertificateIsRejected) {
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(node.fp, "cessationOfOperation"), {&node}));
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&doctor, &patient, &node}).first,
              kCertificateRevoked);
}

TEST_F(RecordsPut, PatientCertificateExpiredAtTheBlockTimeIsRejected) {
  Identity short_lived = issue(*a, Role::kPatient, "p-short", kT0, 1);
  EXPECT_ACCEPTED(register_cert(*a, short_lived));
  EXPECT_ACCEPTED(put(put_body("rec-1", 1, short_lived), {&doctor, &short_lived, &node}).first);
  // Two days later (block time), the same patient's certificate has expired.
  now_ms += 2 * kDayMs;
  EXPECT_CODE(put(put_body("rec-2", 1, short_lived), {&doctor, &short_lived, &node}).first,
              kCertificateExpired);
}

TEST_F(RecordsPut, DoctorCertificateNotYetValidAtTheBlockTimeIsRejected) {
  Identity later = issue(*a, Role::kDoctor, "dr-later", kT0 + 10 * 86400);
  EXPECT_ACCEPTED(register_cert(*a, later));
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&later, &patient, &node}).first,
              kCertificateNotYetValid);
  now_ms += 11 * kDayMs;
  // By then the other certificates (valid 365/730 days) are still valid.
  EXPECT_ACCEPTED(put(put_body("rec-1", 1, patient), {&later, &patient, &node}).first);
}

TEST_F(RecordsPut, NodeOfAnotherHospitalCannotEndorse) {
  Identity node_b = enrol(*b, Role::kNode, "node-b");
  EXPECT_CODE(put(put_body("rec-1", 1, patient), {&doctor, &patient, &node_b}).first,
              kNodeHospitalMismatch);
}

TEST_F(RecordsPut, DoctorOfAnotherHospitalMayWriteWithItsOwnNode) {
  Identity doctor_b = enrol(*b, Role::kDoctor, "dr-b");
  Identity node_b = enrol(*b, Role::kNode, "node-b");
  EXPECT_ACCEPTED(put(put_body("rec-1", 1, patient), {&doctor_b, &patient, &node_b}).first);
  auto record = find_record(*snapshot(), "rec-1");
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->hospital, "hospital-a");  // the owner's hospital
}

TEST_F(RecordsPut, VersionsLinkToThePreviousAndHistoryIsKept) {
  auto [r1, id1] = put(put_body("rec-1", 1, patient, {}, "v1"), {&doctor, &patient, &node});
  EXPECT_ACCEPTED(r1);
  auto [r2, id2] = put(put_body("rec-1", 2, patient, id1, "v2"), {&doctor, &patient, &node});
  EXPECT_ACCEPTED(r2);
  auto [r3, id3] = put(put_body("rec-1", 3, patient, id2, "v3"), {&doctor, &patient, &node});
  EXPECT_ACCEPTED(r3);
  auto state = snapshot();
  auto record = find_record(*state, "rec-1");
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->latest, 3u);
  EXPECT_EQ((*record)->latest_tx, id3);
  for (std::uint64_t v = 1; v <= 3; ++v) {
    auto version = find_record_version(*state, "rec-1", v);
    ASSERT_TRUE(version && *version) << v;
    EXPECT_EQ((*version)->plaintext_digest, core::sha256(core::to_bytes("v" + std::to_string(v))));
  }
  auto v2 = find_record_version(*state, "rec-1", 2);
  ASSERT_TRUE((*v2)->previous);
  EXPECT_EQ(*(*v2)->previous, id1);
  EXPECT_FALSE((*find_record_version(*state, "rec-1", 1))->previous);
}

TEST_F(RecordsPut, VersionThatDoesNotFollowTheLatestIsAConflict) {
  auto [r1, id1] = put(put_body("rec-1", 1, patient), {&doctor, &patient, &node});
  EXPECT_ACCEPTED(r1);
  auto [r2, id2] = put(put_body("rec-1", 2, patient, id1), {&doctor, &patient, &node});
  EXPECT_ACCEPTED(r2);
  // Another version 2 on top of version 1 (a concurrent writer that lost).
  EXPECT_CODE(put(put_body("rec-1", 2, patient, id1, "late"), {&doctor, &patient, &node}).first,
              kRecordVersionConflict);
  // Version 3 that links to version 1 instead of 2.
  EXPECT_CODE(put(put_body("rec-1", 3, patient, id1), {&doctor, &patient, &node}).first,
              kRecordVersionConflict);
  // A skipped version.
  EXPECT_CODE(put(put_body("rec-1", 4, patient, id2), {&doctor, &patient, &node}).first,
              kRecordVersionConflict);
  auto record = find_record(*snapshot(), "rec-1");
  EXPECT_EQ((*record)->latest, 2u);
}

TEST_F(RecordsPut, VersionOneOfAnExistingRecordOrALaterVersionOfAnUnknownOneIsRejected) {
  auto [r1, id1] = put(put_body("rec-1", 1, patient), {&doctor, &patient, &node});
  EXPECT_ACCEPTED(r1);
  EXPECT_CODE(put(put_body("rec-1", 1, patient, {}, "again"), {&doctor, &patient, &node}).first,
              kRecordAlreadyExists);
  EXPECT_CODE(put(put_body("rec-9", 2, patient, id1), {&doctor, &patient, &node}).first,
              kRecordNotFound);
}

TEST_F(RecordsPut, PatientOfAnotherRecordCannotAddAVersion) {
  Identity other_patient = enrol(*a, Role::kPatient, "p-2");
  auto [r1, id1] = put(put_body("rec-1", 1, patient), {&doctor, &patient, &node});
  EXPECT_ACCEPTED(r1);
  EXPECT_CODE(put(put_body("rec-1", 2, other_patient, id1), {&doctor, &other_patient, &node}).first,
              kRecordNotOwner);
  EXPECT_CODE(put(put_body("rec-1", 1, other_patient), {&doctor, &other_patient, &node}).first,
              kRecordAlreadyExists);
}

TEST_F(RecordsPut, PreviousIsRequiredAfterVersionOneAndRefusedForIt) {
  auto with_previous = put_body("rec-1", 1, patient, core::sha256(core::to_bytes("x")));
  EXPECT_CODE(put(with_previous, {&doctor, &patient, &node}).first, kContractBodyInvalid);
  EXPECT_CODE(put(put_body("rec-1", 2, patient), {&doctor, &patient, &node}).first,
              kContractBodyInvalid);
}

TEST_F(RecordsPut, MalformedBodiesAreRejected) {
  auto body = make_record_put_body(put_body("rec-1", 1, patient));
  auto expect_invalid = [&](boost::json::object changed) {
    EXPECT_CODE(
        signed_submit(std::string(kTxRecordPut), std::move(changed), {&doctor, &patient, &node}),
        kContractBodyInvalid);
  };
  auto changed = body;
  changed["version"] = 0;
  expect_invalid(changed);
  changed = body;
  changed["patient"] = "p-1";  // not a principal
  expect_invalid(changed);
  changed = body;
  changed["envelope_digest"] = "AAAA";  // not 32 bytes
  expect_invalid(changed);
  changed = body;
  changed.erase("content_type");
  expect_invalid(changed);
  changed = body;
  changed["record"] = "rec 1";  // a space
  expect_invalid(changed);
  EXPECT_FALSE(record_exists("rec-1"));
}

TEST_F(RecordsPut, EnvelopeOnTheLedgerMustHashToItsDigestAndNameTheSameRecord) {
  boost::json::object envelope{{"format", "medledger-record-v1"},
                               {"record_id", "rec-1"},
                               {"version", 1},
                               {"patient_id", patient.principal},
                               {"content_type", "application/fhir+json"},
                               {"ciphertext", "AAAA"}};
  RecordPutBody body = put_body("rec-1", 1, patient);
  body.envelope = envelope;
  body.envelope_digest = core::sha256(core::to_bytes(core::canonicalize(envelope)));
  RecordPutBody wrong_digest = body;
  wrong_digest.envelope_digest = core::sha256(core::to_bytes("other"));
  EXPECT_CODE(put(wrong_digest, {&doctor, &patient, &node}).first, kRecordDigestMismatch);
  RecordPutBody other_record = body;
  other_record.envelope->at("record_id") = "rec-2";
  other_record.envelope_digest =
      core::sha256(core::to_bytes(core::canonicalize(*other_record.envelope)));
  EXPECT_CODE(put(other_record, {&doctor, &patient, &node}).first, kRecordDigestMismatch);
  EXPECT_ACCEPTED(put(body, {&doctor, &patient, &node}).first);
  auto version = find_record_version(*snapshot(), "rec-1", 1);
  ASSERT_TRUE(version && *version && (*version)->envelope);
  EXPECT_EQ(*(*version)->envelope, envelope);
}

TEST_F(RecordsPut, LedgerWithAcceptedAndRejectedRecordsVerifiesClean) {
  auto [r1, id1] = put(put_body("rec-1", 1, patient), {&doctor, &patient, &node});
  EXPECT_ACCEPTED(r1);
  EXPECT_CODE(put(put_body("rec-2", 1, patient), {&doctor, &node}).first, kPatientSignatureMissing);
  EXPECT_ACCEPTED(put(put_body("rec-1", 2, patient, id1), {&doctor, &patient, &node}).first);
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(doctor.fp, "superseded"), {&a->ca_identity}));
  EXPECT_CODE(put(put_body("rec-3", 1, patient), {&doctor, &patient, &node}).first,
              kCertificateRevoked);
  expect_verify_clean();
}

}  // namespace
}  // namespace medledger::ledger::testing

// The medical-records contract, sharing: access.grant / access.revoke signed by the
// patient, record.read allowed to the owner's hospital and to grantees only, the
// audit indexes, and a full two-hospital scenario that `ledger verify` replays.
#include "records_fixture.h"

namespace medledger::ledger::testing {
namespace {

using ca::Role;
using core::ErrorCode;

class RecordsAccess : public RecordsLedgerTest {
 protected:
  void SetUp() override {
    RecordsLedgerTest::SetUp();
    doctor_a = enrol(*a, Role::kDoctor, "dr-a");
    patient = enrol(*a, Role::kPatient, "p-1");
    node_a = enrol(*a, Role::kNode, "node-a");
    doctor_b = enrol(*b, Role::kDoctor, "dr-b");
    node_b = enrol(*b, Role::kNode, "node-b");
    auto [r1, id1] = put(put_body("rec-1", 1, patient), {&doctor_a, &patient, &node_a});
    EXPECT_ACCEPTED(r1);
    rec1_v1 = id1;
    EXPECT_ACCEPTED(put(put_body("rec-2", 1, patient), {&doctor_a, &patient, &node_a}).first);
  }

  std::uint16_t read(const Identity& doctor, const Identity& node, const std::string& record,
                     std::optional<std::uint64_t> version = {}) {
    return signed_submit(std::string(kTxRecordRead),
                         make_record_read_body({record, version, "treatment"}), {&doctor, &node});
  }
  std::uint16_t grant(AccessGrantBody body, const std::vector<const Identity*>& signers) {
    return signed_submit(std::string(kTxAccessGrant), make_access_grant_body(body), signers);
  }
  std::uint16_t revoke(AccessRevokeBody body, const std::vector<const Identity*>& signers) {
    return signed_submit(std::string(kTxAccessRevoke), make_access_revoke_body(body), signers);
  }
  AccessGrantBody grant_to(const std::string& grantee, std::vector<std::string> scope = {},
                           std::optional<std::int64_t> expires = {}) {
    AccessGrantBody body;
    body.patient = patient.principal;
    body.grantee = grantee;
    body.scope = std::move(scope);
    body.expires_ms = expires;
    return body;
  }

  Identity doctor_a, patient, node_a, doctor_b, node_b;
  core::Digest rec1_v1{};
};

TEST_F(RecordsAccess, DoctorOfTheOwnersHospitalReadsAndTheReadIsIndexed) {
  EXPECT_ACCEPTED(read(doctor_a, node_a, "rec-1"));
  auto state = snapshot();
  auto reads = reads_of_record(*state, "rec-1");
  ASSERT_TRUE(reads);
  ASSERT_EQ(reads->size(), 1u);
  EXPECT_EQ((*reads)[0].doctor, "hospital-a/dr-a");
  EXPECT_EQ((*reads)[0].patient, "hospital-a/p-1");
  EXPECT_EQ((*reads)[0].version, 1u);
  EXPECT_EQ((*reads)[0].basis, "own-hospital");
  EXPECT_EQ((*reads)[0].purpose, "treatment");
  EXPECT_EQ((*reads)[0].time_ms, now_ms);
  auto by_patient = reads_of_patient(*state, "hospital-a/p-1");
  ASSERT_TRUE(by_patient);
  ASSERT_EQ(by_patient->size(), 1u);
  EXPECT_EQ((*by_patient)[0].tx, (*reads)[0].tx);
}

TEST_F(RecordsAccess, ReadWithoutAGrantIsRefusedAndNotIndexed) {
  EXPECT_CODE(read(doctor_b, node_b, "rec-1"), kReadNotAuthorized);
  auto reads = reads_of_record(*snapshot(), "rec-1");
  ASSERT_TRUE(reads);
  EXPECT_TRUE(reads->empty());
}

TEST_F(RecordsAccess, ReadOfAnUnknownRecordOrVersionIsRejected) {
  EXPECT_CODE(read(doctor_a, node_a, "rec-9"), kRecordNotFound);
  EXPECT_CODE(read(doctor_a, node_a, "rec-1", 2), kRecordNotFound);
  EXPECT_ACCEPTED(read(doctor_a, node_a, "rec-1", 1));
}

TEST_F(RecordsAccess, ReadNeedsTheDoctorAndANodeOfTheDoctorsHospital) {
  EXPECT_CODE(signed_submit(std::string(kTxRecordRead), make_record_read_body({"rec-1", {}, "x"}),
                            {&node_a}),
              kDoctorSignatureMissing);
  EXPECT_CODE(signed_submit(std::string(kTxRecordRead), make_record_read_body({"rec-1", {}, "x"}),
                            {&doctor_a}),
              kNodeSignatureMissing);
  EXPECT_CODE(read(doctor_a, node_b, "rec-1"), kNodeHospitalMismatch);
  EXPECT_CODE(signed_submit(std::string(kTxRecordRead), make_record_read_body({"rec-1", {}, "x"}),
                            {&patient, &node_a}),
              kDoctorSignatureMissing);
}

TEST_F(RecordsAccess, HospitalGrantLetsItsDoctorsRead) {
  EXPECT_ACCEPTED(grant(grant_to("hospital-b"), {&patient, &node_a}));
  EXPECT_ACCEPTED(read(doctor_b, node_b, "rec-1"));
  EXPECT_ACCEPTED(read(doctor_b, node_b, "rec-2"));
  auto reads = reads_of_record(*snapshot(), "rec-1");
  ASSERT_TRUE(reads);
  ASSERT_EQ(reads->size(), 1u);
  EXPECT_EQ((*reads)[0].basis, "grant:hospital-b");
  EXPECT_EQ((*reads)[0].doctor, "hospital-b/dr-b");
}

TEST_F(RecordsAccess, DoctorGrantCoversOnlyThatDoctor) {
  Identity other_b = enrol(*b, Role::kDoctor, "dr-b2");
  EXPECT_ACCEPTED(grant(grant_to("hospital-b/dr-b"), {&patient, &node_a}));
  EXPECT_ACCEPTED(read(doctor_b, node_b, "rec-1"));
  EXPECT_CODE(read(other_b, node_b, "rec-1"), kReadNotAuthorized);
}

TEST_F(RecordsAccess, ScopedGrantCoversOnlyTheListedRecords) {
  EXPECT_ACCEPTED(grant(grant_to("hospital-b", {"rec-1"}), {&patient, &node_a}));
  EXPECT_ACCEPTED(read(doctor_b, node_b, "rec-1"));
  EXPECT_CODE(read(doctor_b, node_b, "rec-2"), kReadNotAuthorized);
}

TEST_F(RecordsAccess, GrantIsStoredWithItsScopeExpiryAndWrappedKeys) {
  AccessGrantBody body = grant_to("hospital-b", {"rec-1"}, now_ms + kDayMs);
  body.wrapped_keys = {
      boost::json::object{{"format", "medledger-patient-key-v1"}, {"key_version", 1}}};
  EXPECT_ACCEPTED(grant(body, {&patient, &node_b}));  // any admitted node may endorse a grant
  auto found = find_grant(*snapshot(), "hospital-a/p-1", "hospital-b");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->status, "active");
  EXPECT_EQ((*found)->scope, std::vector<std::string>{"rec-1"});
  ASSERT_TRUE((*found)->expires_ms);
  EXPECT_EQ(*(*found)->expires_ms, now_ms - kBlockStepMs + kDayMs);
  ASSERT_EQ((*found)->wrapped_keys.size(), 1u);
  EXPECT_EQ((*found)->wrapped_keys[0].at("format").as_string(), "medledger-patient-key-v1");
}

TEST_F(RecordsAccess, ExpiredGrantNoLongerAllowsReading) {
  EXPECT_ACCEPTED(
      grant(grant_to("hospital-b", {}, now_ms + 10 * kBlockStepMs), {&patient, &node_a}));
  EXPECT_ACCEPTED(read(doctor_b, node_b, "rec-1"));
  now_ms += 20 * kBlockStepMs;
  EXPECT_CODE(read(doctor_b, node_b, "rec-1"), kGrantExpired);
}

TEST_F(RecordsAccess, GrantExpiringBeforeTheBlockIsInvalid) {
  EXPECT_CODE(grant(grant_to("hospital-b", {}, now_ms), {&patient, &node_a}), kContractBodyInvalid);
}

TEST_F(RecordsAccess, RevokedGrantStopsLaterReads) {
  EXPECT_ACCEPTED(grant(grant_to("hospital-b"), {&patient, &node_a}));
  EXPECT_ACCEPTED(read(doctor_b, node_b, "rec-1"));
  EXPECT_ACCEPTED(revoke({patient.principal, "hospital-b", {}, {}}, {&patient, &node_a}));
  EXPECT_CODE(read(doctor_b, node_b, "rec-1"), kGrantRevoked);
  auto found = find_grant(*snapshot(), "hospital-a/p-1", "hospital-b");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->status, "revoked");
  EXPECT_EQ((*found)->revoked_at_ms, now_ms - kBlockStepMs);
  ASSERT_TRUE((*found)->revoke_tx);
  // The audit trail keeps the read made while the grant held.
  auto reads = reads_of_record(*snapshot(), "rec-1");
  ASSERT_TRUE(reads);
  EXPECT_EQ(reads->size(), 1u);
  // A new grant makes it active again.
  EXPECT_ACCEPTED(grant(grant_to("hospital-b"), {&patient, &node_a}));
  EXPECT_ACCEPTED(read(doctor_b, node_b, "rec-1"));
}

TEST_F(RecordsAccess, RevokeRecordsTheRotatedPatientKeyVersion) {
  EXPECT_ACCEPTED(grant(grant_to("hospital-b"), {&patient, &node_a}));
  AccessRevokeBody body{
      patient.principal, "hospital-b", 2, {boost::json::object{{"key_version", 2}}}};
  EXPECT_ACCEPTED(revoke(body, {&patient, &node_a}));
  auto key = latest_patient_key(*snapshot(), "hospital-a/p-1");
  ASSERT_TRUE(key && *key);
  EXPECT_EQ((*key)->version, 2u);
  ASSERT_EQ((*key)->wrapped_keys.size(), 1u);
  // A later rotation must go above version 2.
  EXPECT_ACCEPTED(grant(grant_to("hospital-b"), {&patient, &node_a}));
  EXPECT_CODE(revoke({patient.principal, "hospital-b", 2, {}}, {&patient, &node_a}),
              kPatientKeyVersionStale);
  EXPECT_ACCEPTED(revoke({patient.principal, "hospital-b", 3, {}}, {&patient, &node_a}));
}

TEST_F(RecordsAccess, RevokeOfAGrantThatIsNotActiveIsRejected) {
  EXPECT_CODE(revoke({patient.principal, "hospital-b", {}, {}}, {&patient, &node_a}),
              kGrantNotFound);
  EXPECT_ACCEPTED(grant(grant_to("hospital-b"), {&patient, &node_a}));
  EXPECT_ACCEPTED(revoke({patient.principal, "hospital-b", {}, {}}, {&patient, &node_a}));
  EXPECT_CODE(revoke({patient.principal, "hospital-b", {}, {}}, {&patient, &node_a}),
              kGrantNotFound);
}

TEST_F(RecordsAccess, OnlyThePatientGrantsOrRevokes) {
  Identity other_patient = enrol(*a, Role::kPatient, "p-2");
  EXPECT_CODE(grant(grant_to("hospital-b"), {&doctor_a, &node_a}), kPatientSignatureMissing);
  EXPECT_CODE(grant(grant_to("hospital-b"), {&patient}), kNodeSignatureMissing);
  EXPECT_CODE(grant(grant_to("hospital-b"), {&other_patient, &node_a}), kPatientMismatch);
  EXPECT_CODE(grant(grant_to("hospital-b"), {&patient, &node_a, &doctor_a}), kCertificateWrongRole);
  EXPECT_ACCEPTED(grant(grant_to("hospital-b"), {&patient, &node_a}));
  EXPECT_CODE(revoke({patient.principal, "hospital-b", {}, {}}, {&doctor_a, &node_a}),
              kPatientSignatureMissing);
  EXPECT_CODE(revoke({patient.principal, "hospital-b", {}, {}}, {&other_patient, &node_a}),
              kPatientMismatch);
  EXPECT_ACCEPTED(read(doctor_b, node_b, "rec-1"));
}

TEST_F(RecordsAccess, GrantOfAnotherPatientsRecordOrToAnUnknownHospitalIsRejected) {
  Identity other_patient = enrol(*a, Role::kPatient, "p-2");
  EXPECT_ACCEPTED(
      put(put_body("rec-x", 1, other_patient), {&doctor_a, &other_patient, &node_a}).first);
  EXPECT_CODE(grant(grant_to("hospital-b", {"rec-x"}), {&patient, &node_a}), kRecordNotOwner);
  EXPECT_CODE(grant(grant_to("hospital-b", {"rec-404"}), {&patient, &node_a}), kRecordNotFound);
  EXPECT_CODE(grant(grant_to("hospital-c"), {&patient, &node_a}), kHospitalNotAdmitted);
  EXPECT_CODE(grant(grant_to("hospital-b", {"rec-1", "rec-1"}), {&patient, &node_a}),
              kContractBodyInvalid);
}

TEST_F(RecordsAccess, RevokedPatientCertificateCannotGrant) {
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(patient.fp, "keyCompromise"), {&patient}));
  EXPECT_CODE(grant(grant_to("hospital-b"), {&patient, &node_a}), kCertificateRevoked);
}

TEST_F(RecordsAccess, AuthoriseReadGivesTheBasisOrTheRefusalInTheContractsOrder) {
  auto basis_at = [&](const std::string& reader, std::int64_t at) -> std::string {
    auto state = snapshot();
    auto record = find_record(*state, "rec-1");
    EXPECT_TRUE(record && *record);
    auto basis = authorise_read(*state, **record, reader, at);
    return basis ? *basis : std::string(core::error_code_name(basis.error().code));
  };
  EXPECT_EQ(basis_at("hospital-a/dr-anyone", now_ms), "own-hospital");
  EXPECT_EQ(basis_at("hospital-b/dr-b", now_ms), "READ_NOT_AUTHORIZED");
  EXPECT_ACCEPTED(grant(grant_to("hospital-b"), {&patient, &node_a}));
  EXPECT_EQ(basis_at("hospital-b/dr-b", now_ms), "grant:hospital-b");
  const std::int64_t expiry = now_ms + 10 * kBlockStepMs;
  EXPECT_ACCEPTED(grant(grant_to("hospital-b/dr-b", {}, expiry), {&patient, &node_a}));
  EXPECT_EQ(basis_at("hospital-b/dr-b", expiry - 1), "grant:hospital-b/dr-b");  // own grant first
  EXPECT_EQ(basis_at("hospital-b/dr-b", expiry), "grant:hospital-b");
  EXPECT_ACCEPTED(revoke({patient.principal, "hospital-b", {}, {}}, {&patient, &node_a}));
  EXPECT_EQ(basis_at("hospital-b/dr-b", expiry), "GRANT_EXPIRED");  // before GRANT_REVOKED
  EXPECT_EQ(basis_at("hospital-b/dr-other", expiry), "GRANT_REVOKED");
  EXPECT_EQ(basis_at("hospital-c/dr-c", now_ms), "READ_NOT_AUTHORIZED");
  // A grant whose scope leaves the record out counts as none.
  EXPECT_ACCEPTED(grant(grant_to("hospital-b/dr-scoped", {"rec-2"}), {&patient, &node_a}));
  EXPECT_EQ(basis_at("hospital-b/dr-scoped", expiry), "GRANT_REVOKED");
}

TEST_F(RecordsAccess, TwoHospitalScenarioVerifiesCleanWithAFreshContract) {
  // Admit a third hospital, share across hospitals, revoke, and mix in rejections.
  EXPECT_ACCEPTED(
      signed_submit(std::string(kTxHospitalAdmit),
                    make_hospital_admit_body({"hospital-c", {c->ca_identity.cert->to_pem()}}),
                    {&c->ca_identity, &b->ca_identity}));
  Identity doctor_c = enrol(*c, Role::kDoctor, "dr-c");
  Identity node_c = enrol(*c, Role::kNode, "node-c");
  EXPECT_CODE(read(doctor_c, node_c, "rec-1"), kReadNotAuthorized);
  EXPECT_ACCEPTED(grant(grant_to("hospital-c", {"rec-1"}, now_ms + kDayMs), {&patient, &node_a}));
  EXPECT_ACCEPTED(read(doctor_c, node_c, "rec-1"));
  EXPECT_ACCEPTED(
      put(put_body("rec-1", 2, patient, rec1_v1), {&doctor_a, &patient, &node_a}).first);
  EXPECT_ACCEPTED(read(doctor_c, node_c, "rec-1", 2));
  EXPECT_ACCEPTED(revoke({patient.principal, "hospital-c", 2, {}}, {&patient, &node_a}));
  EXPECT_CODE(read(doctor_c, node_c, "rec-1"), kGrantRevoked);
  EXPECT_ACCEPTED(read(doctor_a, node_a, "rec-2"));
  auto reads = reads_of_patient(*snapshot(), "hospital-a/p-1");
  ASSERT_TRUE(reads);
  ASSERT_EQ(reads->size(), 3u);
  EXPECT_EQ((*reads)[0].basis, "grant:hospital-c");
  EXPECT_EQ((*reads)[1].version, 2u);
  EXPECT_EQ((*reads)[2].record, "rec-2");
  EXPECT_LT((*reads)[0].sequence, (*reads)[1].sequence);
  expect_verify_clean();
  // Reopened from disk, the ledger still verifies (what `medledger ledger verify` does).
  ledger.reset();
  auto reopened = Ledger::open(dir.path() / "ledger");
  ASSERT_TRUE(reopened) << reopened.error().to_string();
  ledger = std::move(*reopened);
  expect_verify_clean();
}

}  // namespace
}  // namespace medledger::ledger::testing

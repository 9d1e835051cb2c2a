// The medical-records contract, identities: genesis seeding, hospital.admit with
// quorum, cert.register / cert.revoke, the time window and ledger-level replay.
#include "records_fixture.h"

namespace medledger::ledger::testing {
namespace {

using ca::Role;
using core::ErrorCode;

using RecordsIdentity = RecordsLedgerTest;

TEST_F(RecordsIdentity, GenesisSeedsTheFoundingHospitalsAndTheirCaCertificates) {
  auto state = snapshot();
  auto hospitals = list_hospitals(*state);
  ASSERT_TRUE(hospitals);
  ASSERT_EQ(hospitals->size(), 2u);
  EXPECT_EQ((*hospitals)[0].id, "hospital-a");
  EXPECT_EQ((*hospitals)[1].id, "hospital-b");
  ASSERT_EQ((*hospitals)[0].ca_certs.size(), 1u);
  EXPECT_EQ((*hospitals)[0].ca_certs[0], a->ca_identity.fp);
  auto c_entry = find_hospital(*state, "hospital-c");
  ASSERT_TRUE(c_entry);
  EXPECT_FALSE(*c_entry);
}

TEST_F(RecordsIdentity, GenesisWithANonCaCertificateIsRefusedAndNoLedgerIsFounded) {
  Identity doctor = issue(*a, Role::kDoctor, "dr-1");
  GenesisConfig config;
  config.consortium = "bad";
  config.hospitals = {{"hospital-a", {doctor.cert->to_pem()}}};
  config.proposers = {proposer.get()};
  RecordsContract fresh;
  auto created =
      Ledger::create(dir.path() / "other", make_genesis_document(config), fresh, *proposer, kT0Ms);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kTxRejected);
}

TEST_F(RecordsIdentity, GenesisWhoseCaNamesAnotherHospitalIsRefused) {
  GenesisConfig config;
  config.consortium = "bad";
  config.hospitals = {{"hospital-x", {a->ca_identity.cert->to_pem()}}};
  config.proposers = {proposer.get()};
  RecordsContract fresh;
  EXPECT_FALSE(
      Ledger::create(dir.path() / "other", make_genesis_document(config), fresh, *proposer, kT0Ms));
}

TEST_F(RecordsIdentity, RegisterSignedByTheIssuingCaStoresTheCertificateAndThePerson) {
  Identity doctor = issue(*a, Role::kDoctor, "dr-1");
  EXPECT_ACCEPTED(register_cert(*a, doctor));
  auto state = snapshot();
  auto entry = find_certificate(*state, doctor.fp);
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->role, "doctor");
  EXPECT_EQ((*entry)->id, "dr-1");
  EXPECT_EQ((*entry)->hospital, "hospital-a");
  EXPECT_EQ((*entry)->status, "valid");
  EXPECT_EQ((*entry)->issuer, a->ca_identity.fp);
  auto held = person_certificates(*state, "hospital-a/dr-1");
  ASSERT_TRUE(held);
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0], doctor.fp);
}

TEST_F(RecordsIdentity, RegisterSignedByAnotherHospitalsCaIsRejected) {
  Identity doctor = issue(*a, Role::kDoctor, "dr-1");
  EXPECT_CODE(register_cert(*b, doctor), kIssuerSignatureMissing);
  auto entry = find_certificate(*snapshot(), doctor.fp);
  ASSERT_TRUE(entry);
  EXPECT_FALSE(*entry);  // nothing stored
}

TEST_F(RecordsIdentity, RegisterWithoutAnySignatureIsRejected) {
  Identity doctor = issue(*a, Role::kDoctor, "dr-1");
  EXPECT_CODE(
      signed_submit(std::string(kTxCertRegister), make_cert_register_body(*doctor.cert), {}),
      kIssuerSignatureMissing);
}

TEST_F(RecordsIdentity, RegisterSignedByAPersonIsRejectedAsWrongRole) {
  Identity admin = enrol(*a, Role::kAdmin, "admin-1");
  Identity doctor = issue(*a, Role::kDoctor, "dr-1");
  EXPECT_CODE(signed_submit(std::string(kTxCertRegister), make_cert_register_body(*doctor.cert),
                            {&a->ca_identity, &admin}),
              kCertificateWrongRole);
}

TEST_F(RecordsIdentity, CertificateOfANonAdmittedHospitalIsUntrusted) {
  Identity doctor = issue(*c, Role::kDoctor, "dr-c");
  // Signed by C's CA: that CA is not on the ledger at all.
  EXPECT_CODE(register_cert(*c, doctor), kCertNotOnLedger);
  // Signed by a member CA: the certificate does not chain to any admitted CA.
  EXPECT_CODE(register_cert(*a, doctor), kCertificateUntrusted);
}

TEST_F(RecordsIdentity, RegisteringTheSameCertificateTwiceIsRejected) {
  Identity doctor = enrol(*a, Role::kDoctor, "dr-1");
  EXPECT_CODE(register_cert(*a, doctor), kCertAlreadyRegistered);
}

TEST_F(RecordsIdentity, ExpiredCertificateCannotBeRegistered) {
  Identity old = issue(*a, Role::kDoctor, "dr-old", kT0 - 10 * 86400, 1);
  EXPECT_CODE(register_cert(*a, old), kCertificateExpired);
}

TEST_F(RecordsIdentity, CertificateStartingLaterMayBeRegisteredAhead) {
  Identity later = issue(*a, Role::kDoctor, "dr-later", kT0 + 10 * 86400);
  EXPECT_ACCEPTED(register_cert(*a, later));
}

TEST_F(RecordsIdentity, BodyWithAnUnknownMemberIsRejected) {
  Identity doctor = issue(*a, Role::kDoctor, "dr-1");
  auto body = make_cert_register_body(*doctor.cert);
  body["note"] = "x";
  EXPECT_CODE(signed_submit(std::string(kTxCertRegister), body, {&a->ca_identity}),
              kContractBodyInvalid);
}

TEST_F(RecordsIdentity, RevokeByTheIssuingCaMarksTheCertificateRevoked) {
  Identity doctor = enrol(*a, Role::kDoctor, "dr-1");
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(doctor.fp, "keyCompromise"),
                                {&a->ca_identity}));
  auto entry = find_certificate(*snapshot(), doctor.fp);
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->status, "revoked");
  EXPECT_EQ((*entry)->reason, "keyCompromise");
  EXPECT_EQ((*entry)->revoked_at_ms, now_ms);
}

TEST_F(RecordsIdentity, RevokeByTheSubjectIsAccepted) {
  Identity patient = enrol(*a, Role::kPatient, "p-1");
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(patient.fp, "superseded"), {&patient}));
}

TEST_F(RecordsIdentity, RevokeByAnyoneElseIsNotAuthorized) {
  Identity patient = enrol(*a, Role::kPatient, "p-1");
  Identity doctor = enrol(*a, Role::kDoctor, "dr-1");
  EXPECT_CODE(signed_submit(std::string(kTxCertRevoke),
                            make_cert_revoke_body(patient.fp, "superseded"), {&doctor}),
              kRevokeNotAuthorized);
  EXPECT_CODE(signed_submit(std::string(kTxCertRevoke),
                            make_cert_revoke_body(patient.fp, "superseded"), {&b->ca_identity}),
              kRevokeNotAuthorized);
  EXPECT_CODE(signed_submit(std::string(kTxCertRevoke),
                            make_cert_revoke_body(patient.fp, "superseded"), {}),
              kRevokeNotAuthorized);
}

TEST_F(RecordsIdentity, RevokeTwiceUnknownOrWithABadReasonIsRejected) {
  Identity doctor = enrol(*a, Role::kDoctor, "dr-1");
  Identity stranger = issue(*a, Role::kDoctor, "dr-2");
  EXPECT_CODE(signed_submit(std::string(kTxCertRevoke),
                            make_cert_revoke_body(doctor.fp, "notAReason"), {&a->ca_identity}),
              kContractBodyInvalid);
  EXPECT_CODE(signed_submit(std::string(kTxCertRevoke),
                            make_cert_revoke_body(doctor.fp, "removeFromCRL"), {&a->ca_identity}),
              kContractBodyInvalid);
  EXPECT_CODE(signed_submit(std::string(kTxCertRevoke),
                            make_cert_revoke_body(stranger.fp, "superseded"), {&a->ca_identity}),
              kCertNotOnLedger);
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(doctor.fp, "superseded"), {&a->ca_identity}));
  EXPECT_CODE(signed_submit(std::string(kTxCertRevoke),
                            make_cert_revoke_body(doctor.fp, "superseded"), {&a->ca_identity}),
              kCertAlreadyRevoked);
}

TEST_F(RecordsIdentity, TransactionTimeOutsideTheWindowIsRejectedInsideIsAccepted) {
  Identity doctor = issue(*a, Role::kDoctor, "dr-1");
  Transaction stale = make_tx(std::string(kTxCertRegister), make_cert_register_body(*doctor.cert),
                              now_ms + kBlockStepMs - kTxTimeWindowMs - 1);
  sign(stale, a->ca_identity);
  EXPECT_CODE(submit(stale), kTxTimeOutsideWindow);
  Transaction future = make_tx(std::string(kTxCertRegister), make_cert_register_body(*doctor.cert),
                               now_ms + kBlockStepMs + kTxTimeWindowMs + 1);
  sign(future, a->ca_identity);
  EXPECT_CODE(submit(future), kTxTimeOutsideWindow);
  Transaction edge = make_tx(std::string(kTxCertRegister), make_cert_register_body(*doctor.cert),
                             now_ms + kBlockStepMs - kTxTimeWindowMs);
  sign(edge, a->ca_identity);
  EXPECT_ACCEPTED(submit(edge));
}

TEST_F(RecordsIdentity, ReplayedTransactionIsLeftOutAsADuplicate) {
  Identity doctor = issue(*a, Role::kDoctor, "dr-1");
  Transaction tx = make_tx(std::string(kTxCertRegister), make_cert_register_body(*doctor.cert));
  sign(tx, a->ca_identity);
  EXPECT_ACCEPTED(submit(tx));
  EXPECT_EQ(code_name(submit(tx)), "DUPLICATE");
}

TEST_F(RecordsIdentity, AdmitSignedByTheCandidateAndOneMemberAdmitsTheHospital) {
  Transaction tx =
      make_tx(std::string(kTxHospitalAdmit),
              make_hospital_admit_body({"hospital-c", {c->ca_identity.cert->to_pem()}}));
  sign(tx, c->ca_identity);
  sign(tx, a->ca_identity);
  EXPECT_ACCEPTED(submit(tx));
  auto entry = find_hospital(*snapshot(), "hospital-c");
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->admitted_by, tx_id(tx));
  // Its people can now be registered.
  enrol(*c, Role::kDoctor, "dr-c");
}

TEST_F(RecordsIdentity, AdmitWithoutTheCandidatesSignatureIsRejected) {
  EXPECT_CODE(
      signed_submit(std::string(kTxHospitalAdmit),
                    make_hospital_admit_body({"hospital-c", {c->ca_identity.cert->to_pem()}}),
                    {&a->ca_identity, &b->ca_identity}),
      kIssuerSignatureMissing);
}

TEST_F(RecordsIdentity, AdmitOfAnAdmittedHospitalIsRejected) {
  EXPECT_CODE(
      signed_submit(std::string(kTxHospitalAdmit),
                    make_hospital_admit_body({"hospital-b", {b->ca_identity.cert->to_pem()}}),
                    {&b->ca_identity, &a->ca_identity}),
      kHospitalAlreadyAdmitted);
}

TEST_F(RecordsIdentity, AdmitSignedByAPersonIsRejectedAsWrongRole) {
  Identity doctor = enrol(*a, Role::kDoctor, "dr-1");
  EXPECT_CODE(
      signed_submit(std::string(kTxHospitalAdmit),
                    make_hospital_admit_body({"hospital-c", {c->ca_identity.cert->to_pem()}}),
                    {&c->ca_identity, &a->ca_identity, &doctor}),
      kCertificateWrongRole);
}

TEST_F(RecordsIdentity, AdmitWithACaCertificateOfAnotherNameIsRejected) {
  EXPECT_CODE(
      signed_submit(std::string(kTxHospitalAdmit),
                    make_hospital_admit_body({"hospital-z", {c->ca_identity.cert->to_pem()}}),
                    {&c->ca_identity, &a->ca_identity}),
      kCertificateInvalid);
}

TEST_F(RecordsIdentity, GenesisAfterBlockZeroIsRejected) {
  GenesisConfig config;
  config.consortium = "again";
  config.hospitals = {{"hospital-a", {a->ca_identity.cert->to_pem()}}};
  config.proposers = {proposer.get()};
  EXPECT_CODE(signed_submit(std::string(kTxGenesis), make_genesis_document(config), {}),
              kGenesisInvalid);
}

TEST_F(RecordsIdentity, APersonHoldsAtMostTheCertificateLimit) {
  for (std::size_t i = 0; i < kMaxCertsPerPerson; ++i) enrol(*a, Role::kDoctor, "dr-many");
  Identity one_more = issue(*a, Role::kDoctor, "dr-many");
  EXPECT_CODE(register_cert(*a, one_more), kPersonCertLimit);
  // Revoking one frees a place.
  auto held = person_certificates(*snapshot(), "hospital-a/dr-many");
  ASSERT_TRUE(held);
  ASSERT_EQ(held->size(), kMaxCertsPerPerson);
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body((*held)[0], "superseded"),
                                {&a->ca_identity}));
  EXPECT_ACCEPTED(register_cert(*a, one_more));
}

TEST_F(RecordsIdentity, Ed25519PersonKeysSignRecords) {
  Identity doctor = enrol(*a, Role::kDoctor, "dr-1");
  Identity node = enrol(*a, Role::kNode, "node-1");
  Identity patient;
  auto key = core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(key);
  patient.key = std::move(*key);
  ca::IssueRequest request;
  request.role = Role::kPatient;
  request.subject_id = "p-ed";
  auto cert = a->authority->issue_for_key(patient.key->public_key_spki(), request, kT0);
  ASSERT_TRUE(cert) << cert.error().to_string();
  patient.cert = *cert;
  patient.fp = certificate_fingerprint(*cert);
  patient.principal = "hospital-a/p-ed";
  EXPECT_ACCEPTED(register_cert(*a, patient));
  EXPECT_ACCEPTED(put(put_body("rec-1", 1, patient), {&doctor, &patient, &node}).first);
}

class RecordsQuorumOfTwo : public RecordsLedgerTest {
 protected:
  std::int64_t admit_quorum() const override { return 2; }
};

TEST_F(RecordsQuorumOfTwo, AdmitNeedsTwoDistinctMemberHospitals) {
  auto body = make_hospital_admit_body({"hospital-c", {c->ca_identity.cert->to_pem()}});
  EXPECT_CODE(
      signed_submit(std::string(kTxHospitalAdmit), body, {&c->ca_identity, &a->ca_identity}),
      kAdmitQuorumNotMet);
  EXPECT_ACCEPTED(signed_submit(std::string(kTxHospitalAdmit), body,
                                {&c->ca_identity, &a->ca_identity, &b->ca_identity}));
  expect_verify_clean();
}

}  // namespace
}  // namespace medledger::ledger::testing

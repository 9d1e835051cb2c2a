// HospitalNode end to end on two real SoftHSM2 tokens and one real LMDB ledger:
// dual-verified records, single-signature refusals, grant / read at the other
// hospital / audit / revoke, PINs and lockout, external signatures, tampering.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "hospital_node_fixture.h"
#include "medledger/core/sha256.h"
#include "medledger/core/software_signer.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;
using HospitalNodeTest = TwoHospitals;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(HospitalNodeTest, DualVerifiedRecordIsStoredAndReadByADoctorOfTheOwnersHospital) {
  auto receipt =
      expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  EXPECT_EQ(receipt.result, ledger::kTxAccepted);

  auto read = expect_ok(node_a_->records().read(read_at_a("rec-1"), by_pin(kDoctorPin)));
  EXPECT_EQ(core::to_string(read.plaintext), R"({"resourceType":"Observation"})");
  EXPECT_EQ(read.content_type, "application/fhir+json");
  EXPECT_EQ(read.basis, "own-hospital");
  EXPECT_EQ(read.receipt.result, ledger::kTxAccepted);
  EXPECT_TRUE(refused_.empty());
  expect_verify_clean();
}

TEST_F(HospitalNodeTest, RecordSignedOnlyByTheDoctorIsRefusedWithPatientSignatureMissing) {
  auto prepared = expect_ok(node_a_->records().prepare_put(fhir("rec-1")));
  expect_ok(node_a_->signing().sign(prepared.tx, "hospital-a/dr-a", by_pin(kDoctorPin)));
  EXPECT_EQ(error_of(node_a_->signing().endorse_and_submit(prepared.tx)),
            ErrorCode::kPatientSignatureMissing);
  EXPECT_TRUE(expect_ok(node_a_->records().list("hospital-a/pat-a")).empty());
}

TEST_F(HospitalNodeTest, RecordSignedOnlyByThePatientIsRefusedWithDoctorSignatureMissing) {
  auto prepared = expect_ok(node_a_->records().prepare_put(fhir("rec-1")));
  expect_ok(node_a_->signing().sign(prepared.tx, "hospital-a/pat-a", by_pin(kPatientPin)));
  EXPECT_EQ(error_of(node_a_->signing().endorse_and_submit(prepared.tx)),
            ErrorCode::kDoctorSignatureMissing);
  EXPECT_TRUE(expect_ok(node_a_->records().list("hospital-a/pat-a")).empty());
}

TEST_F(HospitalNodeTest, PatientSigningInTheDoctorsPlaceIsRefused) {
  // Two patient signatures and no doctor: the patient cannot stand in for the doctor.
  (void)expect_ok(
      node_a_->persons().enrol({ca::Role::kPatient, "pat-other", secret(kPatientPin), {}}));
  auto prepared = expect_ok(node_a_->records().prepare_put(fhir("rec-1")));
  expect_ok(node_a_->signing().sign(prepared.tx, "hospital-a/pat-other", by_pin(kPatientPin)));
  expect_ok(node_a_->signing().sign(prepared.tx, "hospital-a/pat-a", by_pin(kPatientPin)));
  EXPECT_EQ(error_of(node_a_->signing().endorse_and_submit(prepared.tx)),
            ErrorCode::kDoctorSignatureMissing);
}

TEST_F(HospitalNodeTest, SecondVersionLinksToTheFirstAndBothStayInTheHistory) {
  auto first = expect_ok(
      node_a_->records().put(fhir("rec-1", R"({"v":1})"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  (void)expect_ok(
      node_a_->records().put(fhir("rec-1", R"({"v":2})"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  auto history = expect_ok(node_a_->records().history("rec-1"));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_FALSE(history[0].previous.has_value());
  ASSERT_TRUE(history[1].previous.has_value());
  EXPECT_EQ(*history[1].previous, first.tx_id);
  auto read = expect_ok(node_a_->records().read(read_at_a("rec-1"), by_pin(kDoctorPin)));
  EXPECT_EQ(core::to_string(read.plaintext), R"({"v":2})");
  EXPECT_EQ(read.version, 2u);
}

TEST_F(HospitalNodeTest, GrantLetsHospitalBReadTheReadIsAuditedAndRevokeRefusesTheNextRead) {
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));

  // Before any grant: refused, logged by the node, nothing on the ledger.
  auto size_before = log_size();
  EXPECT_EQ(error_of(node_b_->records().read(read_at_b("rec-1"), by_pin(kDoctorPin))),
            ErrorCode::kReadNotAuthorized);
  EXPECT_EQ(log_size(), size_before);
  ASSERT_EQ(refused_.size(), 1u);
  EXPECT_EQ(refused_[0].reason.code, ErrorCode::kReadNotAuthorized);
  EXPECT_EQ(refused_[0].doctor, "hospital-b/dr-b");

  (void)expect_ok(node_a_->sharing().grant({"hospital-a/pat-a", "hospital-b", {}, std::nullopt},
                                           by_pin(kPatientPin)));
  auto read = expect_ok(node_b_->records().read(read_at_b("rec-1"), by_pin(kDoctorPin)));
  EXPECT_EQ(core::to_string(read.plaintext), R"({"resourceType":"Observation"})");
  EXPECT_EQ(read.basis, "grant:hospital-b");

  auto audit =
      expect_ok(node_a_->audit().export_bundle({"hospital-a/pat-a", std::nullopt, std::nullopt}));
  const auto& reads = audit.bundle.at("reads").as_array();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].as_object().at("doctor").as_string(), "hospital-b/dr-b");
  EXPECT_EQ(reads[0].as_object().at("purpose").as_string(), "second opinion");
  EXPECT_EQ(reads[0].as_object().at("basis").as_string(), "grant:hospital-b");

  (void)expect_ok(node_a_->sharing().revoke("hospital-a/pat-a", "hospital-b", by_pin(kPatientPin)));
  EXPECT_EQ(error_of(node_b_->records().read(read_at_b("rec-1"), by_pin(kDoctorPin))),
            ErrorCode::kGrantRevoked);
  ASSERT_EQ(refused_.size(), 2u);
  EXPECT_EQ(refused_[1].reason.code, ErrorCode::kGrantRevoked);

  // Later records use the rotated key, which hospital A's node still holds.
  (void)expect_ok(node_a_->records().put(fhir("rec-2", "after revoke"), by_pin(kDoctorPin),
                                         by_pin(kPatientPin)));
  auto own = expect_ok(node_a_->records().read(read_at_a("rec-2"), by_pin(kDoctorPin)));
  EXPECT_EQ(core::to_string(own.plaintext), "after revoke");
  expect_verify_clean();
}

// A crash between an access.revoke's commit and storing its rotated key leaves the
// node's key file a version behind the ledger. Records sealed after the restart must
// still use the rotated key (the revoked hospital holds the older one): the node takes
// it from the ledger's rotation, wrapped for it, and keeps it.
TEST_F(HospitalNodeTest, RotatedKeyLostInACrashIsRecoveredFromTheLedgerBeforeSealing) {
  const std::string patient = "hospital-a/pat-a";
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  (void)expect_ok(
      node_a_->sharing().grant({patient, "hospital-b", {}, std::nullopt}, by_pin(kPatientPin)));
  const auto key_file = root_ / "a" / "patient-keys" /
                        (core::hex_encode(core::sha256(core::to_bytes(patient))) + ".json");
  const std::string before_rotation = read_file(key_file);
  (void)expect_ok(node_a_->sharing().revoke(patient, "hospital-b", by_pin(kPatientPin)));
  // The crash: the revocation is on the ledger, the rotated key never reached the file.
  node_a_.reset();
  std::ofstream(key_file, std::ios::trunc) << before_rotation;
  node_a_ = expect_ok(HospitalNode::open(root_ / "a", pool_a_, *ledger_, options()));

  (void)expect_ok(node_a_->records().put(fhir("rec-2", "after the crash"), by_pin(kDoctorPin),
                                         by_pin(kPatientPin)));
  auto history = expect_ok(node_a_->records().history("rec-2"));
  ASSERT_EQ(history.size(), 1u);
  ASSERT_TRUE(history[0].envelope.has_value());
  EXPECT_EQ(history[0].envelope->at("patient_key_version").to_number<std::int64_t>(), 2);
  auto own = expect_ok(node_a_->records().read(read_at_a("rec-2"), by_pin(kDoctorPin)));
  EXPECT_EQ(core::to_string(own.plaintext), "after the crash");
  EXPECT_NE(read_file(key_file), before_rotation) << "the recovered key is kept";
  expect_verify_clean();
}

TEST_F(HospitalNodeTest, GrantToAnotherDoctorDoesNotCoverHisColleague) {
  (void)expect_ok(node_b_->persons().enrol({ca::Role::kDoctor, "dr-b2", secret(kDoctorPin), {}}));
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  (void)expect_ok(node_a_->sharing().grant(
      {"hospital-a/pat-a", "hospital-b/dr-b", {"rec-1"}, std::nullopt}, by_pin(kPatientPin)));
  (void)expect_ok(node_b_->records().read(read_at_b("rec-1"), by_pin(kDoctorPin)));
  ReadRequest colleague{"rec-1", std::nullopt, "hospital-b/dr-b2", "curiosity"};
  EXPECT_EQ(error_of(node_b_->records().read(colleague, by_pin(kDoctorPin))),
            ErrorCode::kReadNotAuthorized);
}

TEST_F(HospitalNodeTest, ExpiredGrantIsRefusedWithGrantExpired) {
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  // Expires one second after now: accepted (after the block time), expired by the read below.
  (void)expect_ok(node_a_->sharing().grant({"hospital-a/pat-a", "hospital-b", {}, now + 1000},
                                           by_pin(kPatientPin)));
  while (std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() <= now + 1000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(error_of(node_b_->records().read(read_at_b("rec-1"), by_pin(kDoctorPin))),
            ErrorCode::kGrantExpired);
}

TEST_F(HospitalNodeTest, WrongPinIsRefusedWithoutSigningAndLeavesTheLedgerUnchanged) {
  auto size_before = log_size();
  EXPECT_EQ(
      error_of(node_a_->records().put(fhir("rec-1"), by_pin("wrong-pin"), by_pin(kPatientPin))),
      ErrorCode::kPersonPinIncorrect);
  EXPECT_EQ(
      error_of(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin("wrong-pin"))),
      ErrorCode::kPersonPinIncorrect);
  EXPECT_EQ(log_size(), size_before);
}

class LockoutTest : public TwoHospitals {
 protected:
  PinPolicy pin_policy() const override {
    PinPolicy p;
    p.backoff = false;  // no waiting in a test: the lockout itself is what is checked
    return p;
  }
};

TEST_F(LockoutTest, FiveWrongPinsLockThePersonAndEvenTheRightPinIsThenRefused) {
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  for (std::uint32_t i = 0; i < kDefaultMaxPinFailures; ++i) {
    EXPECT_EQ(error_of(node_a_->records().read(read_at_a("rec-1"), by_pin("wrong-pin"))),
              ErrorCode::kPersonPinIncorrect);
  }
  EXPECT_EQ(error_of(node_a_->records().read(read_at_a("rec-1"), by_pin(kDoctorPin))),
            ErrorCode::kPersonLocked);
  EXPECT_EQ(
      error_of(node_a_->records().put(fhir("rec-2"), by_pin(kDoctorPin), by_pin(kPatientPin))),
      ErrorCode::kPersonLocked);
}

TEST_F(HospitalNodeTest,
       ExternalPatientSignatureOverTheDocumentedBytesIsAcceptedLikeACustodialOne) {
  auto device = expect_ok(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256));
  auto enrolment = expect_ok(node_a_->persons().enrol(
      {ca::Role::kPatient, "pat-device", secret(kPatientPin), device->public_key_spki()}));
  RecordPutRequest request = fhir("rec-ext");
  request.patient = "hospital-a/pat-device";
  auto prepared = expect_ok(node_a_->records().prepare_put(request));
  expect_ok(node_a_->signing().sign(prepared.tx, "hospital-a/dr-a", by_pin(kDoctorPin)));
  // The device signs tx_id = SHA-256(signing bytes), as docs/transactions.md says.
  EXPECT_EQ(core::sha256(core::to_bytes(ledger::signing_bytes(prepared.tx))), prepared.tx_id);
  auto signature = expect_ok(device->sign_digest(prepared.tx_id));
  expect_ok(node_a_->signing().add_external_signature(
      prepared.tx, {core::KeyAlgorithm::kEcdsaP256, enrolment.fingerprint, signature}));
  auto receipt = expect_ok(node_a_->signing().endorse_and_submit(prepared.tx));
  EXPECT_EQ(receipt.result, ledger::kTxAccepted);
  // Custodial signing is impossible for a person who keeps their own key.
  auto again = expect_ok(node_a_->records().prepare_put(request));
  EXPECT_EQ(
      error_of(node_a_->signing().sign(again.tx, "hospital-a/pat-device", by_pin(kPatientPin))),
      ErrorCode::kInvalidArgument);
}

TEST_F(HospitalNodeTest, ExternalSignatureOverOtherBytesOrByAnUnknownCertificateIsRefused) {
  auto device = expect_ok(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256));
  auto enrolment = expect_ok(node_a_->persons().enrol(
      {ca::Role::kPatient, "pat-device", secret(kPatientPin), device->public_key_spki()}));
  auto prepared = expect_ok(node_a_->records().prepare_put(fhir("rec-1")));
  auto wrong = expect_ok(device->sign_digest(core::sha256(core::to_bytes("something else"))));
  EXPECT_EQ(error_of(node_a_->signing().add_external_signature(
                prepared.tx, {core::KeyAlgorithm::kEcdsaP256, enrolment.fingerprint, wrong})),
            ErrorCode::kSignatureInvalid);
  auto right = expect_ok(device->sign_digest(prepared.tx_id));
  core::Digest unknown = core::sha256(core::to_bytes("no such certificate"));
  EXPECT_EQ(error_of(node_a_->signing().add_external_signature(
                prepared.tx, {core::KeyAlgorithm::kEcdsaP256, unknown, right})),
            ErrorCode::kCertNotOnLedger);
  EXPECT_TRUE(prepared.tx.signatures.empty());
}

TEST_F(HospitalNodeTest, EnvelopeTamperedBeforeSigningIsRefusedWithDigestMismatch) {
  auto prepared = expect_ok(node_a_->records().prepare_put(fhir("rec-1")));
  auto& envelope = prepared.tx.body.at("envelope").as_object();
  std::string ciphertext(envelope.at("ciphertext").as_string());
  ciphertext[0] = ciphertext[0] == 'A' ? 'B' : 'A';
  envelope["ciphertext"] = ciphertext;
  expect_ok(node_a_->signing().sign(prepared.tx, "hospital-a/dr-a", by_pin(kDoctorPin)));
  expect_ok(node_a_->signing().sign(prepared.tx, "hospital-a/pat-a", by_pin(kPatientPin)));
  EXPECT_EQ(error_of(node_a_->signing().endorse_and_submit(prepared.tx)),
            ErrorCode::kRecordDigestMismatch);
}

TEST_F(HospitalNodeTest, PayloadTamperedAfterSigningIsRefusedWithSignatureInvalid) {
  auto prepared = expect_ok(node_a_->records().prepare_put(fhir("rec-1")));
  expect_ok(node_a_->signing().sign(prepared.tx, "hospital-a/dr-a", by_pin(kDoctorPin)));
  expect_ok(node_a_->signing().sign(prepared.tx, "hospital-a/pat-a", by_pin(kPatientPin)));
  prepared.tx.body["content_type"] = "text/plain";
  EXPECT_EQ(error_of(node_a_->signing().endorse_and_submit(prepared.tx)),
            ErrorCode::kSignatureInvalid);
}

TEST_F(HospitalNodeTest, AuditExportByTimeRangeHoldsProofsCertificatesAndChains) {
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  (void)expect_ok(node_a_->records().read(read_at_a("rec-1"), by_pin(kDoctorPin)));
  auto audit = expect_ok(node_a_->audit().export_bundle({std::nullopt, 0, std::nullopt}));
  const auto& records = audit.bundle.at("records").as_array();
  ASSERT_EQ(records.size(), 1u);
  const auto& version = records[0].as_object().at("versions").as_array().at(0).as_object();
  EXPECT_FALSE(version.at("proof").as_object().at("inclusion_proof").as_array().empty());
  EXPECT_EQ(audit.bundle.at("reads").as_array().size(), 1u);
  // Doctor, patient and node certificates, each with a chain file holding leaf + CA.
  const auto& certs = audit.bundle.at("certificates").as_array();
  EXPECT_EQ(certs.size(), 3u);
  ASSERT_EQ(audit.pem_files.size(), 3u);
  for (const auto& [name, pem] : audit.pem_files) {
    auto chain = expect_ok(ca::parse_pem_bundle(pem));
    EXPECT_EQ(chain.size(), 2u) << name;
  }
  EXPECT_EQ(error_of(node_a_->audit().export_bundle({})), ErrorCode::kInvalidArgument);
}

TEST_F(HospitalNodeTest, AuditExportLeavesOutARecordWithNothingInRangeAfterOneWithReads) {
  // rec-2 is written before the range starts; rec-1 (listed first) is written and
  // read inside it. Only rec-1 belongs in the bundle.
  (void)expect_ok(node_a_->records().put(fhir("rec-2"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::int64_t from = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  (void)expect_ok(node_a_->records().read(read_at_a("rec-1"), by_pin(kDoctorPin)));
  auto audit = expect_ok(node_a_->audit().export_bundle({"hospital-a/pat-a", from, std::nullopt}));
  const auto& records = audit.bundle.at("records").as_array();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].as_object().at("record").as_string(), "rec-1");
  EXPECT_EQ(audit.bundle.at("reads").as_array().size(), 1u);
}

TEST_F(HospitalNodeTest, EnrolmentRefusesNodeIdsDuplicatesAndShortPins) {
  EXPECT_EQ(error_of(node_a_->persons().enrol(
                {ca::Role::kDoctor, "node-encryption", secret(kDoctorPin), {}})),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(node_a_->persons().enrol({ca::Role::kDoctor, "dr-a", secret(kDoctorPin), {}})),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(error_of(node_a_->persons().enrol({ca::Role::kDoctor, "dr-new", secret("12"), {}})),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(node_a_->persons().enrol({ca::Role::kNode, "n2", secret(kDoctorPin), {}})),
            ErrorCode::kInvalidArgument);
}

class WrappedPersonKeysTest : public TwoHospitals {
 protected:
  void adjust_setup(NodeSetup& setup) override {
    // The KEK is made in an SO session, which needs every user session closed.
    pool_a_.reset();
    auto kek = expect_ok(
        hsm::create_kek(*module_, hsm::TokenSelector::by_label("hospital-a"), secret(kSoPin)));
    setup.person_keys = PersonKeyStorage::kWrapped;
    setup.kek_id_hex = core::hex_encode(kek);
    pool_a_ = expect_ok(hsm::SessionPool::open(module_, hsm::TokenSelector::by_label("hospital-a"),
                                               secret(kUserPin)));
  }
};

TEST_F(WrappedPersonKeysTest, PersonKeysWrappedUnderTheTokenKekSignRecordsLikeTokenKeys) {
  auto person = expect_ok(node_a_->persons().find("hospital-a/dr-a"));
  EXPECT_TRUE(person.wrapped);
  EXPECT_FALSE(person.wrapped_blob.empty());
  auto receipt =
      expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  EXPECT_EQ(receipt.result, ledger::kTxAccepted);
  expect_verify_clean();
}

}  // namespace
}  // namespace medledger::node::testing

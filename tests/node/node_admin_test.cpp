// HospitalNode administrator operations on real SoftHSM2 tokens and a real LMDB
// ledger: revoke a person (ledger + CA directory + PIN lock), issue a
// certificate from a CSR (registered on the ledger), a person's signature over a
// digest, and the CRL exported from ledger state.
#include <gtest/gtest.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <tuple>

#include "hospital_node_fixture.h"
#include "medledger/ca/certificate.h"
#include "medledger/core/openssl.h"
#include "medledger/core/sha256.h"
#include "medledger/core/bytes.h"
#include "medledger/hsm/key_store.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;
using NodeAdminTest = TwoHospitals;

// A PKCS#10 request "CN=<cn>, OU=<ou>, O=<o>" for a fresh P-256 key, as PEM.
std::string make_csr_pem(const std::string& cn, const std::string& ou, const std::string& o) {
  core::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  EXPECT_TRUE(key);
  ca::X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  for (const auto& [field, value] : {std::pair{"CN", cn}, std::pair{"OU", ou}, std::pair{"O", o}}) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  X509_REQ_set_pubkey(req.get(), key.get());
  EXPECT_GT(X509_REQ_sign(req.get(), key.get(), EVP_sha256()), 0);
  return ca::CertificateRequest::adopt(std::move(req)).to_pem();
}

ledger::CertificateEntry ledger_entry(ConsortiumLedger& ledger, const core::Digest& fp) {
  auto state = expect_ok(ledger::StateSnapshot::open(ledger.ledger().store()));
  auto entry = expect_ok(ledger::find_certificate(*state, fp));
  EXPECT_TRUE(entry.has_value());
  return entry.value_or(ledger::CertificateEntry{});
}

std::vector<std::string> crl_serials(HospitalNode& node) {
  auto crl = expect_ok(ca::Crl::parse(core::to_bytes(expect_ok(node.ca().crl_pem()))));
  return crl.revoked_serials();
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(NodeAdminTest, RevokedPersonIsRevokedOnTheLedgerListedInTheCrlAndCannotSignAnyMore) {
  auto person = expect_ok(node_a_->persons().find("hospital-a/dr-a"));
  auto cert = expect_ok(ca::Certificate::from_pem(person.cert_pem));
  EXPECT_FALSE(contains(crl_serials(*node_a_), cert.serial_hex()));

  auto receipt = expect_ok(node_a_->persons().revoke("hospital-a/dr-a", "keyCompromise"));
  EXPECT_EQ(receipt.result, ledger::kTxAccepted);
  auto entry = ledger_entry(*ledger_, ledger::certificate_fingerprint(cert));
  EXPECT_EQ(entry.status, "revoked");
  EXPECT_EQ(entry.reason, "keyCompromise");
  EXPECT_TRUE(contains(crl_serials(*node_a_), cert.serial_hex()));

  // Even the right PIN signs nothing any more.
  auto prepared = expect_ok(node_a_->records().prepare_put(fhir("rec-1")));
  EXPECT_EQ(error_of(node_a_->signing().sign(prepared.tx, "hospital-a/dr-a", by_pin(kDoctorPin))),
            ErrorCode::kPersonLocked);
  EXPECT_EQ(error_of(node_a_->signing().sign_digest("hospital-a/dr-a", by_pin(kDoctorPin),
                                                    core::sha256(core::to_bytes("x")))),
            ErrorCode::kPersonLocked);
  expect_verify_clean();
}

TEST_F(NodeAdminTest, RevokingTwiceIsCertAlreadyRevokedAndUnknownPersonsOrReasonsAreRefused) {
  (void)expect_ok(node_a_->persons().revoke("hospital-a/pat-a", "affiliationChanged"));
  EXPECT_EQ(error_of(node_a_->persons().revoke("hospital-a/pat-a", "keyCompromise")),
            ErrorCode::kCertAlreadyRevoked);
  EXPECT_EQ(error_of(node_a_->persons().revoke("hospital-a/nobody", "keyCompromise")),
            ErrorCode::kNotFound);
  // A person of another hospital is not enrolled here.
  EXPECT_EQ(error_of(node_a_->persons().revoke("hospital-b/dr-b", "keyCompromise")),
            ErrorCode::kNotFound);
  const auto size = log_size();
  EXPECT_EQ(error_of(node_a_->persons().revoke("hospital-a/dr-a", "no-such-reason")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(node_a_->persons().revoke("hospital-a/dr-a", "removeFromCRL")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(log_size(), size);
  // The refused reasons locked nobody: dr-a still signs.
  (void)expect_ok(node_a_->signing().sign_digest("hospital-a/dr-a", by_pin(kDoctorPin),
                                                 core::sha256(core::to_bytes("x"))));
}

TEST_F(NodeAdminTest, CrlCoversARevocationTheSubjectMadeOnTheLedgerWithoutTheCa) {
  auto person = expect_ok(node_a_->persons().find("hospital-a/dr-a"));
  auto cert = expect_ok(ca::Certificate::from_pem(person.cert_pem));
  // The subject revokes their own certificate (signed by them alone, as the contract allows).
  ledger::Transaction tx;
  tx.type = std::string(ledger::kTxCertRevoke);
  tx.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  tx.nonce = core::Bytes(ledger::kMinNonceBytes, 0x5a);
  tx.body = ledger::make_cert_revoke_body(ledger::certificate_fingerprint(cert), "superseded");
  expect_ok(node_a_->signing().sign(tx, "hospital-a/dr-a", by_pin(kDoctorPin)));
  auto receipt = expect_ok(ledger_->submit(tx));
  ASSERT_EQ(receipt.result, ledger::kTxAccepted) << ledger::result_name(receipt.result);

  auto crl = expect_ok(ca::Crl::parse(core::to_bytes(expect_ok(node_a_->ca().crl_pem()))));
  EXPECT_TRUE(contains(crl.revoked_serials(), cert.serial_hex()));
  // Hospital B's CRL lists only what B's CA issued.
  EXPECT_FALSE(contains(crl_serials(*node_b_), cert.serial_hex()));
}

TEST_F(NodeAdminTest, CertificateFromACsrIsRevokedByItsFingerprintOnTheLedgerAndInTheCrl) {
  auto issued = expect_ok(node_a_->ca().issue_certificate(
      make_csr_pem("ops-2", "admin", "hospital-a"), ca::Role::kAdmin, "ops-2"));
  EXPECT_EQ(error_of(node_a_->persons().revoke("hospital-a/ops-2", "keyCompromise")),
            ErrorCode::kNotFound);  // no person

  auto receipt = expect_ok(node_a_->ca().revoke_certificate(issued.fingerprint, "keyCompromise"));
  EXPECT_EQ(receipt.result, ledger::kTxAccepted);
  auto entry = ledger_entry(*ledger_, issued.fingerprint);
  EXPECT_EQ(entry.status, "revoked");
  EXPECT_EQ(entry.reason, "keyCompromise");
  EXPECT_TRUE(contains(crl_serials(*node_a_), issued.certificate.serial_hex()));
  EXPECT_EQ(error_of(node_a_->ca().revoke_certificate(issued.fingerprint, "keyCompromise")),
            ErrorCode::kCertAlreadyRevoked);
  expect_verify_clean();
}

TEST_F(NodeAdminTest, RevokingAnEnrolledPersonsCertificateByFingerprintLocksThePersonToo) {
  auto person = expect_ok(node_a_->persons().find("hospital-a/dr-a"));
  auto cert = expect_ok(ca::Certificate::from_pem(person.cert_pem));
  (void)expect_ok(
      node_a_->ca().revoke_certificate(ledger::certificate_fingerprint(cert), "superseded"));
  EXPECT_EQ(ledger_entry(*ledger_, ledger::certificate_fingerprint(cert)).status, "revoked");
  EXPECT_EQ(error_of(node_a_->signing().sign_digest("hospital-a/dr-a", by_pin(kDoctorPin),
                                                    core::sha256(core::to_bytes("x")))),
            ErrorCode::kPersonLocked);
}

TEST_F(NodeAdminTest, RevokeByFingerprintRefusesUnknownForeignAndOwnNodeCertificatesAndBadReasons) {
  auto issued = expect_ok(node_a_->ca().issue_certificate(
      make_csr_pem("aud-9", "auditor", "hospital-a"), ca::Role::kAuditor, "aud-9"));
  const auto size = log_size();
  EXPECT_EQ(error_of(node_a_->ca().revoke_certificate(
                core::sha256(core::to_bytes("no such certificate")), "unspecified")),
            ErrorCode::kNotFound);
  // Hospital B's doctor: only B's CA may revoke it.
  auto foreign = expect_ok(
      ca::Certificate::from_pem(expect_ok(node_b_->persons().find("hospital-b/dr-b")).cert_pem));
  EXPECT_EQ(error_of(node_a_->ca().revoke_certificate(ledger::certificate_fingerprint(foreign),
                                                      "unspecified")),
            ErrorCode::kRevokeNotAuthorized);
  // The serving node's own signing certificate would stop its endorsements.
  EXPECT_EQ(error_of(node_a_->ca().revoke_certificate(
                ledger::certificate_fingerprint(node_a_->signing_certificate()), "unspecified")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(node_a_->ca().revoke_certificate(issued.fingerprint, "removeFromCRL")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(node_a_->ca().revoke_certificate(issued.fingerprint, "because")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(log_size(), size);  // nothing refused reached the ledger
  EXPECT_EQ(ledger_entry(*ledger_, issued.fingerprint).status, "valid");
}

TEST_F(NodeAdminTest, CertificateFromACsrIsIssuedByTheHospitalCaAndRegisteredOnTheLedger) {
  for (auto [role, ou, id] : {std::tuple{ca::Role::kDoctor, "doctor", "dr-device"},
                              std::tuple{ca::Role::kAdmin, "admin", "ops-1"},
                              std::tuple{ca::Role::kAuditor, "auditor", "aud-1"}}) {
    auto issued =
        expect_ok(node_a_->ca().issue_certificate(make_csr_pem(id, ou, "hospital-a"), role, id));
    EXPECT_EQ(issued.principal, std::string("hospital-a/") + id);
    EXPECT_EQ(issued.receipt.result, ledger::kTxAccepted);
    EXPECT_EQ(issued.fingerprint, ledger::certificate_fingerprint(issued.certificate));
    EXPECT_EQ(expect_ok(ca::Certificate::from_pem(issued.certificate_pem)).to_pem(),
              issued.certificate_pem);
    auto entry = ledger_entry(*ledger_, issued.fingerprint);
    EXPECT_EQ(entry.role, ou);
    EXPECT_EQ(entry.id, id);
    EXPECT_EQ(entry.status, "valid");
  }
  expect_verify_clean();
}

TEST_F(NodeAdminTest,
       CertificateRequestsThatAreBrokenOrForTheWrongRoleAreRefusedAndNothingIsRegistered) {
  const auto size = log_size();
  EXPECT_EQ(error_of(node_a_->ca().issue_certificate("not a csr", ca::Role::kDoctor, "dr-x")),
            ErrorCode::kCsrInvalid);
  EXPECT_EQ(error_of(node_a_->ca().issue_certificate(make_csr_pem("node-9", "node", "hospital-a"),
                                                     ca::Role::kNode, "node-9")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(node_a_->ca().issue_certificate(make_csr_pem("node", "doctor", "hospital-a"),
                                                     ca::Role::kDoctor, "node")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(node_a_->ca().issue_certificate(make_csr_pem("dr-x", "doctor", "hospital-a"),
                                                     ca::Role::kDoctor, "bad id!")),
            ErrorCode::kInvalidArgument);
  // The CSR's subject disagrees with the request (another hospital, another role).
  EXPECT_EQ(error_of(node_a_->ca().issue_certificate(make_csr_pem("dr-x", "doctor", "hospital-b"),
                                                     ca::Role::kDoctor, "dr-x")),
            ErrorCode::kProfileViolation);
  EXPECT_EQ(error_of(node_a_->ca().issue_certificate(make_csr_pem("dr-x", "admin", "hospital-a"),
                                                     ca::Role::kDoctor, "dr-x")),
            ErrorCode::kProfileViolation);
  EXPECT_EQ(log_size(), size);
}

TEST_F(NodeAdminTest, DigestSignedForAPersonVerifiesUnderTheirCertificateOnlyAfterTheRightPin) {
  const core::Digest digest = core::sha256(core::to_bytes("a document the EHR signs"));
  auto signature =
      expect_ok(node_a_->signing().sign_digest("hospital-a/pat-a", by_pin(kPatientPin), digest));
  auto person = expect_ok(node_a_->persons().find("hospital-a/pat-a"));
  auto cert = expect_ok(ca::Certificate::from_pem(person.cert_pem));
  EXPECT_EQ(signature.cert_fingerprint, ledger::certificate_fingerprint(cert));
  EXPECT_EQ(signature.algorithm, core::KeyAlgorithm::kEcdsaP256);
  expect_ok(core::verify_digest_signature(cert.public_key_spki(), digest, signature.signature));
  EXPECT_EQ(
      error_of(core::verify_digest_signature(
          cert.public_key_spki(), core::sha256(core::to_bytes("other")), signature.signature)),
      ErrorCode::kSignatureInvalid);

  EXPECT_EQ(
      error_of(node_a_->signing().sign_digest("hospital-a/pat-a", by_pin("wrong-pin"), digest)),
      ErrorCode::kPersonPinIncorrect);
  EXPECT_EQ(
      error_of(node_a_->signing().sign_digest("hospital-a/nobody", by_pin(kPatientPin), digest)),
      ErrorCode::kNotFound);
}

// An enrolment that fails after its cert.register is undone: the certificate is
// revoked on the ledger and in the CA directory, no PIN or key is left behind,
// and a retry enrols the person afresh.
TEST_F(NodeAdminTest,
       EnrolmentFailingAfterItsCertRegisterRevokesTheCertificateAndLeavesNothingUsable) {
  const std::string principal = "hospital-a/pat-late";
  // A directory where the patient-key file goes: the write after cert.register fails.
  const auto blocker = root_ / "a" / "patient-keys" /
                       (core::hex_encode(core::sha256(core::to_bytes(principal))) + ".json");
  std::filesystem::create_directories(blocker / "in-the-way");

  auto failed = node_a_->persons().enrol({ca::Role::kPatient, "pat-late", secret(kPatientPin), {}});
  ASSERT_FALSE(failed);

  auto state = expect_ok(ledger::StateSnapshot::open(ledger_->ledger().store()));
  auto fingerprints = expect_ok(ledger::person_certificates(*state, principal));
  ASSERT_EQ(fingerprints.size(), 1u) << "the certificate was registered before the failure";
  const auto first = ledger_entry(*ledger_, fingerprints[0]);
  EXPECT_EQ(first.status, "revoked");
  auto first_cert = expect_ok(ca::Certificate::from_der(first.der));
  EXPECT_TRUE(contains(crl_serials(*node_a_), first_cert.serial_hex()));
  EXPECT_EQ(error_of(node_a_->persons().find(principal)), ErrorCode::kNotFound);
  EXPECT_EQ(error_of(node_a_->signing().open_session(principal, secret(kPatientPin))),
            ErrorCode::kNotFound);
  hsm::KeyStore keys(pool_a_);
  EXPECT_EQ(error_of(keys.find_by_label("medledger-person:" + principal)), ErrorCode::kKeyNotFound)
      << "the person's token key is destroyed";

  std::filesystem::remove_all(blocker);
  auto retried = expect_ok(
      node_a_->persons().enrol({ca::Role::kPatient, "pat-late", secret(kPatientPin), {}}));
  EXPECT_NE(retried.fingerprint, fingerprints[0]);
  (void)expect_ok(
      node_a_->records().put({"rec-late", "hospital-a/dr-a", principal, "application/fhir+json",
                              core::to_bytes(R"({"resourceType":"Observation"})")},
                             by_pin(kDoctorPin), by_pin(kPatientPin)));
}

// A crash in the middle of an enrolment (the key generated and the certificate
// registered, the person not stored yet) runs no undo; the next enrolment of the
// principal clears what it left: the earlier certificate is revoked, the stray token
// key destroyed, and the person enrols afresh instead of finding the key label taken.
TEST_F(NodeAdminTest, EnrolmentAfterACrashMidEnrolmentClearsWhatTheCrashLeft) {
  const std::string principal = "hospital-a/pat-crash";
  hsm::KeyStore keys(pool_a_);
  const auto stray_key =
      expect_ok(keys.generate({"medledger-person:" + principal, core::KeyAlgorithm::kEcdsaP256}));
  const auto stray_cert = expect_ok(node_a_->ca().issue_certificate(
      make_csr_pem("pat-crash", "patient", "hospital-a"), ca::Role::kPatient, "pat-crash"));
  ASSERT_EQ(error_of(node_a_->persons().find(principal)), ErrorCode::kNotFound);

  auto enrolled = expect_ok(
      node_a_->persons().enrol({ca::Role::kPatient, "pat-crash", secret(kPatientPin), {}}));
  EXPECT_NE(enrolled.fingerprint, stray_cert.fingerprint);
  const auto stray_entry = ledger_entry(*ledger_, stray_cert.fingerprint);
  EXPECT_EQ(stray_entry.status, "revoked");
  EXPECT_EQ(stray_entry.reason,
            ca::revocation_reason_name(ca::RevocationReason::kCessationOfOperation));
  EXPECT_TRUE(contains(crl_serials(*node_a_), stray_cert.certificate.serial_hex()));
  EXPECT_EQ(ledger_entry(*ledger_, enrolled.fingerprint).status, "valid");
  EXPECT_EQ(error_of(keys.find_by_id(stray_key.id)), ErrorCode::kKeyNotFound);
  EXPECT_NE(expect_ok(keys.find_by_label("medledger-person:" + principal)).id, stray_key.id);
  (void)expect_ok(
      node_a_->records().put({"rec-crash", "hospital-a/dr-a", principal, "application/fhir+json",
                              core::to_bytes(R"({"resourceType":"Observation"})")},
                             by_pin(kDoctorPin), by_pin(kPatientPin)));
}

}  // namespace
}  // namespace medledger::node::testing

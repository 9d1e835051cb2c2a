// External signatures over HTTPS: a doctor and a patient enrolled with their own
// (software) keys sign tx_id outside the node; POST /v1/records/prepare then
// POST /v1/transactions stores the record, and any bad signature stores nothing.
#include <gtest/gtest.h>

#include <functional>

#include "external_signing_fixture.h"
#include "medledger/node/record_envelope.h"

namespace medledger::api {
namespace {

class NodeTransactionRoutes : public ExternalSigningRoutes {
 protected:
  void SetUp() override {
    NodeRoutes::SetUp();
    doctor_ = enrol_device(ca::Role::kDoctor, "dr-device");
    patient_ = enrol_device(ca::Role::kPatient, "pat-device");
    serve(node_a_.get(), pool_a_);
  }

  std::string prepare_body(const std::string& record) const {
    return record_body(record, doctor_, patient_);
  }

  // {tx, tx_id} from the node.
  boost::json::object prepare(const std::string& record) {
    return prepare_record(record, doctor_, patient_);
  }

  std::size_t records_of_patient() {
    return node::testing::expect_ok(node_a_->records().list(patient_.principal)).size();
  }

  Device doctor_;
  Device patient_;
};

TEST_F(NodeTransactionRoutes, PrepareReturnsAnUnsignedRecordPutAndItsId) {
  auto prepared = prepare("rec-ext");
  auto wire = core::base64url_decode(std::string(prepared.at("tx").as_string()));
  ASSERT_TRUE(wire.ok());
  auto tx = ledger::decode_transaction(std::string(wire->begin(), wire->end()));
  ASSERT_TRUE(tx.ok()) << tx.error().to_string();
  EXPECT_EQ(tx->type, "record.put");
  EXPECT_TRUE(tx->signatures.empty());
  EXPECT_EQ(ledger::tx_id(*tx), digest_of(prepared));
  EXPECT_EQ(records_of_patient(), 0u);  // nothing is stored by prepare
}

TEST_F(NodeTransactionRoutes, ExternallySignedRecordIsStoredWithAReceipt) {
  auto prepared = prepare("rec-ext");
  const auto digest = digest_of(prepared);
  auto submitted =
      post("/v1/transactions",
           submit_body(prepared, {signature(doctor_, digest), signature(patient_, digest)}));
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  EXPECT_EQ(json_of(submitted).at("result_name").as_string(), "ACCEPTED");
  EXPECT_EQ(json_of(submitted).at("tx_id"), prepared.at("tx_id"));
  EXPECT_EQ(records_of_patient(), 1u);
  // Submitting the same transaction again is a duplicate, not a second version.
  auto again =
      post("/v1/transactions",
           submit_body(prepared, {signature(doctor_, digest), signature(patient_, digest)}));
  EXPECT_EQ(again.status / 100, 4) << again.body;
  EXPECT_EQ(records_of_patient(), 1u);
}

TEST_F(NodeTransactionRoutes, SignatureOverOtherBytesIsSignatureInvalidAndNothingIsStored) {
  auto prepared = prepare("rec-ext");
  const auto digest = digest_of(prepared);
  auto other = digest;
  other[0] ^= 0x55;
  const auto before = log_size();
  auto submitted =
      post("/v1/transactions",
           submit_body(prepared, {signature(doctor_, digest), signature(patient_, other)}));
  EXPECT_EQ(submitted.status, 422) << submitted.body;
  EXPECT_EQ(error_code_of(submitted), "SIGNATURE_INVALID");
  EXPECT_EQ(records_of_patient(), 0u);
  EXPECT_EQ(log_size(), before);
}

TEST_F(NodeTransactionRoutes, SignatureByAnotherKeyUnderTheCertificateIsSignatureInvalid) {
  auto prepared = prepare("rec-ext");
  const auto digest = digest_of(prepared);
  auto impostor = signature(doctor_, digest);
  impostor["cert"] = patient_.cert;  // the doctor's key, claimed as the patient's certificate
  auto submitted =
      post("/v1/transactions", submit_body(prepared, {signature(doctor_, digest), impostor}));
  EXPECT_EQ(submitted.status, 422) << submitted.body;
  EXPECT_EQ(error_code_of(submitted), "SIGNATURE_INVALID");
  EXPECT_EQ(records_of_patient(), 0u);
}

TEST_F(NodeTransactionRoutes, MissingPatientSignatureIsRejectedByTheContract) {
  auto prepared = prepare("rec-ext");
  auto submitted =
      post("/v1/transactions", submit_body(prepared, {signature(doctor_, digest_of(prepared))}));
  EXPECT_EQ(submitted.status, 422) << submitted.body;
  EXPECT_EQ(error_code_of(submitted), "PATIENT_SIGNATURE_MISSING");
  EXPECT_EQ(records_of_patient(), 0u);
}

TEST_F(NodeTransactionRoutes, UnknownCertificateIsCertNotOnLedger) {
  auto prepared = prepare("rec-ext");
  auto stranger = signature(doctor_, digest_of(prepared));
  stranger["cert"] = core::base64url_encode(core::Digest{});
  auto submitted = post("/v1/transactions", submit_body(prepared, {stranger}));
  EXPECT_EQ(submitted.status, 422) << submitted.body;
  EXPECT_EQ(error_code_of(submitted), "CERT_NOT_ON_LEDGER");
}

TEST_F(NodeTransactionRoutes, MalformedSubmissionsAre400WithStableCodes) {
  auto prepared = prepare("rec-ext");
  const auto digest = digest_of(prepared);
  const std::string good_tx = std::string(prepared.at("tx").as_string());
  const std::string sigs = boost::json::serialize(boost::json::array{signature(doctor_, digest)});
  struct Case {
    std::string body;
    const char* code;
  };
  const Case cases[] = {
      {R"({"tx": )", "JSON_MALFORMED"},
      {"[1,2]", "INVALID_ARGUMENT"},
      {R"({"signatures":)" + sigs + "}", "INVALID_ARGUMENT"},               // no tx
      {R"({"tx":42,"signatures":)" + sigs + "}", "INVALID_ARGUMENT"},       // tx of the wrong type
      {R"({"tx":"***","signatures":)" + sigs + "}", "MALFORMED_ENCODING"},  // not base64url
      {R"({"tx":")" + core::base64url_encode(core::to_bytes("{}")) + R"(","signatures":)" + sigs +
           "}",
       "TX_MALFORMED"},
      {R"({"tx":")" + good_tx + R"("})", "INVALID_ARGUMENT"},                   // no signatures
      {R"({"tx":")" + good_tx + R"(","signatures":[]})", "INVALID_ARGUMENT"},   // empty
      {R"({"tx":")" + good_tx + R"(","signatures":"x"})", "INVALID_ARGUMENT"},  // not an array
      {R"({"tx":")" + good_tx + R"(","signatures":[7]})", "INVALID_ARGUMENT"},  // not objects
      {R"({"tx":")" + good_tx + R"(","signatures":[{"cert":"AAAA","sig":"AAAA"}]})",
       "MALFORMED_ENCODING"},
      {R"({"tx":")" + good_tx + R"(","signatures":[{"cert":")" + doctor_.cert + R"("}]})",
       "INVALID_ARGUMENT"},
      {R"({"tx":")" + good_tx + R"(","signatures":[{"cert":")" + doctor_.cert +
           R"(","sig":"AAAA","alg":"rsa"}]})",
       "UNSUPPORTED_ALGORITHM"},
  };
  for (const auto& c : cases) {
    auto submitted = post("/v1/transactions", c.body);
    EXPECT_EQ(submitted.status, 400) << c.body << " -> " << submitted.body;
    EXPECT_EQ(error_code_of(submitted), c.code) << c.body;
  }
  EXPECT_EQ(records_of_patient(), 0u);
}

TEST_F(NodeTransactionRoutes, OnlyUnsignedRecordPutsAreEndorsed) {
  // A signed transaction: the signatures must come in "signatures", where the node checks them.
  auto prepared = prepare("rec-ext");
  auto wire = core::base64url_decode(std::string(prepared.at("tx").as_string()));
  auto tx =
      node::testing::expect_ok(ledger::decode_transaction(std::string(wire->begin(), wire->end())));
  auto fingerprint = node::testing::expect_ok(core::base64url_decode(doctor_.cert));
  core::Digest digest{};
  std::copy(fingerprint.begin(), fingerprint.end(), digest.begin());
  ASSERT_TRUE(ledger::add_signature(tx, *doctor_.key, digest).ok());
  boost::json::object signed_prepared;
  signed_prepared["tx"] = core::base64url_encode(core::to_bytes(ledger::encode_transaction(tx)));
  auto submitted = post("/v1/transactions",
                        submit_body(signed_prepared, {signature(patient_, ledger::tx_id(tx))}));
  EXPECT_EQ(submitted.status, 400) << submitted.body;
  EXPECT_EQ(error_code_of(submitted), "INVALID_ARGUMENT");

  // Another type: the node does not endorse grants it did not build.
  ledger::Transaction grant;
  grant.type = "access.grant";
  grant.time_ms = tx.time_ms;
  grant.nonce = tx.nonce;
  grant.body = tx.body;
  boost::json::object other;
  other["tx"] = core::base64url_encode(core::to_bytes(ledger::encode_transaction(grant)));
  auto refused =
      post("/v1/transactions", submit_body(other, {signature(patient_, ledger::tx_id(grant))}));
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(error_code_of(refused), "INVALID_ARGUMENT");
  EXPECT_EQ(records_of_patient(), 0u);
}

TEST_F(NodeTransactionRoutes, PrepareRefusesBadBodiesAndUnknownPatients) {
  auto missing =
      post("/v1/records/prepare",
           R"({"record_id":"r","doctor":"hospital-a/dr-a","patient":"hospital-a/pat-a"})");
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_EQ(error_code_of(missing), "INVALID_ARGUMENT");
  EXPECT_NE(missing.body.find("payload"), std::string::npos);
  auto encoding = post(
      "/v1/records/prepare",
      R"({"record_id":"r","doctor":"hospital-a/dr-a","patient":"hospital-a/pat-a","payload":"%%"})");
  EXPECT_EQ(encoding.status, 400) << encoding.body;
  EXPECT_EQ(error_code_of(encoding), "MALFORMED_ENCODING");
  auto wrong_type =
      post("/v1/records/prepare", R"({"record_id":7,"doctor":"d","patient":"p","payload":"AA"})");
  EXPECT_EQ(wrong_type.status, 400) << wrong_type.body;
  auto unknown = post(
      "/v1/records/prepare",
      R"({"record_id":"r","doctor":"hospital-a/dr-a","patient":"hospital-a/nobody","payload":"AA"})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(error_code_of(unknown), "NOT_FOUND");
}

TEST_F(NodeTransactionRoutes, OnlyNodesMayPrepareOrSubmit) {
  for (const char* client :
       {testing::kAuditor, testing::kAdmin, testing::kDoctor, testing::kPatient}) {
    auto prepared = post("/v1/records/prepare", prepare_body("rec-ext"), client);
    EXPECT_EQ(prepared.status, 403) << client;
    EXPECT_EQ(error_code_of(prepared), "ROLE_FORBIDDEN");
    auto submitted = post("/v1/transactions", R"({"tx":"","signatures":[]})", client);
    EXPECT_EQ(submitted.status, 403) << client;
  }
}

// One certificate twice is what the codec refuses in a decoded transaction: TX_MALFORMED.
TEST_F(NodeTransactionRoutes, OneCertificateSigningTwiceIsTxMalformed) {
  auto prepared = prepare("rec-ext");
  const auto before = log_size();
  auto refused = submit(prepared, {&doctor_, &doctor_, &patient_});
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(error_code_of(refused), "TX_MALFORMED");
  EXPECT_EQ(log_size(), before);
  EXPECT_EQ(records_of_patient(), 0u);
}

// An Ed25519 signature must say so: without "alg" it is taken as ECDSA P-256.
TEST_F(NodeTransactionRoutes, Ed25519SignatureWithoutAlgIsUnsupportedAlgorithm) {
  Device ed = enrol_device(ca::Role::kPatient, "pat-ed", core::KeyAlgorithm::kEd25519);
  auto prepared = prepare_record("rec-ed", doctor_, ed);
  auto unlabelled = signature(ed, digest_of(prepared));
  unlabelled.erase("alg");
  auto refused = post("/v1/transactions",
                      submit_body(prepared, {signature(doctor_, digest_of(prepared)), unlabelled}));
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(error_code_of(refused), "UNSUPPORTED_ALGORITHM");
  auto stored = submit(prepared, {&doctor_, &ed});  // with "alg":"ed25519"
  EXPECT_EQ(stored.status, 201) << stored.body;
}

// The node endorses only a version it can serve: a record.put without its envelope
// would leave the record's latest version unreadable for everyone.
TEST_F(NodeTransactionRoutes, RecordPutWithoutEnvelopeIsRefusedAndChangesNothing) {
  ASSERT_EQ(submit(prepare("rec-ext"), {&doctor_, &patient_}).status, 201);
  auto tx = tx_of(prepare("rec-ext"));  // version 2, built by the client without its envelope
  ASSERT_EQ(tx.body.at("version").as_int64(), 2);
  tx.body.erase("envelope");
  const auto before = log_size();
  auto refused = submit(prepared_of(tx), {&doctor_, &patient_});
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(error_code_of(refused), "INVALID_ARGUMENT");
  EXPECT_NE(refused.body.find("envelope"), std::string::npos) << refused.body;
  EXPECT_EQ(log_size(), before);
  auto records = node::testing::expect_ok(node_a_->records().list(patient_.principal));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records.front().latest, 1u);
  // The record still reads (its latest version is the one with an envelope).
  auto read = post("/v1/records/rec-ext/read", read_body("hospital-a/dr-a"));
  EXPECT_EQ(read.status, 200) << read.body;
}

TEST_F(NodeTransactionRoutes, EnvelopesTheNodeCannotOpenOrThatDisagreeAreRefused) {
  ASSERT_EQ(submit(prepare("rec-ext"), {&doctor_, &patient_}).status, 201);
  const auto version_one = tx_of(prepare("rec-1-source"));  // another record's envelope
  const auto good = tx_of(prepare("rec-ext"));              // version 2
  auto flip_ciphertext = [](boost::json::object& envelope) {
    auto bytes = node::testing::expect_ok(
        core::base64url_decode(std::string(envelope.at("ciphertext").as_string())));
    bytes[0] ^= 0x01;
    envelope["ciphertext"] = core::base64url_encode(bytes);
  };
  auto set_digest = [](ledger::Transaction& tx) {
    tx.body["envelope_digest"] =
        core::base64url_encode(node::sealed_record_digest(tx.body.at("envelope").as_object()));
  };
  struct Case {
    const char* what;
    std::function<void(ledger::Transaction&)> alter;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {"ciphertext changed, digest not",
       [&](ledger::Transaction& tx) { flip_ciphertext(tx.body["envelope"].as_object()); }, 422,
       "RECORD_DIGEST_MISMATCH"},
      {"ciphertext changed, digest recomputed",
       [&](ledger::Transaction& tx) {
         flip_ciphertext(tx.body["envelope"].as_object());
         set_digest(tx);
       },
       403, "DECRYPTION_FAILED"},
      {"another record's envelope",
       [&](ledger::Transaction& tx) {
         tx.body["envelope"] = version_one.body.at("envelope");
         set_digest(tx);
       },
       422, "RECORD_DIGEST_MISMATCH"},
      {"plaintext digest of other bytes",
       [&](ledger::Transaction& tx) {
         tx.body["plaintext_digest"] = core::base64url_encode(core::sha256(core::to_bytes("x")));
       },
       422, "RECORD_DIGEST_MISMATCH"},
      {"envelope not an envelope",
       [&](ledger::Transaction& tx) {
         tx.body["envelope"] = boost::json::object{{"format", "x"}};
         set_digest(tx);
       },
       400, "MALFORMED_ENCODING"},
      {"envelope not an object", [&](ledger::Transaction& tx) { tx.body["envelope"] = "AAAA"; },
       400, "INVALID_ARGUMENT"},
  };
  const auto before = log_size();
  for (const auto& c : cases) {
    auto tx = good;
    c.alter(tx);
    auto refused = submit(prepared_of(tx), {&doctor_, &patient_});
    EXPECT_EQ(refused.status, c.status) << c.what << ": " << refused.body;
    EXPECT_EQ(error_code_of(refused), c.code) << c.what;
  }
  EXPECT_EQ(log_size(), before);
  EXPECT_EQ(node::testing::expect_ok(node_a_->records().list(patient_.principal)).front().latest,
            1u);
  // The untouched version 2 is endorsed.
  auto stored = submit(prepared_of(good), {&doctor_, &patient_});
  EXPECT_EQ(stored.status, 201) << stored.body;
}

}  // namespace
}  // namespace medledger::api

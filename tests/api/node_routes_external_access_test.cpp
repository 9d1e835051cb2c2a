// A patient who holds their own key grants and revokes access over HTTPS: the node
// prepares the access.grant / access.revoke (with the wrapped keys only it can
// make), the patient signs tx_id on their device (OpenSSL in the test), the node
// checks that signature, endorses and submits. Every bad submission is refused
// with a stable code and leaves the ledger as it was.
#include <gtest/gtest.h>

#include "external_signing_fixture.h"

namespace medledger::api {
namespace {

class ExternalAccessRoutes : public ExternalSigningRoutes {
 protected:
  void SetUp() override {
    NodeRoutes::SetUp();
    doctor_ = enrol_device(ca::Role::kDoctor, "dr-device");
    patient_ = enrol_device(ca::Role::kPatient, "pat-device");
    other_patient_ = enrol_device(ca::Role::kPatient, "pat-other", core::KeyAlgorithm::kEd25519);
    serve_both();
    store_record("rec-own");
  }

  // A record of patient_, stored with both devices' signatures.
  void store_record(const std::string& record) {
    auto prepared = post("/v1/records/prepare", record_body(record, doctor_, patient_));
    ASSERT_EQ(prepared.status, 200) << prepared.body;
    auto stored = submit(json_of(prepared), {&doctor_, &patient_});
    ASSERT_EQ(stored.status, 201) << stored.body;
  }

  boost::json::object prepare_grant(const std::string& body_text) {
    auto prepared = post("/v1/grants/prepare", body_text);
    EXPECT_EQ(prepared.status, 200) << prepared.body;
    return json_of(prepared);
  }
  std::string grant_body(const std::string& scope = R"(["rec-own"])") const {
    return R"({"patient":")" + patient_.principal + R"(","grantee":"hospital-b","scope":)" + scope +
           "}";
  }
  std::string revoke_body() const {
    return R"({"patient":")" + patient_.principal + R"(","grantee":"hospital-b"})";
  }

  // Dr-b of hospital-b reads rec-own through hospital-b's node.
  testing::HttpResult read_as_grantee() {
    return post("/v1/records/rec-own/read", read_body("hospital-b/dr-b"), kForeignNode);
  }

  std::optional<ledger::GrantEntry> grant_on_ledger() {
    auto state = node::testing::expect_ok(ledger::StateSnapshot::open(ledger_->ledger().store()));
    return node::testing::expect_ok(ledger::find_grant(*state, patient_.principal, "hospital-b"));
  }

  Device doctor_;
  Device patient_;
  Device other_patient_;
};

TEST_F(ExternalAccessRoutes, PatientSignedGrantLetsTheGranteeReadAndRevocationStopsIt) {
  EXPECT_EQ(read_as_grantee().status, 403);
  auto prepared = prepare_grant(grant_body());
  auto tx = tx_of(prepared);
  EXPECT_EQ(tx.type, "access.grant");
  EXPECT_TRUE(tx.signatures.empty());
  EXPECT_EQ(ledger::tx_id(tx), digest_of(prepared));
  EXPECT_FALSE(tx.body.at("wrapped_keys").as_array().empty());  // only the node can make these
  EXPECT_EQ(prepared.at("valid_until_ms").as_int64(), tx.time_ms + 5 * 60 * 1000);
  EXPECT_FALSE(grant_on_ledger().has_value());  // prepare changes nothing

  auto granted = submit(prepared, {&patient_});
  ASSERT_EQ(granted.status, 201) << granted.body;
  EXPECT_EQ(json_of(granted).at("result_name").as_string(), "ACCEPTED");
  EXPECT_EQ(json_of(granted).at("tx_id"), prepared.at("tx_id"));
  auto read = read_as_grantee();
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(json_of(read).at("basis").as_string(), "grant:hospital-b");

  // The same signed grant again: a replay.
  const auto before = log_size();
  auto again = submit(prepared, {&patient_});
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(error_code_of(again), "TX_DUPLICATE");
  EXPECT_EQ(log_size(), before);

  auto revocation = json_of(post("/v1/grants/revoke/prepare", revoke_body()));
  ASSERT_TRUE(revocation.contains("tx")) << boost::json::serialize(revocation);
  EXPECT_EQ(tx_of(revocation).type, "access.revoke");
  EXPECT_EQ(tx_of(revocation).body.at("patient_key_version").as_int64(), 2);
  auto revoked = submit(revocation, {&patient_});
  ASSERT_EQ(revoked.status, 201) << revoked.body;
  EXPECT_EQ(json_of(revoked).at("result_name").as_string(), "ACCEPTED");
  EXPECT_EQ(grant_on_ledger()->status, "revoked");
  auto refused = read_as_grantee();
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(error_code_of(refused), "GRANT_REVOKED");

  // The rotated key is the node's from now on: the next record is sealed under version 2.
  auto after = prepare_record("rec-after", doctor_, patient_);
  EXPECT_EQ(tx_of(after).body.at("envelope").at("patient_key_version").as_int64(), 2);
  EXPECT_EQ(submit(after, {&doctor_, &patient_}).status, 201);
  // Revoking again: no active grant left to revoke.
  auto none = post("/v1/grants/revoke/prepare", revoke_body());
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_EQ(error_code_of(none), "GRANT_NOT_FOUND");
}

TEST_F(ExternalAccessRoutes, BadSignaturesAndForeignTransactionsAreRefusedAndChangeNothing) {
  auto prepared = prepare_grant(grant_body());
  const auto digest = digest_of(prepared);
  auto other_bytes = digest;
  other_bytes[0] ^= 0x55;
  auto stranger = signature(patient_, digest);
  stranger["cert"] = core::base64url_encode(core::Digest{});
  auto impostor = signature(doctor_, digest);
  impostor["cert"] = patient_.cert;  // the doctor's key under the patient's certificate

  // A grant built by the client (not prepared here), and one prepared long ago.
  auto own = tx_of(prepared);
  own.nonce[0] ^= 0x01;
  auto stale = own;
  stale.time_ms -= 10 * 60 * 1000;
  // The prepared grant with another grantee: another tx_id, so not the node's.
  auto altered = tx_of(prepared);
  altered.body["grantee"] = "hospital-a";

  struct Case {
    const char* what;
    std::string body;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {"signature over other bytes", submit_body(prepared, {signature(patient_, other_bytes)}), 422,
       "SIGNATURE_INVALID"},
      {"another key under the patient's certificate", submit_body(prepared, {impostor}), 422,
       "SIGNATURE_INVALID"},
      {"unknown certificate", submit_body(prepared, {stranger}), 422, "CERT_NOT_ON_LEDGER"},
      {"the doctor signs", submit_body(prepared, {signature(doctor_, digest)}), 422,
       "CERTIFICATE_WRONG_ROLE"},
      {"another patient signs", submit_body(prepared, {signature(other_patient_, digest)}), 422,
       "PATIENT_MISMATCH"},
      {"two signatures",
       submit_body(prepared, {signature(patient_, digest), signature(doctor_, digest)}), 400,
       "INVALID_ARGUMENT"},
      {"built by the client",
       submit_body(prepared_of(own), {signature(patient_, ledger::tx_id(own))}), 400,
       "INVALID_ARGUMENT"},
      {"altered after prepare",
       submit_body(prepared_of(altered), {signature(patient_, ledger::tx_id(altered))}), 400,
       "INVALID_ARGUMENT"},
      {"older than the time window",
       submit_body(prepared_of(stale), {signature(patient_, ledger::tx_id(stale))}), 422,
       "TX_TIME_OUTSIDE_WINDOW"},
      {"a P-256 signature said to be Ed25519",
       [&] {
         auto sig = signature(patient_, digest);
         sig["alg"] = "ed25519";
         return submit_body(prepared, {sig});
       }(),
       400, "UNSUPPORTED_ALGORITHM"},
  };
  const auto before = log_size();
  for (const auto& c : cases) {
    auto refused = post("/v1/transactions", c.body);
    EXPECT_EQ(refused.status, c.status) << c.what << ": " << refused.body;
    EXPECT_EQ(error_code_of(refused), c.code) << c.what;
  }
  EXPECT_EQ(log_size(), before);
  EXPECT_FALSE(grant_on_ledger().has_value());
  EXPECT_EQ(read_as_grantee().status, 403);
  // Nothing was used up: the patient's own signature is still endorsed.
  auto granted = submit(prepared, {&patient_});
  EXPECT_EQ(granted.status, 201) << granted.body;
}

TEST_F(ExternalAccessRoutes, PrepareRefusesWhatTheCustodialPathRefuses) {
  ASSERT_EQ(post("/v1/records", store_body("rec-custodial")).status, 201);  // pat-a's record
  const std::string patient = patient_.principal;
  struct Case {
    const char* path;
    std::string body;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {"/v1/grants/prepare", R"({"patient":")" + patient + R"("})", 400, "INVALID_ARGUMENT"},
      {"/v1/grants/prepare", grant_body(R"("rec-own")"), 400, "INVALID_ARGUMENT"},
      {"/v1/grants/prepare",
       R"({"patient":")" + patient + R"(","grantee":"hospital-b","expires_ms":-1})", 400,
       "INVALID_ARGUMENT"},
      {"/v1/grants/prepare", R"({"patient":"hospital-a/nobody","grantee":"hospital-b"})", 404,
       "NOT_FOUND"},
      {"/v1/grants/prepare", R"({"patient":")" + doctor_.principal + R"(","grantee":"hospital-b"})",
       422, "CERTIFICATE_WRONG_ROLE"},
      {"/v1/grants/prepare", grant_body(R"(["no-such-record"])"), 404, "RECORD_NOT_FOUND"},
      {"/v1/grants/prepare", grant_body(R"(["rec-custodial"])"), 422, "RECORD_NOT_OWNER"},
      {"/v1/grants/prepare", R"({"patient":")" + patient + R"(","grantee":"hospital-z"})", 404,
       "NOT_FOUND"},
      {"/v1/grants/revoke/prepare", R"({"patient":")" + patient + R"("})", 400, "INVALID_ARGUMENT"},
      {"/v1/grants/revoke/prepare", revoke_body(), 404, "GRANT_NOT_FOUND"},
      {"/v1/grants/revoke/prepare", R"({"patient":"hospital-a/nobody","grantee":"hospital-b"})",
       404, "NOT_FOUND"},
  };
  const auto before = log_size();
  for (const auto& c : cases) {
    auto refused = post(c.path, c.body);
    EXPECT_EQ(refused.status, c.status) << c.path << " " << c.body << " -> " << refused.body;
    EXPECT_EQ(error_code_of(refused), c.code) << c.path << " " << c.body;
  }
  EXPECT_EQ(log_size(), before);
  for (const char* client : {testing::kAuditor, testing::kAdmin, testing::kPatient}) {
    EXPECT_EQ(post("/v1/grants/prepare", grant_body(), client).status, 403) << client;
    EXPECT_EQ(post("/v1/grants/revoke/prepare", revoke_body(), client).status, 403) << client;
  }
}

TEST_F(ExternalAccessRoutes, ARevokedPatientCertificateSignsNothing) {
  auto prepared = prepare_grant(grant_body());
  (void)node::testing::expect_ok(node_a_->persons().revoke(patient_.principal, "keyCompromise"));
  const auto before = log_size();
  auto refused = submit(prepared, {&patient_});
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_EQ(error_code_of(refused), "CERTIFICATE_REVOKED");
  EXPECT_EQ(log_size(), before);
  EXPECT_FALSE(grant_on_ledger().has_value());
}

// The custodial grant route refuses a patient with their own key and says where to go.
TEST_F(ExternalAccessRoutes, CustodialGrantOfADevicePatientPointsToExternalSigning) {
  auto refused = post("/v1/grants", R"({"patient":")" + patient_.principal +
                                        R"(","grantee":"hospital-b","patient_pin":"1234-5678"})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(error_code_of(refused), "INVALID_ARGUMENT");
  EXPECT_NE(refused.body.find("external signing"), std::string::npos) << refused.body;
}

}  // namespace
}  // namespace medledger::api

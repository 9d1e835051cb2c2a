// Persons over HTTPS: enrolment, revocation, certificates from CSRs and the CRL
// (role admin, checked with the openssl CLI), signatures over digests and person
// sessions (role node), and sessions in place of PINs on the record routes.
#include <gtest/gtest.h>

#include <algorithm>

#include "medledger/ca/certificate.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/records_state.h"
#include "node_routes_fixture.h"

namespace medledger::api {
namespace {

using testing::kAdmin;

constexpr const char* kNewPin = "new-doctor-pin-42";

class NodePersonRoutes : public NodeRoutes {
 protected:
  void SetUp() override {
    NodeRoutes::SetUp();
    serve(node_a_.get(), pool_a_);
  }

  static std::string body(
      std::initializer_list<std::pair<const char*, boost::json::value>> members) {
    boost::json::object out;
    for (const auto& [name, value] : members) out[name] = value;
    return boost::json::serialize(out);
  }

  // A PKCS#10 request (PEM) for a fresh P-256 key made by `openssl req`, subject CN=`cn`;
  // the key stays in <root>/<name>.key.
  std::string openssl_csr(const std::string& name, const std::string& cn) {
    const auto key = root_ / (name + ".key");
    const auto csr = root_ / (name + ".csr");
    auto made =
        run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=" + cn +
            "' -keyout '" + key.string() + "' -out '" + csr.string() + "'");
    EXPECT_EQ(made.exit, 0) << made.output;
    return read_file(csr);
  }

  // A session token for `id` at hospital-a.
  std::string open_session(const std::string& id, const std::string& pin) {
    auto opened = post("/v1/persons/" + id + "/sessions", body({{"pin", pin.c_str()}}));
    EXPECT_EQ(opened.status, 201) << opened.body;
    return opened.status == 201 ? std::string(json_of(opened).at("session").as_string())
                                : std::string();
  }

  std::string store_with_sessions(const std::string& record, const std::string& doctor,
                                  const std::string& patient) {
    return body({{"record_id", record.c_str()},
                 {"doctor", "hospital-a/dr-a"},
                 {"patient", "hospital-a/pat-a"},
                 {"payload", core::base64url_encode(core::to_bytes(kPayload)).c_str()},
                 {"doctor_session", doctor.c_str()},
                 {"patient_session", patient.c_str()}});
  }

  ca::Certificate certificate_of(const std::string& principal) {
    auto person = node::testing::expect_ok(node_a_->persons().find(principal));
    return node::testing::expect_ok(ca::Certificate::from_pem(person.cert_pem));
  }
};

TEST_F(NodePersonRoutes, AdminEnrolsADoctorWhoThenStoresWithThePin) {
  auto enrolled =
      post("/v1/persons", body({{"role", "doctor"}, {"id", "dr-new"}, {"pin", kNewPin}}), kAdmin);
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  auto answer = json_of(enrolled);
  EXPECT_EQ(answer.at("principal").as_string(), "hospital-a/dr-new");
  EXPECT_EQ(answer.at("receipt").at("result_name").as_string(), "ACCEPTED");
  auto certificate = ca::Certificate::from_pem(std::string(answer.at("certificate").as_string()));
  ASSERT_TRUE(certificate.ok());
  EXPECT_EQ(core::base64url_encode(core::sha256(certificate->to_der())),
            answer.at("fingerprint").as_string());
  EXPECT_EQ(enrolled.body.find(kNewPin), std::string::npos);

  auto stored = post("/v1/records", body({{"record_id", "rec-new"},
                                          {"doctor", "hospital-a/dr-new"},
                                          {"patient", "hospital-a/pat-a"},
                                          {"payload", "e30"},
                                          {"doctor_pin", kNewPin},
                                          {"patient_pin", node::testing::kPatientPin}}));
  EXPECT_EQ(stored.status, 201) << stored.body;
}

TEST_F(NodePersonRoutes, EnrolWithAPublicKeyCertifiesThatKey) {
  const auto key = root_ / "device.key";
  const auto pub = root_ / "device.pub";
  ASSERT_EQ(run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '" +
                key.string() + "'")
                .exit,
            0);
  ASSERT_EQ(run("openssl pkey -in '" + key.string() + "' -pubout -out '" + pub.string() + "'").exit,
            0);
  const std::string pem = read_file(pub);
  // Without a PIN: the person signs on their device, the node never signs for them.
  auto enrolled =
      post("/v1/persons",
           body({{"role", "patient"}, {"id", "pat-device"}, {"public_key", pem.c_str()}}), kAdmin);
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  // No PIN route serves them: a session is refused.
  auto session = post("/v1/persons/pat-device/sessions", body({{"pin", kNewPin}}));
  EXPECT_EQ(session.status / 100, 4) << session.body;
  // A PIN with a public key would suggest it protects something: refused, nothing enrolled.
  auto with_pin = post("/v1/persons",
                       body({{"role", "patient"},
                             {"id", "pat-device-2"},
                             {"pin", kNewPin},
                             {"public_key", pem.c_str()}}),
                       kAdmin);
  EXPECT_EQ(with_pin.status, 400) << with_pin.body;
  EXPECT_EQ(error_code_of(with_pin), "INVALID_ARGUMENT");
  EXPECT_NE(with_pin.body.find("pin"), std::string::npos) << with_pin.body;
  EXPECT_EQ(node_a_->persons().find("hospital-a/pat-device-2").error().code,
            core::ErrorCode::kNotFound);
  auto certificate = node::testing::expect_ok(
      ca::Certificate::from_pem(std::string(json_of(enrolled).at("certificate").as_string())));
  EXPECT_EQ(certificate.public_key_spki(),
            node::testing::expect_ok(ca::parse_public_key(core::to_bytes(pem))));
}

TEST_F(NodePersonRoutes, EnrolRefusesBadBodiesDuplicatesAndNonAdmins) {
  struct Case {
    std::string body;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {R"({"role":"doctor","id":"dr-x")", 400, "JSON_MALFORMED"},
      {body({{"role", "doctor"}, {"id", "dr-x"}}), 400, "INVALID_ARGUMENT"},  // no PIN
      {body({{"role", "wizard"}, {"id", "dr-x"}, {"pin", kNewPin}}), 400,
       "INVALID_ARGUMENT"},  // no such role
      {body({{"role", 3}, {"id", "dr-x"}, {"pin", kNewPin}}), 400,
       "INVALID_ARGUMENT"},  // wrong type
      {body({{"role", "node"}, {"id", "dr-x"}, {"pin", kNewPin}}), 400,
       "INVALID_ARGUMENT"},  // not a person
      {body({{"role", "doctor"}, {"id", "dr-x"}, {"pin", "1"}}), 400,
       "INVALID_ARGUMENT"},  // PIN too short
      {body({{"role", "doctor"}, {"id", "dr-x"}, {"public_key", "not a key"}}), 400,
       "MALFORMED_ENCODING"},
      {body({{"role", "doctor"}, {"id", "dr-a"}, {"pin", kNewPin}}), 409,
       "ALREADY_EXISTS"},  // enrolled already
  };
  for (const auto& c : cases) {
    auto answer = post("/v1/persons", c.body, kAdmin);
    EXPECT_EQ(answer.status, c.status) << c.body << " -> " << answer.body;
    EXPECT_EQ(error_code_of(answer), c.code) << c.body;
  }
  auto by_node =
      post("/v1/persons", body({{"role", "doctor"}, {"id", "dr-y"}, {"pin", kNewPin}}), kNode);
  EXPECT_EQ(by_node.status, 403) << by_node.body;
  EXPECT_EQ(error_code_of(by_node), "ROLE_FORBIDDEN");
}

TEST_F(NodePersonRoutes, RevokedDoctorCannotSignAndIsOnTheCrl) {
  const auto serial = certificate_of("hospital-a/dr-a").serial_hex();
  auto revoked = post("/v1/persons/dr-a/revoke", body({{"reason", "keyCompromise"}}), kAdmin);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(json_of(revoked).at("result_name").as_string(), "ACCEPTED");

  auto stored = post("/v1/records", store_body("rec-after-revoke"));
  EXPECT_EQ(stored.status / 100, 4) << stored.body;

  auto crl = get("/v1/ca/crl", testing::kDoctor);
  ASSERT_EQ(crl.status, 200) << crl.body;
  const auto file = root_ / "hospital-a.crl";
  std::ofstream(file) << crl.body;
  auto checked = run("openssl crl -in '" + file.string() + "' -CAfile '" +
                     (root_ / "a-ca" / "ca.pem").string() + "' -noout -text");
  ASSERT_EQ(checked.exit, 0) << checked.output;
  EXPECT_NE(checked.output.find("verify OK"), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("Key Compromise"), std::string::npos) << checked.output;
  auto parsed = node::testing::expect_ok(ca::Crl::parse(core::to_bytes(crl.body)));
  const auto serials = parsed.revoked_serials();
  EXPECT_NE(std::find(serials.begin(), serials.end(), serial), serials.end());

  auto again = post("/v1/persons/dr-a/revoke", "{}", kAdmin);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(error_code_of(again), "CERT_ALREADY_REVOKED");
}

TEST_F(NodePersonRoutes, RevokeRefusesUnknownPersonsBadReasonsAndNonAdmins) {
  auto unknown = post("/v1/persons/nobody/revoke", "{}", kAdmin);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(error_code_of(unknown), "NOT_FOUND");
  auto reason = post("/v1/persons/dr-a/revoke", body({{"reason", "because"}}), kAdmin);
  EXPECT_EQ(reason.status, 400) << reason.body;
  EXPECT_EQ(error_code_of(reason), "INVALID_ARGUMENT");
  auto wrong_type = post("/v1/persons/dr-a/revoke", body({{"reason", 1}}), kAdmin);
  EXPECT_EQ(wrong_type.status, 400) << wrong_type.body;
  auto by_node = post("/v1/persons/dr-a/revoke", "{}", kNode);
  EXPECT_EQ(by_node.status, 403) << by_node.body;
  EXPECT_EQ(error_code_of(by_node), "ROLE_FORBIDDEN");
  // Nothing was revoked: dr-a still signs.
  EXPECT_EQ(post("/v1/records", store_body("rec-still")).status, 201);
}

TEST_F(NodePersonRoutes, AdminIssuesACertificateFromACsrThatOpensslVerifies) {
  const std::string csr = openssl_csr("auditor", "aud-x");
  auto issued = post("/v1/certificates",
                     body({{"role", "auditor"}, {"id", "aud-x"}, {"csr", csr.c_str()}}), kAdmin);
  ASSERT_EQ(issued.status, 201) << issued.body;
  auto answer = json_of(issued);
  EXPECT_EQ(answer.at("principal").as_string(), "hospital-a/aud-x");
  const auto cert = root_ / "auditor.pem";
  std::ofstream(cert) << std::string(answer.at("certificate").as_string());
  auto verified = run("openssl verify -CAfile '" + (root_ / "a-ca" / "chain.pem").string() + "' '" +
                      cert.string() + "'");
  EXPECT_EQ(verified.exit, 0) << verified.output;
  auto subject = run("openssl x509 -in '" + cert.string() + "' -noout -subject");
  EXPECT_NE(subject.output.find("auditor"), std::string::npos) << subject.output;
}

TEST_F(NodePersonRoutes, AdminRevokesACsrIssuedCertificateByItsFingerprint) {
  const std::string csr = openssl_csr("ops", "ops-1");
  auto issued = post("/v1/certificates",
                     body({{"role", "admin"}, {"id", "ops-1"}, {"csr", csr.c_str()}}), kAdmin);
  ASSERT_EQ(issued.status, 201) << issued.body;
  const std::string fingerprint(json_of(issued).at("fingerprint").as_string());
  // Not a person: the persons route cannot reach it.
  EXPECT_EQ(post("/v1/persons/ops-1/revoke", "{}", kAdmin).status, 404);

  auto by_node = post("/v1/certificates/" + fingerprint + "/revoke", "{}", kNode);
  EXPECT_EQ(by_node.status, 403) << by_node.body;
  auto bad_reason =
      post("/v1/certificates/" + fingerprint + "/revoke", body({{"reason", "because"}}), kAdmin);
  EXPECT_EQ(bad_reason.status, 400) << bad_reason.body;
  auto revoked = post("/v1/certificates/" + fingerprint + "/revoke",
                      body({{"reason", "keyCompromise"}}), kAdmin);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(json_of(revoked).at("result_name").as_string(), "ACCEPTED");
  // On the ledger (what the server's client authentication reads) and on the CRL.
  {
    auto fp = core::base64url_decode(fingerprint);
    ASSERT_TRUE(fp && fp->size() == core::kSha256Size);
    core::Digest digest{};
    std::copy(fp->begin(), fp->end(), digest.begin());
    auto state = node::testing::expect_ok(ledger::StateSnapshot::open(ledger_->ledger().store()));
    auto entry = node::testing::expect_ok(ledger::find_certificate(*state, digest));
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->status, "revoked");
  }
  auto crl = get("/v1/ca/crl", kAdmin);
  ASSERT_EQ(crl.status, 200);
  auto parsed = node::testing::expect_ok(ca::Crl::parse(core::to_bytes(crl.body)));
  auto cert = node::testing::expect_ok(
      ca::Certificate::from_pem(std::string(json_of(issued).at("certificate").as_string())));
  const auto serials = parsed.revoked_serials();
  EXPECT_NE(std::find(serials.begin(), serials.end(), cert.serial_hex()), serials.end());

  auto again = post("/v1/certificates/" + fingerprint + "/revoke", "{}", kAdmin);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(error_code_of(again), "CERT_ALREADY_REVOKED");
  auto unknown = post("/v1/certificates/" + std::string(64, 'a') + "/revoke", "{}", kAdmin);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  auto malformed = post("/v1/certificates/not-a-digest/revoke", "{}", kAdmin);
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_EQ(error_code_of(malformed), "MALFORMED_ENCODING");
}

TEST_F(NodePersonRoutes, CertificateRouteRefusesBadCsrsNodeRoleAndNonAdmins) {
  auto garbage = post(
      "/v1/certificates",
      body({{"role", "auditor"},
            {"id", "aud-y"},
            {"csr",
             "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}}),
      kAdmin);
  EXPECT_EQ(garbage.status, 400) << garbage.body;
  EXPECT_EQ(error_code_of(garbage), "CSR_INVALID");
  auto missing = post("/v1/certificates", body({{"role", "auditor"}, {"id", "aud-y"}}), kAdmin);
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_EQ(error_code_of(missing), "INVALID_ARGUMENT");
  const std::string csr = openssl_csr("n", "n");
  auto node_role = post("/v1/certificates",
                        body({{"role", "node"}, {"id", "node-x"}, {"csr", csr.c_str()}}), kAdmin);
  EXPECT_EQ(node_role.status, 400) << node_role.body;
  EXPECT_EQ(error_code_of(node_role), "INVALID_ARGUMENT");
  auto by_auditor =
      post("/v1/certificates", body({{"role", "auditor"}, {"id", "aud-y"}, {"csr", csr.c_str()}}),
           testing::kAuditor);
  EXPECT_EQ(by_auditor.status, 403) << by_auditor.body;
}

TEST_F(NodePersonRoutes, NodeGetsADoctorsSignatureOverADigestWithThePin) {
  const auto digest = core::sha256(core::to_bytes("discharge letter v3"));
  for (const std::string& spelling : {core::hex_encode(digest), core::base64url_encode(digest)}) {
    auto signed_digest =
        post("/v1/persons/dr-a/sign",
             body({{"digest", spelling.c_str()}, {"pin", node::testing::kDoctorPin}}));
    ASSERT_EQ(signed_digest.status, 200) << signed_digest.body;
    auto answer = json_of(signed_digest);
    EXPECT_EQ(answer.at("alg").as_string(), "ecdsa-p256");
    const auto certificate = certificate_of("hospital-a/dr-a");
    EXPECT_EQ(answer.at("cert").as_string(),
              core::base64url_encode(core::sha256(certificate.to_der())));
    auto signature =
        node::testing::expect_ok(core::base64url_decode(std::string(answer.at("sig").as_string())));
    EXPECT_TRUE(
        core::verify_digest_signature(certificate.public_key_spki(), digest, signature).ok());
  }
}

TEST_F(NodePersonRoutes, SignRefusesWrongPinsBadDigestsAndOtherRoles) {
  const std::string digest = core::hex_encode(core::sha256(core::to_bytes("x")));
  auto wrong_pin =
      post("/v1/persons/dr-a/sign", body({{"digest", digest.c_str()}, {"pin", "not-the-pin-77"}}));
  EXPECT_EQ(wrong_pin.status, 403) << wrong_pin.body;
  EXPECT_EQ(error_code_of(wrong_pin), "PERSON_PIN_INCORRECT");
  EXPECT_EQ(wrong_pin.body.find("not-the-pin-77"), std::string::npos);
  auto short_digest =
      post("/v1/persons/dr-a/sign", body({{"digest", "abcd"}, {"pin", node::testing::kDoctorPin}}));
  EXPECT_EQ(short_digest.status, 400) << short_digest.body;
  EXPECT_EQ(error_code_of(short_digest), "MALFORMED_ENCODING");
  auto both = post(
      "/v1/persons/dr-a/sign",
      body({{"digest", digest.c_str()}, {"pin", node::testing::kDoctorPin}, {"session", "abc"}}));
  EXPECT_EQ(both.status, 400) << both.body;
  EXPECT_EQ(error_code_of(both), "INVALID_ARGUMENT");
  auto neither = post("/v1/persons/dr-a/sign", body({{"digest", digest.c_str()}}));
  EXPECT_EQ(neither.status, 400) << neither.body;
  auto unknown = post("/v1/persons/nobody/sign",
                      body({{"digest", digest.c_str()}, {"pin", node::testing::kDoctorPin}}));
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  auto by_admin =
      post("/v1/persons/dr-a/sign",
           body({{"digest", digest.c_str()}, {"pin", node::testing::kDoctorPin}}), kAdmin);
  EXPECT_EQ(by_admin.status, 403) << by_admin.body;
  EXPECT_EQ(error_code_of(by_admin), "ROLE_FORBIDDEN");
}

TEST_F(NodePersonRoutes, SessionsStandForPinsUntilClosed) {
  const auto doctor = open_session("dr-a", node::testing::kDoctorPin);
  const auto patient = open_session("pat-a", node::testing::kPatientPin);
  ASSERT_FALSE(doctor.empty());
  ASSERT_FALSE(patient.empty());
  auto stored = post("/v1/records", store_with_sessions("rec-s", doctor, patient));
  ASSERT_EQ(stored.status, 201) << stored.body;
  auto read = post("/v1/records/rec-s/read", body({{"doctor", "hospital-a/dr-a"},
                                                   {"doctor_session", doctor.c_str()},
                                                   {"purpose", "follow-up"}}));
  ASSERT_EQ(read.status, 200) << read.body;
  const std::string digest = core::hex_encode(core::sha256(core::to_bytes("y")));
  auto signed_digest = post("/v1/persons/dr-a/sign",
                            body({{"digest", digest.c_str()}, {"session", doctor.c_str()}}));
  EXPECT_EQ(signed_digest.status, 200) << signed_digest.body;
  // A session is its person's only: the patient's token does not sign for the doctor.
  auto borrowed = post("/v1/persons/dr-a/sign",
                       body({{"digest", digest.c_str()}, {"session", patient.c_str()}}));
  EXPECT_EQ(borrowed.status, 403) << borrowed.body;
  EXPECT_EQ(error_code_of(borrowed), "PERSON_SESSION_INVALID");

  auto closed = post("/v1/persons/dr-a/sessions/close", body({{"session", doctor.c_str()}}));
  ASSERT_EQ(closed.status, 200) << closed.body;
  auto after = post("/v1/records", store_with_sessions("rec-s2", doctor, patient));
  EXPECT_EQ(after.status, 403) << after.body;
  EXPECT_EQ(error_code_of(after), "PERSON_SESSION_INVALID");
  auto twice = post("/v1/persons/dr-a/sessions/close", body({{"session", doctor.c_str()}}));
  EXPECT_EQ(twice.status, 403) << twice.body;
  EXPECT_EQ(error_code_of(twice), "PERSON_SESSION_INVALID");
}

TEST_F(NodePersonRoutes, SessionsRefuseWrongPinsBadTtlsAndOtherRoles) {
  auto wrong = post("/v1/persons/dr-a/sessions", body({{"pin", "not-the-pin-77"}}));
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  EXPECT_EQ(error_code_of(wrong), "PERSON_PIN_INCORRECT");
  auto too_long = post("/v1/persons/dr-a/sessions",
                       body({{"pin", node::testing::kDoctorPin}, {"ttl_seconds", 86400}}));
  EXPECT_EQ(too_long.status, 400) << too_long.body;
  EXPECT_EQ(error_code_of(too_long), "INVALID_ARGUMENT");
  auto negative = post("/v1/persons/dr-a/sessions",
                       body({{"pin", node::testing::kDoctorPin}, {"ttl_seconds", -5}}));
  EXPECT_EQ(negative.status, 400) << negative.body;
  auto no_pin = post("/v1/persons/dr-a/sessions", "{}");
  EXPECT_EQ(no_pin.status, 400) << no_pin.body;
  auto unknown = post("/v1/persons/nobody/sessions", body({{"pin", node::testing::kDoctorPin}}));
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  auto by_doctor = post("/v1/persons/dr-a/sessions", body({{"pin", node::testing::kDoctorPin}}),
                        testing::kDoctor);
  EXPECT_EQ(by_doctor.status, 403) << by_doctor.body;
  EXPECT_EQ(error_code_of(by_doctor), "ROLE_FORBIDDEN");
  auto both = post("/v1/records", body({{"record_id", "r"},
                                        {"doctor", "hospital-a/dr-a"},
                                        {"patient", "hospital-a/pat-a"},
                                        {"payload", "e30"},
                                        {"doctor_pin", node::testing::kDoctorPin},
                                        {"doctor_session", "x"},
                                        {"patient_pin", node::testing::kPatientPin}}));
  EXPECT_EQ(both.status, 400) << both.body;
  EXPECT_EQ(error_code_of(both), "INVALID_ARGUMENT");
}

}  // namespace
}  // namespace medledger::api

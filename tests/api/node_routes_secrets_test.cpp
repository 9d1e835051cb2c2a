// Persons' secrets stay secret: a PIN or a session token sent to any node route
// never comes back in a response (but for the one answer that hands out a
// session) and never reaches the api log (JSON lines at debug level), on good
// and refused requests alike.
#include <gtest/gtest.h>

#include "node_routes_fixture.h"

namespace medledger::api {
namespace {

constexpr const char* kEnrolPin = "enrol-secret-5150";
constexpr const char* kWrongPin = "wrong-secret-8086";

class NodeSecretRoutes : public NodeRoutes {
 protected:
  void SetUp() override {
    NodeRoutes::SetUp();
    serve(node_a_.get(), pool_a_);
  }

  // Sends and remembers the answer.
  testing::HttpResult send(const std::string& path, const boost::json::object& body,
                           const std::string& client = kNode) {
    auto answer = post(path, boost::json::serialize(body), client);
    answers_.push_back(path + " -> " + std::to_string(answer.status) + " " + answer.body);
    return answer;
  }

  std::vector<std::string> answers_;
};

TEST_F(NodeSecretRoutes, PinsAndSessionTokensNeverAppearInResponsesOrLogs) {
  const std::string doctor_pin = node::testing::kDoctorPin;
  const std::string patient_pin = node::testing::kPatientPin;
  const std::string payload = core::base64url_encode(core::to_bytes(kPayload));
  const std::string digest = core::hex_encode(core::sha256(core::to_bytes("z")));

  auto enrolled = send("/v1/persons", {{"role", "doctor"}, {"id", "dr-secret"}, {"pin", kEnrolPin}},
                       testing::kAdmin);
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  auto opened = send("/v1/persons/dr-a/sessions", {{"pin", doctor_pin}});
  ASSERT_EQ(opened.status, 201) << opened.body;
  const std::string doctor_session = std::string(json_of(opened).at("session").as_string());
  answers_.pop_back();  // the one answer that must carry a token
  auto patient_opened = send("/v1/persons/pat-a/sessions", {{"pin", patient_pin}});
  ASSERT_EQ(patient_opened.status, 201) << patient_opened.body;
  const std::string patient_session =
      std::string(json_of(patient_opened).at("session").as_string());
  answers_.pop_back();
  ASSERT_FALSE(doctor_session.empty());

  EXPECT_EQ(send("/v1/records", {{"record_id", "rec-1"},
                                 {"doctor", "hospital-a/dr-a"},
                                 {"patient", "hospital-a/pat-a"},
                                 {"payload", payload},
                                 {"doctor_session", doctor_session},
                                 {"patient_session", patient_session}})
                .status,
            201);
  EXPECT_EQ(send("/v1/records", {{"record_id", "rec-2"},
                                 {"doctor", "hospital-a/dr-a"},
                                 {"patient", "hospital-a/pat-a"},
                                 {"payload", payload},
                                 {"doctor_pin", doctor_pin},
                                 {"patient_pin", patient_pin}})
                .status,
            201);
  EXPECT_EQ(send("/v1/records/rec-1/read", {{"doctor", "hospital-a/dr-a"},
                                            {"doctor_session", doctor_session},
                                            {"purpose", "follow-up"}})
                .status,
            200);
  EXPECT_EQ(send("/v1/persons/dr-a/sign", {{"digest", digest}, {"session", doctor_session}}).status,
            200);
  EXPECT_EQ(send("/v1/persons/dr-a/sign", {{"digest", digest}, {"pin", doctor_pin}}).status, 200);
  EXPECT_EQ(send("/v1/persons/dr-a/sign", {{"digest", "bad"}, {"pin", doctor_pin}}).status, 400);
  EXPECT_EQ(send("/v1/grants", {{"patient", "hospital-a/pat-a"},
                                {"grantee", "hospital-b"},
                                {"patient_session", patient_session}})
                .status,
            201);
  EXPECT_EQ(send("/v1/grants/revoke", {{"patient", "hospital-a/pat-a"},
                                       {"grantee", "hospital-b"},
                                       {"patient_pin", patient_pin}})
                .status,
            200);
  EXPECT_EQ(send("/v1/persons/dr-a/sessions/close", {{"session", doctor_session}}).status, 200);
  EXPECT_EQ(send("/v1/persons/dr-a/sign", {{"digest", digest}, {"session", doctor_session}}).status,
            403);
  EXPECT_EQ(send("/v1/persons/dr-a/sessions/close", {{"session", doctor_session}}).status, 403);
  // Wrong PINs last: after one, the person backs off (423 PERSON_LOCKED for a while).
  EXPECT_EQ(send("/v1/persons/dr-a/sessions", {{"pin", kWrongPin}}).status, 403);
  EXPECT_EQ(send("/v1/records", {{"record_id", "rec-3"},
                                 {"doctor", "hospital-a/dr-a"},
                                 {"patient", "hospital-a/pat-a"},
                                 {"payload", payload},
                                 {"doctor_pin", kWrongPin},
                                 {"patient_pin", patient_pin}})
                    .status /
                100,
            4);
  EXPECT_EQ(
      send("/v1/records/rec-1/read",
           {{"doctor", "hospital-a/dr-a"}, {"doctor_pin", kWrongPin}, {"purpose", "follow-up"}})
              .status /
          100,
      4);
  EXPECT_EQ(send("/v1/persons/dr-a/sign", {{"digest", digest}, {"pin", kWrongPin}}).status / 100,
            4);
  EXPECT_EQ(
      send("/v1/grants",
           {{"patient", "hospital-a/pat-a"}, {"grantee", "hospital-b"}, {"patient_pin", kWrongPin}})
          .status,
      403);
  server_.reset();  // every request line written and flushed

  const std::vector<std::string> secrets = {doctor_pin, patient_pin,    kEnrolPin,
                                            kWrongPin,  doctor_session, patient_session};
  for (const auto& answer : answers_) {
    for (const auto& secret : secrets) EXPECT_EQ(answer.find(secret), std::string::npos) << answer;
  }
  const std::string log = read_file(log_file_);
  // The log holds a line per request (so the checks below look at something).
  EXPECT_NE(log.find("\"route\":\"/v1/persons/{id}/sign\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"route\":\"/v1/persons/{id}/sessions\""), std::string::npos) << log;
  EXPECT_NE(log.find("PERSON_PIN_INCORRECT"), std::string::npos) << log;
  for (const auto& secret : secrets) EXPECT_EQ(log.find(secret), std::string::npos) << secret;
}

}  // namespace
}  // namespace medledger::api

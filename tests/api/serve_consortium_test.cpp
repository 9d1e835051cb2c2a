// `medledger serve` with several hospital nodes ([[hospital]]): the real binary
// runs both nodes of the tests/node fixture (two SoftHSM2 tokens, one ledger) in
// one process; each caller reaches its own hospital's node; trust is the ledger's.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "serve_process.h"
#include "served_consortium_fixture.h"

namespace medledger::api {
namespace {

using ServeConsortium = testing::ServedConsortium;

TEST_F(ServeConsortium, EachHospitalsClientReachesItsOwnNode) {
  testing::issue_from_token_ca(pool_a_, root_ / "a-ca", ca::Role::kNode, "client-node-a",
                               pki_->dir.path());
  testing::issue_from_token_ca(pool_b_, root_ / "b-ca", ca::Role::kNode, "client-node-b",
                               pki_->dir.path());
  auto config = write("two.toml", head() + hospital(root_ / "a", "hospital-a") +
                                      hospital(root_ / "b", "hospital-b"));
  // The two tokens are open in the test too; SoftHSM2 allows that (sessions per process).
  testing::ServeProcess serve(config, log_path());
  const auto port = serve.start();
  ASSERT_NE(port, 0) << serve.log();

  const std::string ca_a = testing::slurp(root_ / "a-ca" / "ca.pem");
  const std::string ca_b = testing::slurp(root_ / "b-ca" / "ca.pem");
  ASSERT_FALSE(ca_a.empty());
  auto chain_a = testing::curl(*pki_, port, "/v1/ca/chain", "client-node-a");
  ASSERT_EQ(chain_a.status, 200) << chain_a.body;
  EXPECT_NE(chain_a.body.find(ca_a.substr(30, 60)), std::string::npos) << chain_a.body;
  EXPECT_EQ(chain_a.body.find(ca_b.substr(30, 60)), std::string::npos);
  auto chain_b = testing::curl(*pki_, port, "/v1/ca/chain", "client-node-b");
  ASSERT_EQ(chain_b.status, 200) << chain_b.body;
  EXPECT_NE(chain_b.body.find(ca_b.substr(30, 60)), std::string::npos) << chain_b.body;
  EXPECT_EQ(chain_b.body.find(ca_a.substr(30, 60)), std::string::npos);
  // Both nodes write through the one ledger: the heads agree.
  auto head_a = testing::curl(*pki_, port, "/v1/ledger/head", "client-node-a");
  auto head_b = testing::curl(*pki_, port, "/v1/ledger/head", "client-node-b");
  ASSERT_EQ(head_a.status, 200) << head_a.body;
  EXPECT_EQ(head_a.body, head_b.body);
  // No trust file: a certificate of a CA that is not on the ledger is refused.
  auto foreign = testing::curl(*pki_, port, "/v1/whoami", testing::kNode);
  EXPECT_EQ(foreign.status, 401) << foreign.body;
  EXPECT_NE(foreign.body.find("CERTIFICATE_UNTRUSTED"), std::string::npos);
  // A refused read is a JSON line of serve's log, naming the hospital (never the PIN).
  auto refused = testing::curl(
      *pki_, port, "/v1/records/no-such-record/read", "client-node-b",
      "-X POST -H 'Content-Type: application/json' --data '{\"doctor\":\"hospital-b/dr-b\","
      "\"doctor_pin\":\"" +
          std::string(node::testing::kDoctorPin) + "\",\"purpose\":\"second opinion\"}'");
  EXPECT_EQ(refused.status, 404) << refused.body;
  EXPECT_NE(refused.body.find("RECORD_NOT_FOUND"), std::string::npos) << refused.body;
  // /healthz probes both tokens and the ledger.
  auto health = testing::curl(*pki_, port, "/healthz");
  ASSERT_EQ(health.status, 200) << health.body;
  auto checks = boost::json::parse(health.body).at("checks");
  EXPECT_EQ(checks.at("token").at("tokens").as_array().size(), 2u);
  EXPECT_GT(checks.at("ledger").at("height").as_int64(), 0);

  ASSERT_TRUE(serve.terminate());
  EXPECT_EQ(serve.exit_code(), 0);
  const std::string log = serve.log();
  EXPECT_NE(log.find(R"("event":"node_opened","hospital":"hospital-a")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("event":"node_opened","hospital":"hospital-b")"), std::string::npos) << log;
  EXPECT_EQ(log.find(node::testing::kUserPin), std::string::npos);
  EXPECT_NE(log.find(R"("event":"read_refused","hospital":"hospital-b","doctor":"hospital-b/dr-b",)"
                     R"("record":"no-such-record","error":"RECORD_NOT_FOUND")"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find(node::testing::kDoctorPin), std::string::npos);
}

// Each bad consortium config stops start-up with CONFIG_INVALID naming the key.
TEST_F(ServeConsortium, BadConsortiumConfigsAreRefusedNamingTheKey) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {head() + hospital(root_ / "a", "hospital-a") + "[node]\ndata_dir = \"" +
           (root_ / "a").string() + "\"\n",
       "node.data_dir: cannot be combined with [[hospital]]"},
      {head() + hospital(root_ / "a", "hospital-a") + hospital(root_ / "a", "hospital-b"),
       "hospital[1].data_dir: listed twice"},
      {head() + hospital(root_ / "a", "hospital-a") + hospital(root_ / "b", "hospital-a"),
       "hospital[1].token_label: 'hospital-a' is another hospital's token"},
      {head() + "[[hospital]]\ndata_dir = \"" + (root_ / "a").string() + "\"\n",
       "hospital[0].token_label: required"},
      {head() + hospital(root_ / "a", "hospital-a") +
           "[[hospital]]\ndata_dir = \"x\"\ntoken_label = \"b\"\nsurprise = 1\n",
       "hospital[1].surprise: unknown key"},
      {"hospital = 3\n" + head(), "hospital: must be an array of [[hospital]] tables"},
      {head() + hospital(root_ / "a", "hospital-a") + hospital(root_ / "nowhere", "hospital-b"),
       "hospital[1].data_dir: " + (root_ / "nowhere").string() + " is not a provisioned node"},
      {head(), "tls.client_ca: required without a served node"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto config = write("bad-" + std::to_string(i) + ".toml", cases[i].text);
    int exit_code = 0;
    const std::string output = testing::serve_refused(config, exit_code);
    EXPECT_EQ(exit_code, core::exit_code_for(core::ErrorCode::kConfigInvalid))
        << i << ": " << output;
    EXPECT_NE(output.find("CONFIG_INVALID: " + cases[i].expected), std::string::npos)
        << i << ": " << output;
  }
}

// A node that cannot be opened stops start-up with the token's own code, naming the node.
TEST_F(ServeConsortium, WrongPinOfTheSecondTokenStopsStartUpNamingTheHospital) {
  ASSERT_EQ(setenv("MEDLEDGER_SERVE_CONSORTIUM_WRONG_PIN", "not-the-pin-0000", 1), 0);
  auto config = write("wrong-pin.toml", head() + hospital(root_ / "a", "hospital-a") +
                                            "[[hospital]]\ndata_dir = \"" + (root_ / "b").string() +
                                            "\"\ntoken_label = \"hospital-b\"\ntoken_pin = "
                                            "\"env:MEDLEDGER_SERVE_CONSORTIUM_WRONG_PIN\"\n");
  int exit_code = 0;
  const std::string output = testing::serve_refused(config, exit_code);
  EXPECT_EQ(exit_code, core::exit_code_for(core::ErrorCode::kPinIncorrect)) << output;
  EXPECT_NE(output.find("PIN_INCORRECT: hospital[1]: "), std::string::npos) << output;
  EXPECT_EQ(output.find("not-the-pin-0000"), std::string::npos) << output;
}

}  // namespace
}  // namespace medledger::api

// The node routes end to end: a real server in process fronting a real
// HospitalNode (SoftHSM2 tokens, token CA, LMDB ledger; tests/node fixture),
// called with curl and client certificates of the api test PKI.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "node_routes_fixture.h"

namespace medledger::api {
namespace {

TEST_F(NodeRoutes, StoreAnswers201WithAnAcceptedReceipt) {
  serve(node_a_.get(), pool_a_);
  auto stored = post("/v1/records", store_body("rec-1"));
  ASSERT_EQ(stored.status, 201) << stored.body;
  auto receipt = json_of(stored);
  EXPECT_EQ(receipt.at("result_name").as_string(), "ACCEPTED");
  EXPECT_TRUE(receipt.contains("inclusion_proof"));
  EXPECT_TRUE(receipt.contains("checkpoint"));
}

TEST_F(NodeRoutes, ReadReturnsThePlaintextAtTheOwnersHospital) {
  serve(node_a_.get(), pool_a_);
  ASSERT_EQ(post("/v1/records", store_body("rec-1")).status, 201);
  auto read = post("/v1/records/rec-1/read", read_body("hospital-a/dr-a"));
  ASSERT_EQ(read.status, 200) << read.body;
  auto body = json_of(read);
  auto plaintext = core::base64url_decode(std::string(body.at("payload").as_string()));
  ASSERT_TRUE(plaintext.ok());
  EXPECT_EQ(std::string(plaintext->begin(), plaintext->end()), kPayload);
  EXPECT_EQ(body.at("basis").as_string(), "own-hospital");
  EXPECT_EQ(body.at("version").as_int64(), 1);
}

TEST_F(NodeRoutes, ReadByAnotherHospitalWithoutGrantIs403ReadNotAuthorized) {
  (void)node::testing::expect_ok(
      node_a_->records().put(fhir("rec-1"), node::testing::by_pin(node::testing::kDoctorPin),
                             node::testing::by_pin(node::testing::kPatientPin)));
  serve_both();
  auto read = post("/v1/records/rec-1/read", read_body("hospital-b/dr-b"), kForeignNode);
  EXPECT_EQ(read.status, 403) << read.body;
  EXPECT_EQ(error_code_of(read), "READ_NOT_AUTHORIZED");
}

TEST_F(NodeRoutes, GrantLetsTheOtherHospitalRead) {
  (void)node::testing::expect_ok(
      node_a_->records().put(fhir("rec-1"), node::testing::by_pin(node::testing::kDoctorPin),
                             node::testing::by_pin(node::testing::kPatientPin)));
  serve_both();
  auto granted =
      post("/v1/grants", R"({"patient":"hospital-a/pat-a","grantee":"hospital-b","patient_pin":")" +
                             std::string(node::testing::kPatientPin) + "\"}");
  ASSERT_EQ(granted.status, 201) << granted.body;
  auto read = post("/v1/records/rec-1/read", read_body("hospital-b/dr-b"), kForeignNode);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(json_of(read).at("basis").as_string(), "grant:hospital-b");
}

TEST_F(NodeRoutes, RevokedGrantNoLongerLetsTheOtherHospitalRead) {
  (void)node::testing::expect_ok(
      node_a_->records().put(fhir("rec-1"), node::testing::by_pin(node::testing::kDoctorPin),
                             node::testing::by_pin(node::testing::kPatientPin)));
  const std::string grant =
      R"({"patient":"hospital-a/pat-a","grantee":"hospital-b","patient_pin":")" +
      std::string(node::testing::kPatientPin) + "\"}";
  serve_both();
  ASSERT_EQ(post("/v1/grants", grant).status, 201);
  auto revoked = post("/v1/grants/revoke", grant);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(json_of(revoked).at("result_name").as_string(), "ACCEPTED");
  auto read = post("/v1/records/rec-1/read", read_body("hospital-b/dr-b"), kForeignNode);
  EXPECT_EQ(read.status / 100, 4) << read.body;
  EXPECT_EQ(error_code_of(read), "GRANT_REVOKED");
}

TEST_F(NodeRoutes, GrantWithAWrongPatientPinIs403) {
  serve(node_a_.get(), pool_a_);
  auto granted = post(
      "/v1/grants",
      R"({"patient":"hospital-a/pat-a","grantee":"hospital-b","patient_pin":"not-the-pin-99"})");
  EXPECT_EQ(granted.status, 403) << granted.body;
  EXPECT_EQ(error_code_of(granted), "PERSON_PIN_INCORRECT");
}

TEST_F(NodeRoutes, ReadOfAnUnknownRecordIs404) {
  serve(node_a_.get(), pool_a_);
  auto read = post("/v1/records/no-such-record/read", read_body("hospital-a/dr-a"));
  EXPECT_EQ(read.status, 404) << read.body;
  EXPECT_EQ(error_code_of(read), "RECORD_NOT_FOUND");
}

TEST_F(NodeRoutes, WrongDoctorPinIs403PersonPinIncorrect) {
  serve(node_a_.get(), pool_a_);
  auto stored = post("/v1/records", store_body("rec-1", "wrong-pin-123"));
  EXPECT_EQ(stored.status, 403) << stored.body;
  EXPECT_EQ(error_code_of(stored), "PERSON_PIN_INCORRECT");
  // The secret never comes back in the answer.
  EXPECT_EQ(stored.body.find("wrong-pin-123"), std::string::npos);
}

TEST_F(NodeRoutes, MalformedJsonIs400) {
  serve(node_a_.get(), pool_a_);
  auto stored = post("/v1/records", R"({"record_id": "rec-1",)");
  EXPECT_EQ(stored.status, 400) << stored.body;
  EXPECT_EQ(error_code_of(stored), "JSON_MALFORMED");
}

TEST_F(NodeRoutes, MissingMemberIs400NamingIt) {
  serve(node_a_.get(), pool_a_);
  auto stored = post("/v1/records", R"({"record_id":"rec-1","doctor":"hospital-a/dr-a"})");
  EXPECT_EQ(stored.status, 400) << stored.body;
  EXPECT_EQ(error_code_of(stored), "INVALID_ARGUMENT");
  EXPECT_NE(stored.body.find("patient"), std::string::npos);
}

TEST_F(NodeRoutes, AuditorMayNotStoreARecord) {
  serve(node_a_.get(), pool_a_);
  auto stored = post("/v1/records", store_body("rec-1"), kAuditor);
  EXPECT_EQ(stored.status, 403) << stored.body;
  EXPECT_EQ(error_code_of(stored), "ROLE_FORBIDDEN");
}

TEST_F(NodeRoutes, ListsAPatientsRecords) {
  serve(node_a_.get(), pool_a_);
  ASSERT_EQ(post("/v1/records", store_body("rec-1")).status, 201);
  auto listed = get("/v1/records?patient=hospital-a/pat-a");
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto records = json_of(listed).at("records").as_array();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].at("record_id").as_string(), "rec-1");
}

TEST_F(NodeRoutes, LedgerHeadBlockTransactionProofAndCheckpoint) {
  serve(node_a_.get(), pool_a_);
  auto head = get("/v1/ledger/head", kAuditor);
  ASSERT_EQ(head.status, 200) << head.body;
  auto size = json_of(head).at("log_size").as_int64();
  ASSERT_GT(size, 1);
  EXPECT_EQ(get("/v1/ledger/blocks/0", kAuditor).status, 200);
  auto tx = get("/v1/ledger/transactions/0", kAuditor);
  ASSERT_EQ(tx.status, 200) << tx.body;
  EXPECT_EQ(json_of(tx).at("result_name").as_string(), "ACCEPTED");
  auto proof = get("/v1/ledger/proofs/inclusion?sequence=0", kAuditor);
  ASSERT_EQ(proof.status, 200) << proof.body;
  EXPECT_EQ(json_of(proof).at("size").as_int64(), size);
  auto checkpoint = get("/v1/ledger/checkpoint", kAuditor);
  ASSERT_EQ(checkpoint.status, 200) << checkpoint.body;
  EXPECT_NE(json_of(checkpoint).at("checkpoint").as_string().find("medledger/"), std::string::npos);
  EXPECT_EQ(get("/v1/ledger/blocks/999999", kAuditor).status, 404);
  EXPECT_EQ(get("/v1/ledger/blocks/abc", kAuditor).status, 400);
}

TEST_F(NodeRoutes, CaChainIsPem) {
  serve(node_a_.get(), pool_a_);
  auto chain = get("/v1/ca/chain", testing::kDoctor);
  ASSERT_EQ(chain.status, 200) << chain.body;
  EXPECT_EQ(chain.body.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
}

TEST_F(NodeRoutes, AuditorExportsAPatientsBundle) {
  serve(node_a_.get(), pool_a_);
  ASSERT_EQ(post("/v1/records", store_body("rec-1")).status, 201);
  auto bundle = post("/v1/audit/export", R"({"patient":"hospital-a/pat-a"})", kAuditor);
  ASSERT_EQ(bundle.status, 200) << bundle.body;
  EXPECT_TRUE(json_of(bundle).contains("bundle"));
  EXPECT_EQ(post("/v1/audit/export", R"({"patient":"hospital-a/pat-a"})", kNode).status, 403);
}

TEST_F(NodeRoutes, WithoutANodeTheRoutesAnswer503TokenUnavailable) {
  serve(nullptr, nullptr);
  auto head = get("/v1/ledger/head", kAuditor);
  EXPECT_EQ(head.status, 503) << head.body;
  EXPECT_EQ(error_code_of(head), "TOKEN_UNAVAILABLE");
}

TEST_F(NodeRoutes, EachCallerReachesTheNodeOfItsOwnHospital) {
  serve_both();
  const auto chain_of = [&](const char* dir) {
    return node::testing::expect_ok(ca::CaDirectory::open(root_ / dir)).chain().front().to_pem();
  };
  auto chain_a = get("/v1/ca/chain", kNode);
  ASSERT_EQ(chain_a.status, 200) << chain_a.body;
  EXPECT_EQ(chain_a.body.rfind(chain_of("a-ca"), 0), 0u);
  auto chain_b = get("/v1/ca/chain", kForeignNode);
  ASSERT_EQ(chain_b.status, 200) << chain_b.body;
  EXPECT_EQ(chain_b.body.rfind(chain_of("b-ca"), 0), 0u);
  // hospital-b's node refuses a record of hospital-a's patient: the patient key is not at b.
  auto stored = post("/v1/records", store_body("rec-b"), kForeignNode);
  EXPECT_EQ(stored.status / 100, 4) << stored.body;
  EXPECT_EQ(post("/v1/records", store_body("rec-a"), kNode).status, 201);
}

TEST_F(NodeRoutes, CallerOfAHospitalWithoutANodeHereIs404NotFound) {
  serve(node_a_.get(), pool_a_);
  auto head = get("/v1/ledger/head", kForeignNode);
  EXPECT_EQ(head.status, 404) << head.body;
  EXPECT_EQ(error_code_of(head), "NOT_FOUND");
  EXPECT_NE(head.body.find("hospital-b"), std::string::npos);
  EXPECT_EQ(get("/v1/ledger/head", kNode).status, 200);
}

TEST_F(NodeRoutes, BindingHostsOneNodePerHospital) {
  NodeBinding binding;
  EXPECT_EQ(binding.host(nullptr, nullptr).error().code, core::ErrorCode::kInvalidArgument);
  ASSERT_TRUE(binding.host(node_a_.get(), nullptr).ok());
  EXPECT_EQ(binding.host(node_a_.get(), nullptr).error().code, core::ErrorCode::kAlreadyExists);
  ASSERT_TRUE(binding.host(node_b_.get(), nullptr).ok());
  ASSERT_NE(binding.find("hospital-b"), nullptr);
  EXPECT_EQ(binding.find("hospital-b")->node, node_b_.get());
  EXPECT_EQ(binding.find("hospital-c"), nullptr);
}

TEST(NodeRoutesErrorMapping, EveryContractCodeIsAClientErrorNotA500) {
  for (int code = 600; code <= 627; ++code) {
    const int status = http_status_for(static_cast<core::ErrorCode>(code));
    EXPECT_GE(status, 400) << core::error_code_name(static_cast<core::ErrorCode>(code));
    EXPECT_LT(status, 500) << core::error_code_name(static_cast<core::ErrorCode>(code));
  }
  EXPECT_EQ(http_status_for(core::ErrorCode::kReadNotAuthorized), 403);
  EXPECT_EQ(http_status_for(core::ErrorCode::kRecordAlreadyExists), 409);
  EXPECT_EQ(http_status_for(core::ErrorCode::kCertAlreadyRegistered), 409);
  EXPECT_EQ(http_status_for(core::ErrorCode::kRecordNotFound), 404);
  EXPECT_EQ(http_status_for(core::ErrorCode::kGrantNotFound), 404);
  EXPECT_EQ(http_status_for(core::ErrorCode::kGrantRevoked), 422);
  EXPECT_EQ(http_status_for(core::ErrorCode::kContractBodyInvalid), 422);
  EXPECT_EQ(http_status_for(core::ErrorCode::kTokenUnavailable), 503);
}

// `medledger serve` with [node] data_dir: the real binary opens the node on its
// token (PIN from env:) and serves a record stored through it.
TEST_F(NodeRoutes, ServeOpensTheConfiguredNodeAndStoresARecord) {
  using namespace std::chrono_literals;
  // The binary opens the ledger and the node itself: close the fixture's first.
  node_a_.reset();
  node_b_.reset();
  ledger_.reset();
  ASSERT_EQ(setenv("MEDLEDGER_NODE_ROUTES_TEST_PIN", node::testing::kUserPin, 1), 0);
  const auto log = root_ / "serve.jsonl";
  const auto config = root_ / "serve.toml";
  std::ofstream(config)
      << "[listen]\naddress = \"127.0.0.1\"\nport = 0\n[tls]\ncertificate = \""
      << pki_->server_chain.string() << "\"\nprivate_key = \"" << pki_->server_key.string()
      << "\"\nclient_ca = \"" << pki_->ca_pem.string() << "\"\nclient_crls = [\""
      << pki_->crl_pem.string() << "\"]\n[log]\nlevel = \"info\"\nfile = \"" << log.string()
      << "\"\n[token]\nlabel = \"hospital-a\"\npin = \"env:MEDLEDGER_NODE_ROUTES_TEST_PIN\"\n"
      << "[node]\ndata_dir = \"" << (root_ / "a").string() << "\"\n";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl(MEDLEDGER_CLI, MEDLEDGER_CLI, "serve", "--config", config.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  struct KillOnExit {
    pid_t pid;
    ~KillOnExit() {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } guard{child};
  int port = 0;
  for (int i = 0; i < 1000 && port == 0; ++i) {
    std::istringstream lines(read_file(log));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("\"event\":\"listening\"") != std::string::npos) {
        port = static_cast<int>(boost::json::parse(line).at("port").as_int64());
      }
    }
    if (port == 0) std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(port, 0) << read_file(log);
  auto file = root_ / "serve-body.json";
  std::ofstream(file) << store_body("rec-serve");
  auto stored =
      testing::curl(*pki_, static_cast<std::uint16_t>(port), "/v1/records", kNode,
                    "-H 'Content-Type: application/json' --data-binary @" + file.string());
  ASSERT_EQ(stored.status, 201) << stored.body;
  auto read = testing::curl(*pki_, static_cast<std::uint16_t>(port),
                            "/v1/records?patient=hospital-a/pat-a", kNode);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_NE(read.body.find("rec-serve"), std::string::npos);
  // No PIN in the log.
  const std::string lines = read_file(log);
  EXPECT_EQ(lines.find(node::testing::kDoctorPin), std::string::npos);
  EXPECT_EQ(lines.find(node::testing::kPatientPin), std::string::npos);
}

}  // namespace
}  // namespace medledger::api

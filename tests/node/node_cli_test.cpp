// The built `medledger` binary driving two hospitals on fresh SoftHSM2 tokens and
// one ledger directory: the main flow of docs/node.md, one process per command.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "softhsm_fixture.h"

namespace {

namespace fs = std::filesystem;

// The binary CMake built beside this test (a dependency of node_tests).
fs::path cli_path() { return MEDLEDGER_CLI_PATH; }

struct CliRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

CliRun run(const std::string& args) {
  CliRun r;
  std::string command = cli_path().string() + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    r.output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class NodeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(cli_path())) << cli_path() << " is not built";
    root_ = dir_.root();
    for (const char* name : {"so", "user-a", "user-b", "dr-a", "pat-a", "dr-b"}) {
      dir_.write_private_file(std::string(name) + ".pin", std::string(name) + "-pin-1234\n");
    }
    a_ = " --data " + (root_ / "node-a").string() + " --token hospital-a --pin " + pin("user-a");
    b_ = " --data " + (root_ / "node-b").string() + " --token hospital-b --pin " + pin("user-b");
    ledger_ = (root_ / "consortium").string();
    ok("token init --label hospital-a --so-pin " + pin("so") + " --pin " + pin("user-a"));
    ok("token init --label hospital-b --so-pin " + pin("so") + " --pin " + pin("user-b"));
    ok("ca init --token hospital-a --pin " + pin("user-a") + " --hospital hospital-a --ca-dir " +
       (root_ / "a-ca").string());
    ok("ca init --token hospital-b --pin " + pin("user-b") + " --hospital hospital-b --ca-dir " +
       (root_ / "b-ca").string());
    ok("node init" + b_ + " --hospital hospital-b --ca-dir " + (root_ / "b-ca").string() +
       " --ledger " + ledger_);
    ok("node init" + a_ + " --hospital hospital-a --ca-dir " + (root_ / "a-ca").string() +
       " --ledger " + ledger_ + " --genesis --proposer " +
       (root_ / "node-b" / "node-signing.pub.pem").string());
    ok("hospital admit-request" + b_ + " --out " + (root_ / "admit.json").string());
    ok("hospital admit" + a_ + " --request " + (root_ / "admit.json").string());
    ok("node register" + b_);
  }

  std::string pin(const std::string& name) const {
    return "file:" + (root_ / (name + ".pin")).string();
  }

  CliRun ok(const std::string& args) {
    CliRun r = run(args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.output;
    return r;
  }

  medledger::testing::SoftHsmDirectory dir_;
  fs::path root_;
  std::string a_, b_, ledger_;
};

// enrol reports where the node keeps the person's key: the node's setting in node.json,
// not the default of an option the command does not take.
TEST_F(NodeCliTest, EnrolOnAWrappedKeyNodeReportsWrappedKeys) {
  const std::string c =
      " --data " + (root_ / "node-c").string() + " --token hospital-c --pin " + pin("user-a");
  ok("token init --label hospital-c --so-pin " + pin("so") + " --pin " + pin("user-a"));
  ok("key kek create --token hospital-c --so-pin " + pin("so") + " --pin " + pin("user-a"));
  ok("ca init --token hospital-c --pin " + pin("user-a") + " --hospital hospital-c --ca-dir " +
     (root_ / "c-ca").string());
  // Its own ledger: a node of this one-machine consortium must be a genesis proposer.
  ok("node init" + c + " --hospital hospital-c --ca-dir " + (root_ / "c-ca").string() +
     " --ledger " + (root_ / "ledger-c").string() + " --genesis --person-keys wrapped");
  auto enrolled = ok("enrol patient" + c + " --id pat-c --person-pin " + pin("pat-a"));
  EXPECT_NE(enrolled.output.find("\"key\":\"wrapped\""), std::string::npos) << enrolled.output;
  auto on_token = ok("enrol patient" + a_ + " --id pat-token --person-pin " + pin("pat-a"));
  EXPECT_NE(on_token.output.find("\"key\":\"token\""), std::string::npos) << on_token.output;
}

TEST_F(NodeCliTest, MainFlowStoresRefusesSingleSignatureSharesReadsAuditsRevokesAndVerifies) {
  ok("enrol doctor" + a_ + " --id dr-a --person-pin " + pin("dr-a"));
  ok("enrol patient" + a_ + " --id pat-a --person-pin " + pin("pat-a"));
  ok("enrol doctor" + b_ + " --id dr-b --person-pin " + pin("dr-b"));
  auto payload = dir_.write_private_file(
      "rec.json", R"({"resourceType":"Observation","valueString":"120/80"})");
  const std::string put_args =
      " --record rec-1 --doctor hospital-a/dr-a --patient hospital-a/pat-a --file " +
      payload.string();
  auto put = ok("record put" + a_ + put_args + " --doctor-pin " + pin("dr-a") + " --patient-pin " +
                pin("pat-a"));
  EXPECT_NE(put.output.find("\"result\":\"ACCEPTED\""), std::string::npos) << put.output;

  const std::string tx = (root_ / "rec-2.tx.json").string();
  ok("record prepare" + a_ +
     " --record rec-2 --doctor hospital-a/dr-a --patient hospital-a/pat-a --file " +
     payload.string() + " --out " + tx);
  ok("record sign" + a_ + " --tx " + tx + " --as hospital-a/dr-a --person-pin " + pin("dr-a"));
  auto single = run("record submit" + a_ + " --tx " + tx);
  EXPECT_NE(single.status, 0);
  EXPECT_NE(single.output.find("PATIENT_SIGNATURE_MISSING"), std::string::npos) << single.output;

  const std::string read_b = "record get" + b_ +
                             " --record rec-1 --doctor hospital-b/dr-b --doctor-pin " +
                             pin("dr-b") + " --purpose consult";
  auto before = run(read_b);
  EXPECT_NE(before.output.find("READ_NOT_AUTHORIZED"), std::string::npos) << before.output;
  ok("access grant" + a_ + " --patient hospital-a/pat-a --grantee hospital-b --patient-pin " +
     pin("pat-a"));
  auto read = ok(read_b);
  EXPECT_NE(read.output.find(R"({"resourceType":"Observation","valueString":"120/80"})"),
            std::string::npos)
      << read.output;

  ok("audit export" + a_ + " --patient hospital-a/pat-a --out " + (root_ / "audit").string());
  std::ifstream audit(root_ / "audit" / "audit.json");
  std::stringstream text;
  text << audit.rdbuf();
  EXPECT_NE(text.str().find(R"("basis":"grant:hospital-b","doctor":"hospital-b/dr-b")"),
            std::string::npos);

  ok("access revoke" + a_ + " --patient hospital-a/pat-a --grantee hospital-b --patient-pin " +
     pin("pat-a"));
  auto after = run(read_b);
  EXPECT_NE(after.status, 0);
  EXPECT_NE(after.output.find("GRANT_REVOKED"), std::string::npos) << after.output;

  auto wrong =
      run("record put" + a_ +
          " --record rec-3 --doctor hospital-a/dr-a --patient hospital-a/pat-a --file " +
          payload.string() + " --doctor-pin " + pin("pat-a") + " --patient-pin " + pin("pat-a"));
  EXPECT_NE(wrong.output.find("PERSON_PIN_INCORRECT"), std::string::npos) << wrong.output;

  auto verify = ok("node verify --ledger " + ledger_);
  EXPECT_NE(verify.output.find("\"status\":\"ok\""), std::string::npos) << verify.output;
}

TEST_F(NodeCliTest, BulkEnrolmentWritesRandomInitialPinsToANewPrivateFile) {
  auto csv =
      dir_.write_private_file("people.csv", "id,role\ndr-1,doctor\npat-1,patient\npat-2,patient\n");
  const std::string pins = (root_ / "pins.csv").string();
  auto bulk = ok("enrol --csv " + csv.string() + " --pins-out " + pins + a_);
  EXPECT_NE(bulk.output.find("3/3"), std::string::npos) << bulk.output;
  struct stat st {};
  ASSERT_EQ(::stat(pins.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(pins);
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    EXPECT_EQ(line.rfind("hospital-a/", 0), 0u) << line;
  }
  EXPECT_EQ(rows, 3);
  // The file must not exist already: PINs are never overwritten or appended.
  auto again = run("enrol --csv " + csv.string() + " --pins-out " + pins + a_);
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.output.find("IO_ERROR"), std::string::npos) << again.output;
}

}  // namespace

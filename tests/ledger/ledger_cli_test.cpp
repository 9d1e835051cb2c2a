// `medledger ledger init|append|verify|show|export`, run as a user would: the built
// binary, the proposer key in a fresh SoftHSM2 token (SOFTHSM2_CONF is inherited),
// the PIN from the environment, real LMDB files in a temporary directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <boost/json/parse.hpp>

#include "ledger_fixture.h"
#include "medledger/core/error.h"
#include "softhsm_fixture.h"

namespace medledger::ledger::testing {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::exit_code_for;

constexpr const char* kSoPin = "ledger-cli-so-4242";
constexpr const char* kUserPin = "ledger-cli-user-1717";
constexpr const char* kTokenLabel = "node";
constexpr const char* kProposerLabel = "proposer";

struct CommandRun {
  int exit_code = -1;
  std::string out;  // stdout only (the JSON)
  std::string all;  // stdout and stderr
};

CommandRun run_command(const std::string& command, const std::filesystem::path& stderr_file) {
  CommandRun result;
  FILE* pipe = ::popen((command + " 2>" + stderr_file.string()).c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) result.out += buffer.data();
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(stderr_file);
  result.all = result.out + std::string(std::istreambuf_iterator<char>(err), {});
  return result;
}

// The JSON a command printed; a test failure (and null) if it does not parse.
json::value parse_output(const CommandRun& run) {
  boost::system::error_code ec;
  json::value value = json::parse(run.out, ec);
  EXPECT_FALSE(ec) << "not JSON: " << run.out;
  return ec ? json::value() : value;
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

class LedgerCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("MEDLEDGER_USER_PIN", kUserPin, 1);
    ::setenv("MEDLEDGER_PKCS11_MODULE", medledger::testing::SoftHsmDirectory::module_path().c_str(),
             1);
    hsm_.init_token_with_softhsm_util(kTokenLabel, kSoPin, kUserPin);
    auto key =
        cli(std::string("key generate --token ") + kTokenLabel + " --label " + kProposerLabel);
    ASSERT_EQ(key.exit_code, 0) << key.all;
    path_ = (tmp_.path() / "ledger").string();
  }

  CommandRun cli(const std::string& args) {
    CommandRun run =
        run_command(std::string(MEDLEDGER_CLI) + " " + args, tmp_.path() / "stderr.txt");
    all_output_ += run.all;
    return run;
  }
  std::string token_proposer() const {
    return std::string(" --token ") + kTokenLabel + " --proposer-key " + kProposerLabel;
  }
  CommandRun init() { return cli("ledger init --contract kv --path " + path_ + token_proposer()); }
  CommandRun append(const std::string& wire, const std::string& name) {
    auto file = tmp_.path() / name;
    write_file(file, wire + "\n");
    return cli("ledger append --path " + path_ + " --tx " + file.string() + token_proposer());
  }

  medledger::testing::SoftHsmDirectory hsm_;
  TempDir tmp_;
  std::string path_;
  std::string all_output_;
};

TEST_F(LedgerCliTest, TokenProposerLedgerAppendsRefusesReplayAndBadInputAndVerifiesClean) {
  auto created = init();
  ASSERT_EQ(created.exit_code, 0) << created.all;
  json::value init_json = parse_output(created);
  ASSERT_TRUE(init_json.is_object());
  EXPECT_EQ(init_json.at("proposer").at("source"), "token");
  // No software key anywhere: the token signs.
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path_) / "proposer-key.pem"));

  const std::string wire = kv_put("patient-17", "allergy: penicillin");
  auto appended = append(wire, "tx1.json");
  ASSERT_EQ(appended.exit_code, 0) << appended.all;
  json::value receipt = parse_output(appended);
  ASSERT_TRUE(receipt.is_object());
  EXPECT_EQ(receipt.at("result_name"), "ACCEPTED");
  EXPECT_EQ(receipt.at("height"), 1);

  auto replay = append(wire, "tx1-again.json");
  EXPECT_EQ(replay.exit_code, exit_code_for(ErrorCode::kTxDuplicate)) << replay.all;
  EXPECT_NE(replay.all.find("TX_DUPLICATE"), std::string::npos) << replay.all;

  auto malformed = append("{\"type\":\"record.put\",", "broken.json");
  EXPECT_EQ(malformed.exit_code, exit_code_for(ErrorCode::kTxMalformed)) << malformed.all;

  auto verified = cli("ledger verify --path " + path_);
  ASSERT_EQ(verified.exit_code, 0) << verified.all;
  json::value report = parse_output(verified);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report.at("status"), "ok");
  EXPECT_EQ(report.at("blocks"), 2);
  EXPECT_EQ(report.at("transactions"), 2);  // genesis + the put; replay and garbage never entered

  // Genesis records the token key's SPKI, so verify ran without the token.
  auto shown = cli("ledger show --path " + path_);
  ASSERT_EQ(shown.exit_code, 0) << shown.all;
  json::value tip = parse_output(shown);
  ASSERT_TRUE(tip.is_object());
  EXPECT_EQ(tip.at("height"), 1);
  EXPECT_EQ(tip.at("genesis").at("proposers").at(0).at("spki"),
            init_json.at("proposer").at("spki"));

  auto block = cli("ledger show --path " + path_ + " --block 1");
  ASSERT_EQ(block.exit_code, 0) << block.all;
  json::value block_json = parse_output(block);
  ASSERT_TRUE(block_json.is_object());
  EXPECT_EQ(block_json.at("transactions").as_array().size(), 1u);

  auto exported = cli("ledger export --path " + path_);
  ASSERT_EQ(exported.exit_code, 0) << exported.all;
  json::value export_json = parse_output(exported);
  ASSERT_TRUE(export_json.is_object());
  ASSERT_EQ(export_json.at("blocks").as_array().size(), 2u);
  EXPECT_EQ(export_json.at("blocks")
                .at(1)
                .at("transactions")
                .at(0)
                .at("transaction")
                .at("body")
                .at("key"),
            "patient-17");

  auto missing = cli("ledger show --path " + path_ + " --block 7");
  EXPECT_EQ(missing.exit_code, exit_code_for(ErrorCode::kLedgerNotFound)) << missing.all;

  EXPECT_EQ(all_output_.find(kUserPin), std::string::npos);
}

TEST_F(LedgerCliTest, ByteFlippedInDataFileFailsVerifyWithLedgerCorruptNamingTheBlock) {
  ASSERT_EQ(init().exit_code, 0);
  ASSERT_EQ(append(kv_put("patient-1", "first"), "tx1.json").exit_code, 0);
  ASSERT_EQ(append(kv_put("patient-2", "tamper-target-value"), "tx2.json").exit_code, 0);
  ASSERT_EQ(cli("ledger verify --path " + path_).exit_code, 0);

  // The value with its JSON quote occurs only in the stored transaction (the
  // state table holds the bare value): change one letter of it.
  auto data_file = std::filesystem::path(path_) / "lmdb" / "data.mdb";
  std::string bytes;
  {
    std::ifstream in(data_file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string needle = "\"tamper-target-value\"";
  auto at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(bytes.find(needle, at + 1), std::string::npos);
  bytes[at + 1] = 'T';
  {
    std::ofstream out(data_file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  auto verified = cli("ledger verify --path " + path_);
  EXPECT_NE(verified.exit_code, 0) << verified.all;
  EXPECT_EQ(verified.exit_code, exit_code_for(ErrorCode::kLedgerCorrupt)) << verified.all;
  EXPECT_NE(verified.all.find("LEDGER_CORRUPT"), std::string::npos) << verified.all;
  EXPECT_NE(verified.all.find("block 2"), std::string::npos) << verified.all;
}

TEST_F(LedgerCliTest, ProposerMustBeChosenAndListedInGenesisSoftwareKeyOnlyOnRequest) {
  auto no_proposer = cli("ledger init --path " + path_);
  EXPECT_EQ(no_proposer.exit_code, exit_code_for(ErrorCode::kInvalidArgument)) << no_proposer.all;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path_) / "lmdb"));

  auto no_key =
      cli("ledger init --path " + path_ + " --token " + kTokenLabel + " --proposer-key nobody");
  EXPECT_EQ(no_key.exit_code, exit_code_for(ErrorCode::kKeyNotFound)) << no_key.all;

  ASSERT_EQ(init().exit_code, 0);
  ASSERT_EQ(cli(std::string("key generate --token ") + kTokenLabel + " --label other").exit_code,
            0);
  auto file = tmp_.path() / "tx.json";
  write_file(file, kv_put("k", "v"));
  auto other = cli("ledger append --path " + path_ + " --tx " + file.string() + " --token " +
                   kTokenLabel + " --proposer-key other");
  EXPECT_EQ(other.exit_code, exit_code_for(ErrorCode::kInvalidArgument)) << other.all;
  EXPECT_NE(other.all.find("genesis"), std::string::npos) << other.all;

  // The software key: an explicit choice, kept owner-only next to the ledger.
  auto trial = (tmp_.path() / "trial").string();
  auto software = cli("ledger init --contract kv --path " + trial + " --software-proposer");
  ASSERT_EQ(software.exit_code, 0) << software.all;
  struct stat st {};
  ASSERT_EQ(::stat((std::filesystem::path(trial) / "proposer-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto trial_append =
      cli("ledger append --path " + trial + " --tx " + file.string() + " --software-proposer");
  EXPECT_EQ(trial_append.exit_code, 0) << trial_append.all;
  EXPECT_EQ(cli("ledger verify --path " + trial).exit_code, 0);
}

// The contract is fixed in genesis: by default the medical-records rules, which
// refuse a key/value write that the kv trial contract would accept; verify then
// replays with the same rules and stays clean.
TEST_F(LedgerCliTest, DefaultContractIsMedicalRecordsFixedInGenesis) {
  auto ca = tmp_.path() / "ca";
  ASSERT_EQ(
      cli("ca init --ca-dir " + ca.string() + " --token " + kTokenLabel + " --hospital hospital-a")
          .exit_code,
      0)
      << all_output_;
  auto created = cli("ledger init --path " + path_ + " --hospital hospital-a --ca-cert " +
                     (ca / "ca.pem").string() + token_proposer());
  ASSERT_EQ(created.exit_code, 0) << created.all;
  auto shown = parse_output(cli("ledger show --path " + path_));
  EXPECT_EQ(shown.at("genesis").at("contract"), "medical-records/1");

  auto appended = append(kv_put("patient-17", "allergy: penicillin"), "kv.json");
  ASSERT_EQ(appended.exit_code, 0) << appended.all;
  EXPECT_NE(parse_output(appended).at("result_name"), "ACCEPTED");

  auto verified = cli("ledger verify --path " + path_);
  EXPECT_EQ(verified.exit_code, 0) << verified.all;

  auto unknown = cli("ledger init --path " + (tmp_.path() / "other").string() +
                     " --contract nosuch" + token_proposer());
  EXPECT_EQ(unknown.exit_code, exit_code_for(ErrorCode::kInvalidArgument)) << unknown.all;
}

}  // namespace
}  // namespace medledger::ledger::testing

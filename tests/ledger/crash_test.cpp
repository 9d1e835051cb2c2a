// Crash safety: a child process writes under load through the solo orderer and
// records each ACKNOWLEDGED tx_id (fsync'ed after the ack); the parent SIGKILLs
// it at a random moment, reopens the ledger, and checks every acknowledged
// transaction is there and verify is clean. Repeated kRounds times.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "ledger_fixture.h"
#include "medledger/ledger/ordering.h"
#include "medledger/ledger/verify.h"

namespace medledger::ledger {
namespace {

constexpr int kRounds = 20;
constexpr int kMinRunMs = 30;
constexpr int kMaxRunMs = 250;
constexpr int kInFlight = 64;  // concurrent submissions per wave in the writer

[[noreturn]] void run_writer(const std::filesystem::path& ledger_dir, const std::string& key_pem,
                             const std::filesystem::path& acks_path, int round) {
  auto signer = core::SoftwareSigner::from_pem(key_pem);
  auto ledger = Ledger::open(ledger_dir);
  if (!signer || !ledger) _exit(10);
  KeyValueContract contract;
  SoloOptions options;
  options.batch_delay = std::chrono::milliseconds(1);
  auto orderer = SoloOrderer::start(**ledger, contract, **signer, options);
  int fd = ::open(acks_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (fd < 0) _exit(11);
  for (std::uint64_t wave = 0;; ++wave) {
    std::vector<std::future<core::Result<Receipt>>> futures;
    for (int i = 0; i < kInFlight; ++i) {
      std::string key =
          "r" + std::to_string(round) + "w" + std::to_string(wave) + "i" + std::to_string(i);
      futures.push_back(orderer->submit(testing::kv_put(key, std::string(200, 'v'))));
    }
    for (auto& f : futures) {
      auto receipt = f.get();
      if (!receipt) _exit(12);
      std::string line = core::hex_encode(receipt->tx_id) + "\n";
      if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
          ::fsync(fd) != 0)
        _exit(13);
    }
  }
}

std::set<std::string> read_acks(const std::filesystem::path& path) {
  std::set<std::string> acks;
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t start = 0;
  for (std::size_t nl; (nl = content.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = content.substr(start, nl - start);
    if (line.size() == 2 * core::kSha256Size) acks.insert(line);  // a torn last line has no newline
  }
  return acks;
}

TEST(CrashSafety, EveryAcknowledgedTransactionSurvivesSigkillAndVerifies) {
  testing::TempDir dir;
  std::string key_pem;
  std::filesystem::path ledger_dir;
  {
    testing::TestLedger t;  // creates the ledger; closed before any fork
    ledger_dir = dir.path() / "ledger";
    std::filesystem::copy(t.ledger->store().dir(), ledger_dir);
    core::SecretBytes pem = t.signer->private_key_pem();
    key_pem.assign(reinterpret_cast<const char*>(pem.data()), pem.size());
  }
  const auto acks_path = dir.path() / "acks";
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> run_ms(kMinRunMs, kMaxRunMs);
  std::size_t checked = 0;
  for (int round = 0; round < kRounds; ++round) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) run_writer(ledger_dir, key_pem, acks_path, round);
    std::this_thread::sleep_for(std::chrono::milliseconds(run_ms(random)));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "the writer ended by itself with status " << WEXITSTATUS(status);

    auto ledger = Ledger::open(ledger_dir);
    ASSERT_TRUE(ledger) << ledger.error().to_string();
    auto acks = read_acks(acks_path);
    for (const std::string& hex : acks) {
      core::Digest id{};
      auto bytes = core::hex_decode(hex);
      std::copy(bytes->begin(), bytes->end(), id.begin());
      auto found = (*ledger)->find(id);
      ASSERT_TRUE(found && *found)
          << "round " << round << ": acknowledged " << hex << " is missing";
    }
    checked = acks.size();
    KeyValueContract contract;
    auto report = verify_ledger(**ledger, contract);
    ASSERT_TRUE(report) << "round " << round << ": " << report.error().to_string();
    EXPECT_GE(report->transactions, acks.size() + 1);
  }
  EXPECT_GT(checked, 0u) << "no transaction was ever acknowledged: the test exercised nothing";
}

}  // namespace
}  // namespace medledger::ledger

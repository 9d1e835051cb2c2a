// Tamper evidence at the file level: flip bytes of data.mdb inside transaction
// bytes, block headers and state values (found by searching a compacted copy of
// the environment, so every hit is live data) and assert verify never reports
// success. A flip may also make LMDB fail or even crash while reading: verify runs
// in a child process, and only a clean exit 0 counts as "passed".
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "ledger_fixture.h"
#include "medledger/ledger/verify.h"

namespace medledger::ledger {
namespace {

constexpr int kVerifyPassed = 0;
constexpr int kVerifyFailed = 3;

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Offsets of `needle` in `haystack`, optionally only where the previous byte is not `not_after`.
std::vector<std::size_t> find_all(const std::string& haystack, const std::string& needle,
                                  int not_after = -1) {
  std::vector<std::size_t> out;
  for (std::size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    if (not_after >= 0 && pos > 0 && haystack[pos - 1] == static_cast<char>(not_after)) continue;
    out.push_back(pos);
  }
  return out;
}

/// Runs verify on `dir` in a child; true only if it exited 0 (verify reported success).
bool verify_passes_in_child(const std::filesystem::path& dir) {
  pid_t child = fork();
  if (child == 0) {
    auto ledger = Ledger::open(dir);
    if (!ledger) _exit(kVerifyFailed);
    KeyValueContract contract;
    _exit(verify_ledger(**ledger, contract) ? kVerifyPassed : kVerifyFailed);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == kVerifyPassed;
}

class Tamper : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::TestLedger t;
    for (int b = 0; b < 8; ++b) {
      std::vector<std::string> batch;
      for (int i = 0; i < 6; ++i) {
        std::string n = std::to_string(b * 6 + i);
        batch.push_back(testing::kv_put("key" + n, "STATEVALUE" + n));
      }
      t.append(batch);
    }
    pristine_ = dir_.path() / "pristine";
    std::filesystem::create_directories(pristine_);
    // A compacted copy holds live pages only: every pattern found below is current data.
    ASSERT_EQ(mdb_env_copy2(t.ledger->store().env(), pristine_.c_str(), MDB_CP_COMPACT), 0);
    image_ = read_all(pristine_ / "data.mdb");
    ASSERT_TRUE(verify_passes_in_child(pristine_)) << "the untouched copy must verify";
  }

  /// Flips one bit at `offset` in a fresh copy and reports whether verify passed.
  bool verify_passes_after_flip(std::size_t offset, std::uint8_t mask) {
    auto copy = dir_.path() / ("copy" + std::to_string(copies_++));
    std::filesystem::create_directories(copy);
    std::string changed = image_;
    changed[offset] = static_cast<char>(changed[offset] ^ mask);
    std::ofstream(copy / "data.mdb", std::ios::binary)
        .write(changed.data(), static_cast<std::streamsize>(changed.size()));
    bool passed = verify_passes_in_child(copy);
    std::filesystem::remove_all(copy);
    return passed;
  }

  void expect_every_flip_detected(const std::vector<std::size_t>& offsets, std::size_t delta,
                                  const char* what) {
    ASSERT_FALSE(offsets.empty()) << "pattern for " << what << " not found";
    for (std::size_t offset : offsets) {
      for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x40}}) {
        EXPECT_FALSE(verify_passes_after_flip(offset + delta, mask))
            << what << ": flip at " << offset + delta << " mask " << int(mask) << " passed verify";
      }
    }
  }

  testing::TempDir dir_;
  std::filesystem::path pristine_;
  std::string image_;
  int copies_ = 0;
};

TEST_F(Tamper, FlippedTransactionBytesAreDetected) {
  auto hits = find_all(image_, "\"key\":\"key");  // only wire transactions spell the member
  expect_every_flip_detected(hits, 9, "transaction key");
  expect_every_flip_detected(find_all(image_, "\"nonce\":\""), 10, "transaction nonce");
}

TEST_F(Tamper, FlippedBlockHeadersAreDetected) {
  expect_every_flip_detected(find_all(image_, "\"tx_count\":"), 11, "header tx_count");
  expect_every_flip_detected(find_all(image_, "\"merkle_root\":\""), 16, "header merkle_root");
  expect_every_flip_detected(find_all(image_, "\"signature\":\""), 20, "header signature");
}

TEST_F(Tamper, FlippedStateValuesAreDetected) {
  // The state copy of a value is not preceded by a quote (the wire copy is).
  expect_every_flip_detected(find_all(image_, "STATEVALUE", '"'), 3, "state value");
}

TEST_F(Tamper, FlippedResultCodeOrGenesisConfigIsDetected) {
  auto hits = find_all(image_, "{\"body\":{\"key\":\"key");
  ASSERT_FALSE(hits.empty());
  expect_every_flip_detected({hits.front()}, static_cast<std::size_t>(-1), "result code low byte");
  expect_every_flip_detected(find_all(image_, "test-consortium"), 2, "genesis configuration");
}

}  // namespace
}  // namespace medledger::ledger

// docs/contract.md section 4 prints the numbers a log entry records as its result:
// they must be core/error.h's, every contract code (600-699) must be there with its
// result and exit status, and every number the page writes must be its code's.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "medledger/core/error.h"

namespace medledger::ledger {
namespace {

std::string contract_doc() {
  std::ifstream in(MEDLEDGER_CONTRACT_DOC);
  EXPECT_TRUE(in) << MEDLEDGER_CONTRACT_DOC;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ContractResultCodesDocs, EveryContractCodeIsListedWithItsResultAndExit) {
  const std::string doc = contract_doc();
  int listed = 0;
  for (int raw = 600; raw < 700; ++raw) {
    const auto code = static_cast<core::ErrorCode>(raw);
    if (core::error_code_name(code) == "UNKNOWN") continue;
    const std::string row = "| `" + std::string(core::error_code_name(code)) + "` | " +
                            std::to_string(raw) + " | " +
                            std::to_string(core::exit_code_for(code)) + " |";
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/contract.md lacks: " << row;
    ++listed;
  }
  EXPECT_GE(listed, 28);
  EXPECT_NE(doc.find("| `ACCEPTED` | 0 |"), std::string::npos);
}

TEST(ContractResultCodesDocs, EveryResultNumberWrittenIsThatCodesValue) {
  const std::string doc = contract_doc();
  const std::regex row(R"(^\| `([A-Z_]+)` \| (\d+) \|)");
  int rows = 0;
  std::stringstream lines(doc);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (!std::regex_search(line, m, row)) continue;
    const std::string name = m[1];
    const int number = std::stoi(m[2]);
    ++rows;
    if (name == "ACCEPTED") {
      EXPECT_EQ(number, 0);
      continue;
    }
    auto code = core::error_code_named(name);
    ASSERT_TRUE(code.has_value()) << "docs/contract.md names no such code: " << name;
    EXPECT_EQ(number, static_cast<int>(*code)) << name;
  }
  EXPECT_GE(rows, 38);  // 600-627, ACCEPTED, the reused codes
}

}  // namespace
}  // namespace medledger::ledger

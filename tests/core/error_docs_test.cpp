#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "medledger/core/error.h"

using namespace medledger::core;

// docs/errors.md is what users read: every code the code base can return is there,
// with its exit status.
TEST(ErrorDocs, EveryCodeIsDocumentedWithItsExitCode) {
  std::ifstream in(MEDLEDGER_ERRORS_DOC);
  ASSERT_TRUE(in) << MEDLEDGER_ERRORS_DOC;
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  int checked = 0;
  for (int raw = 0; raw < 1000; ++raw) {
    auto code = static_cast<ErrorCode>(raw);
    auto name = error_code_name(code);
    if (name == "UNKNOWN") continue;
    ++checked;
    std::string row =
        "| `" + std::string(name) + "` | " + std::to_string(exit_code_for(code)) + " |";
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/errors.md lacks: " << row;
  }
  EXPECT_GT(checked, 0);
}

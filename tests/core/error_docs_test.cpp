#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "medledger/core/error.h"
#include "named_error_codes.h"

using namespace medledger::core;

// docs/errors.md is what users read: every code the code base can return is there,
// with its exit status.
TEST(ErrorDocs, EveryCodeIsDocumentedWithItsExitCode) {
  std::ifstream in(MEDLEDGER_ERRORS_DOC);
  ASSERT_TRUE(in) << MEDLEDGER_ERRORS_DOC;
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto codes = medledger::testing::named_error_codes();
  for (ErrorCode code : codes) {
    std::string row = "| `" + std::string(error_code_name(code)) + "` | " +
                      std::to_string(exit_code_for(code)) + " |";
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/errors.md lacks: " << row;
  }
  EXPECT_FALSE(codes.empty());
}

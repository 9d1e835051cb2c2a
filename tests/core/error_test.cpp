#include <gtest/gtest.h>

#include <set>

#include "medledger/core/error.h"
#include "medledger/core/result.h"
#include "named_error_codes.h"

using namespace medledger::core;

TEST(ErrorCodes, EveryCodeHasAUniqueNameAndExitCode) {
  std::set<std::string_view> names;
  std::set<int> exits;
  const auto codes = medledger::testing::named_error_codes();
  for (ErrorCode code : codes) {
    auto name = error_code_name(code);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_TRUE(exits.insert(exit_code_for(code)).second) << name;
    EXPECT_NE(exit_code_for(code), 0) << name;
  }
  EXPECT_GE(codes.size(), 40u);
}

TEST(ErrorCodes, EveryNameReadsBackAsItsCodeAndAnUnknownNameAsNone) {
  const auto codes = medledger::testing::named_error_codes();
  for (ErrorCode code : codes) {
    auto name = error_code_name(code);
    EXPECT_EQ(error_code_named(name), code) << name;
  }
  EXPECT_GE(codes.size(), 40u);
  EXPECT_FALSE(error_code_named("UNKNOWN"));
  EXPECT_FALSE(error_code_named("pin_incorrect"));  // names are exact
  EXPECT_FALSE(error_code_named(""));
}

TEST(ErrorCodes, ToStringStartsWithTheStableName) {
  Error e{ErrorCode::kPinIncorrect, "wrong PIN"};
  EXPECT_EQ(e.to_string(), "PIN_INCORRECT: wrong PIN");
}

namespace {
Result<int> half(int x) {
  if (x % 2) return make_error(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}
Result<int> quarter(int x) {
  auto h = half(x);
  MEDLEDGER_TRY(h);
  return half(*h);
}
}  // namespace

TEST(Result, CarriesValueOrError) {
  auto ok = half(4);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  auto bad = half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(Result, TryPropagatesTheFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  auto bad = quarter(6);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "odd");
}

namespace {
// Declares with MEDLEDGER_TRY_ASSIGN, then assigns to an existing variable with it.
Result<int> eighth(int x) {
  MEDLEDGER_TRY_ASSIGN(auto q, quarter(x));
  int e = 0;
  MEDLEDGER_TRY_ASSIGN(e, half(q));
  return e;
}
}  // namespace

TEST(Result, TryAssignDeclaresOrAssignsAndPropagatesTheError) {
  EXPECT_EQ(*eighth(16), 2);
  auto bad = eighth(12);  // 12/4 = 3, odd
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "odd");
}

TEST(ResultDeathTest, ValueOfAnErrorAbortsNamingTheErrorHeld) {
  EXPECT_DEATH(
      {
        auto r = half(3);
        (void)*r;
      },
      "value\\(\\) of a Result that holds an error .*INVALID_ARGUMENT: odd");
}

TEST(ResultDeathTest, NamedValueOfAnErrorAbortsWithTheCallersFileAndLine) {
  EXPECT_DEATH(
      {
        auto r = half(3);
        (void)r.value();
      },
      "error_test\\.cpp:[0-9]+");
}

TEST(ResultDeathTest, ErrorOfASuccessAbortsWithTheCallersFileAndLine) {
  EXPECT_DEATH((void)half(4).error(),
               "error\\(\\) of a Result that holds a value .*error_test\\.cpp");
  EXPECT_DEATH((void)success().error(),
               "error\\(\\) of a Result that succeeded .*error_test\\.cpp");
}

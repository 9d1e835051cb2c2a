#include <gtest/gtest.h>

#include <set>

#include "medledger/core/error.h"
#include "medledger/core/result.h"

using namespace medledger::core;

TEST(ErrorCodes, EveryCodeHasAUniqueNameAndExitCode) {
  std::set<std::string_view> names;
  std::set<int> exits;
  int count = 0;
  for (int raw = 0; raw < 1000; ++raw) {
    auto code = static_cast<ErrorCode>(raw);
    auto name = error_code_name(code);
    if (name == "UNKNOWN") continue;
    ++count;
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_TRUE(exits.insert(exit_code_for(code)).second) << name;
    EXPECT_NE(exit_code_for(code), 0) << name;
  }
  EXPECT_GE(count, 40);
}

TEST(ErrorCodes, EveryNameReadsBackAsItsCodeAndAnUnknownNameAsNone) {
  int count = 0;
  for (int raw = 0; raw < 1000; ++raw) {
    auto code = static_cast<ErrorCode>(raw);
    auto name = error_code_name(code);
    if (name == "UNKNOWN") continue;
    ++count;
    EXPECT_EQ(error_code_named(name), code) << name;
  }
  EXPECT_GE(count, 40);
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

TEST(ResultDeathTest, ValueOfAnErrorAborts) {
  EXPECT_DEATH(
      {
        auto r = half(3);
        (void)*r;
      },
      "");
}

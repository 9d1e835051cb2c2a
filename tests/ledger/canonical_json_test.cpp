// core canonical JSON: the restricted-schema parser and the RFC 8785 serializer.
// (Tested with the ledger suite because transactions are its one big user.)
#include "medledger/core/canonical_json.h"

#include <gtest/gtest.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <algorithm>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace medledger::core {
namespace {

namespace json = boost::json;

std::string canonical(std::string_view text) {
  auto result = canonicalize_json_text(text);
  EXPECT_TRUE(result.ok()) << text << ": " << (result.ok() ? "" : result.error().message);
  return result.ok() ? *result : std::string();
}

void expect_rejected(std::string_view text) {
  auto result = parse_restricted_json(text);
  ASSERT_FALSE(result.ok()) << "accepted: " << text;
  EXPECT_EQ(result.error().code, ErrorCode::kMalformedEncoding) << text;
}

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(CanonicalJson, MembersAreSortedAndWhitespaceRemoved) {
  EXPECT_EQ(canonical(" { \"b\" : 1 ,\n\t\"a\" : [ 2 , { \"d\":\"x\", \"c\":[] } ] , \"\":{} } "),
            R"({"":{},"a":[2,{"c":[],"d":"x"}],"b":1})");
}

TEST(CanonicalJson, MembersSortByUtf16CodeUnitsAsInRfc8785Example) {
  // RFC 8785 section 3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33,
  // although its UTF-8 bytes (F0 ...) sort after those of U+FB33 (EF ...).
  const std::string input =
      R"({"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",)"
      R"("1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control",)"
      R"("\u00f6":"Latin Small Letter O With Diaeresis"})";
  EXPECT_EQ(canonical(input),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
            "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
            "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

TEST(CanonicalJson, AstralKeySortsBeforePrivateUseKeyUnlikeUtf8Order) {
  // U+E000 is EE 80 80 in UTF-8 (< F0 ...) but E000 in UTF-16 (> D800).
  EXPECT_EQ(canonical(R"({"\ue000":1,"\ud800\udc00":2})"),
            "{\"\xf0\x90\x80\x80\":2,\"\xee\x80\x80\":1}");
}

// One letter of the random names, in UTF-8 and UTF-16 as the compiler encodes the
// literals: the UTF-16 form is the reference for the order, independent of the encoder
// and comparator under test.
struct Letter {
  std::u8string_view utf8;
  std::u16string_view utf16;
};

struct Name {
  std::string utf8;
  std::u16string utf16;
};

TEST(CanonicalJson, MemberOrderMatchesUtf16OrderForRandomNames) {
  static constexpr Letter kAlphabet[] = {
      {u8"a", u"a"},
      {u8"z", u"z"},
      {u8"\x7F", u"\x7F"},
      {u8"\u00E9", u"\u00E9"},
      {u8"\u07FF", u"\u07FF"},
      {u8"\u0800", u"\u0800"},
      {u8"\uD7FF", u"\uD7FF"},
      {u8"\uE000", u"\uE000"},
      {u8"\uFFFF", u"\uFFFF"},
      {u8"\U00010000", u"\U00010000"},
      {u8"\U0001F600", u"\U0001F600"},
      {u8"\U0001F601", u"\U0001F601"},
      {u8"\U0010FFFF", u"\U0010FFFF"},
      {u8"\U00020000", u"\U00020000"},
  };
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<Name> names;
    json::object object;
    for (int i = 0; i < 12; ++i) {
      Name name;
      const std::size_t length = random() % 4;
      for (std::size_t c = 0; c < length; ++c) {
        const Letter& letter = kAlphabet[random() % std::size(kAlphabet)];
        name.utf8.append(letter.utf8.begin(), letter.utf8.end());
        name.utf16 += letter.utf16;
      }
      if (object.contains(name.utf8)) continue;
      object[name.utf8] = i;
      names.push_back(name);
    }
    std::sort(names.begin(), names.end(),
              [](const Name& a, const Name& b) { return a.utf16 < b.utf16; });
    std::string expected = "{";
    for (const auto& name : names) {
      if (expected.size() > 1) expected += ',';
      expected += "\"" + name.utf8 + "\":" + std::to_string(object.at(name.utf8).as_int64());
    }
    expected += "}";
    ASSERT_EQ(canonicalize(object), expected);
  }
}

TEST(CanonicalJson, StringsEscapeOnlyQuoteBackslashAndControls) {
  EXPECT_EQ(canonical(R"(["\u0000\u0001\b\t\n\u000b\f\r\u001F", "\"\\\/", "\u007f\u00e9\u2028"])"),
            "[\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\",\"\\\"\\\\/"
            "\",\"\x7f\xc3\xa9\xe2\x80\xa8\"]");
}

TEST(CanonicalJson, IntegersAreWrittenInPlainDecimalUpToTwoToThe53MinusOne) {
  EXPECT_EQ(canonical("[0,-1,1,9007199254740991,-9007199254740991]"),
            "[0,-1,1,9007199254740991,-9007199254740991]");
}

TEST(CanonicalJson, NumbersOutsideTheSchemaAreRejected) {
  for (std::string_view text :
       {"9007199254740992", "-9007199254740992", "18446744073709551616", "-0", "01", "-01", "1.0",
        "1e3", "1E3", "0.5", "-", "+1", ".5", "1.", "[1,]", "NaN", "Infinity"}) {
    expect_rejected(text);
  }
}

TEST(CanonicalJson, BooleansAndNullAreNotInTheSchema) {
  for (std::string_view text : {"true", "false", "null", R"({"a":true})", "[null]"})
    expect_rejected(text);
}

TEST(CanonicalJson, DuplicateMemberNamesAreRejectedEvenWhenSpelledDifferently) {
  expect_rejected(R"({"a":1,"a":2})");
  expect_rejected(R"({"a":1,"\u0061":1})");
  expect_rejected(R"({"x":{"k":"v","k":"v"}})");
  EXPECT_EQ(canonical(R"({"a":{"a":1}})"), R"({"a":{"a":1}})");
}

TEST(CanonicalJson, NestingUpToTheLimitIsAcceptedAndOneDeeperIsRejected) {
  EXPECT_TRUE(parse_restricted_json(nested_arrays(kMaxJsonDepth)).ok());
  expect_rejected(nested_arrays(kMaxJsonDepth + 1));
  expect_rejected(std::string(100000, '['));  // bounded recursion, no stack overflow
}

TEST(CanonicalJson, InvalidUtf8AndLoneSurrogatesAreRejected) {
  for (std::string_view text : {
           "\"\xc0\x80\"",          // overlong NUL
           "\"\xe0\x80\xaf\"",      // overlong '/'
           "\"\xed\xa0\x80\"",      // UTF-8 encoded surrogate
           "\"\xf4\x90\x80\x80\"",  // above U+10FFFF
           "\"\xf5\x80\x80\x80\"",  // invalid lead byte
           "\"\xc3\"",              // truncated
           "\"\x80\"",              // stray continuation byte
           R"("\ud800")",
           R"("\udc00")",
           R"("\ud800\u0041")",
           R"("\ud800x")",
       }) {
    expect_rejected(text);
  }
}

TEST(CanonicalJson, SyntaxErrorsAreRejected) {
  for (std::string_view text :
       {"", " ", "{", "}", "[1 2]", R"({"a" 1})", R"({"a":1,})", R"({a:1})", R"("unterminated)",
        "\"raw\ncontrol\"", R"("\x")", R"("\u12")", "[] []", R"({"a":1} x)", "'single'"}) {
    expect_rejected(text);
  }
}

TEST(CanonicalJson, TextsOverTheSizeLimitAreRejected) {
  const std::string text = "\"" + std::string(100, 'a') + "\"";
  EXPECT_TRUE(parse_restricted_json(text, text.size()).ok());
  auto over = parse_restricted_json(text, text.size() - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kMalformedEncoding);
}

TEST(CanonicalJson, SchemaCheckRejectsValuesBuiltOutsideTheSchema) {
  EXPECT_TRUE(
      check_restricted_schema(json::value(json::object{{"a", 1}, {"b", json::array{"x"}}})).ok());
  for (const json::value& bad :
       {json::value(true), json::value(nullptr), json::value(1.5), json::value(kMaxJsonInteger + 1),
        json::value(std::uint64_t{1} << 60), json::value(json::array{json::value(false)}),
        json::value(json::string("\xff"))}) {
    auto result = check_restricted_schema(bad);
    ASSERT_FALSE(result.ok()) << json::serialize(bad);
    EXPECT_EQ(result.error().code, ErrorCode::kMalformedEncoding);
  }
  json::object bad_name;
  bad_name["\xc0\x80"] = 1;
  EXPECT_FALSE(check_restricted_schema(json::value(bad_name)).ok());
}

TEST(CanonicalJson, IsCanonicalAcceptsOnlyTheOneSpelling) {
  EXPECT_TRUE(is_canonical_json(R"({"a":1,"b":"\u001f"})"));
  EXPECT_FALSE(is_canonical_json(R"({"b":1,"a":1})"));
  EXPECT_FALSE(is_canonical_json(R"({"a": 1})"));
  EXPECT_FALSE(is_canonical_json(R"(["\u00e9"])"));
  EXPECT_FALSE(is_canonical_json(R"(["\/"])"));
  EXPECT_FALSE(is_canonical_json(R"(["\u001F"])"));
  EXPECT_FALSE(is_canonical_json("[true]"));
}

TEST(CanonicalJson, CanonicalizingTwiceChangesNothing) {
  const std::string once = canonical(R"({"z":[{"y":"\u2028"},-5],"a":"\ud83d\ude00"})");
  EXPECT_EQ(canonical(once), once);
  EXPECT_TRUE(is_canonical_json(once));
}

}  // namespace
}  // namespace medledger::core

#include <gtest/gtest.h>

#include "medledger/hsm/token.h"
#include "medledger/hsm/token_selector.h"

namespace medledger::hsm {
namespace {

using core::ErrorCode;

TokenInfo token(std::string label, std::string serial) {
  TokenInfo t;
  t.label = std::move(label);
  t.serial = std::move(serial);
  t.manufacturer = "SoftHSM project";
  t.model = "SoftHSM v2";
  t.initialized = true;
  return t;
}

TEST(TokenSelector, PlainTextMatchesLabelOrSerial) {
  auto s = TokenSelector::parse("hospital-ca");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->matches(token("hospital-ca", "1234")));
  EXPECT_FALSE(s->matches(token("other", "5678")));
  auto by_serial = TokenSelector::parse("5678");
  ASSERT_TRUE(by_serial);
  EXPECT_TRUE(by_serial->matches(token("other", "5678")));
}

TEST(TokenSelector, UriAttributesArePercentDecodedAndAllMustMatch) {
  auto s = TokenSelector::parse(
      "pkcs11:token=My%20Token;serial=42;manufacturer=SoftHSM%20project;object=ca%2dkey;id=%01%ff");
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(*s->label, "My Token");
  EXPECT_EQ(*s->serial, "42");
  EXPECT_EQ(*s->object_label, "ca-key");
  EXPECT_EQ(*s->object_id, (core::Bytes{0x01, 0xff}));
  EXPECT_TRUE(s->matches(token("My Token", "42")));
  EXPECT_FALSE(s->matches(token("My Token", "43")));
}

TEST(TokenSelector, UriQueryPartIsIgnored) {
  auto s = TokenSelector::parse("pkcs11:model=SoftHSM%20v2?pin-source=file:/x");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->model, "SoftHSM v2");
  EXPECT_TRUE(s->matches(token("any", "1")));
}

TEST(TokenSelector, MalformedUrisAreUriInvalid) {
  for (const char* bad :
       {"pkcs11:", "pkcs11:token=a%2", "pkcs11:token=a%zz", "pkcs11:token", "pkcs11:=x",
        "pkcs11:token=", "pkcs11:token=a;token=b", "pkcs11:colour=red", "pkcs11:slot-id=0",
        "pkcs11:object=key-only", "pkcs11:token=a;;serial=1"}) {
    auto s = TokenSelector::parse(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kUriInvalid) << bad;
  }
}

TEST(TokenSelector, EmptyPlainNameIsInvalidArgument) {
  auto s = TokenSelector::parse("");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace medledger::hsm

#include <gtest/gtest.h>

#include "medledger/core/bytes.h"
#include "medledger/core/sha256.h"

using namespace medledger::core;

TEST(Hex, RoundTripsAllByteValues) {
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::uint8_t>(i));
  auto text = hex_encode(all);
  EXPECT_EQ(text.size(), 512u);
  EXPECT_EQ(text.substr(0, 6), "000102");
  auto back = hex_decode(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, all);
}

TEST(Hex, AcceptsUpperCase) {
  auto b = hex_decode("DEADbeef");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, (Bytes{0xde, 0xad, 0xbe, 0xef}));
}

TEST(Hex, OddLengthIsRejected) {
  auto b = hex_decode("abc");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kMalformedEncoding);
}

TEST(Hex, NonHexCharacterIsRejected) {
  auto b = hex_decode("zz");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kMalformedEncoding);
}

TEST(Base64Url, MatchesRfc4648Vectors) {
  // RFC 4648 section 10, without padding and in the URL-safe alphabet.
  EXPECT_EQ(base64url_encode(to_bytes("")), "");
  EXPECT_EQ(base64url_encode(to_bytes("f")), "Zg");
  EXPECT_EQ(base64url_encode(to_bytes("fo")), "Zm8");
  EXPECT_EQ(base64url_encode(to_bytes("foo")), "Zm9v");
  EXPECT_EQ(base64url_encode(to_bytes("foob")), "Zm9vYg");
  EXPECT_EQ(base64url_encode(to_bytes("fooba")), "Zm9vYmE");
  EXPECT_EQ(base64url_encode(to_bytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode(Bytes{0xfb, 0xff}), "-_8");
}

TEST(Base64Url, RoundTripsEveryLength) {
  Bytes data;
  for (int n = 0; n < 40; ++n) {
    auto back = base64url_decode(base64url_encode(data));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, data);
    data.push_back(static_cast<std::uint8_t>(n * 37 + 11));
  }
}

TEST(Base64Url, PaddingAndStandardAlphabetAreRejected) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("+/8"));
  EXPECT_FALSE(base64url_decode("Z"));
}

TEST(Base64Url, NonZeroTrailingBitsAreRejected) {
  // "Zh" decodes to 'f' but with non-zero leftover bits: a second encoding of "f".
  auto b = base64url_decode("Zh");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kMalformedEncoding);
}

TEST(Sha256, MatchesFips180Vectors) {
  EXPECT_EQ(hex_encode(sha256(to_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_encode(sha256(to_bytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  Sha256 h;
  h.update(to_bytes("ab")).update(to_bytes("c"));
  EXPECT_EQ(h.finish(), sha256(to_bytes("abc")));
}

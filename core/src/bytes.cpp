#include "medledger/core/bytes.h"

#include <array>

namespace medledger::core {

namespace {
constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::array<int, 256> make_base64url_table() {
  std::array<int, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kBase64UrlAlphabet[i])] = i;
  return table;
}
constexpr auto kBase64UrlValues = make_base64url_table();
}  // namespace

std::string hex_encode(ByteView data) {
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0x0f]);
  }
  return out;
}

Result<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) {
    return make_error(ErrorCode::kMalformedEncoding, "hex text has an odd number of digits");
  }
  Bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = hex_value(text[i]);
    int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(
          ErrorCode::kMalformedEncoding,
          "hex text has a non-hex character at offset " + std::to_string(hi < 0 ? i : i + 1));
    }
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string base64url_encode(ByteView data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t v = data[i] << 16 | data[i + 1] << 8 | data[i + 2];
    out.push_back(kBase64UrlAlphabet[v >> 18 & 63]);
    out.push_back(kBase64UrlAlphabet[v >> 12 & 63]);
    out.push_back(kBase64UrlAlphabet[v >> 6 & 63]);
    out.push_back(kBase64UrlAlphabet[v & 63]);
  }
  std::size_t rest = data.size() - i;
  if (rest == 1) {
    std::uint32_t v = data[i] << 16;
    out.push_back(kBase64UrlAlphabet[v >> 18 & 63]);
    out.push_back(kBase64UrlAlphabet[v >> 12 & 63]);
  } else if (rest == 2) {
    std::uint32_t v = data[i] << 16 | data[i + 1] << 8;
    out.push_back(kBase64UrlAlphabet[v >> 18 & 63]);
    out.push_back(kBase64UrlAlphabet[v >> 12 & 63]);
    out.push_back(kBase64UrlAlphabet[v >> 6 & 63]);
  }
  return out;
}

Result<Bytes> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) {
    return make_error(ErrorCode::kMalformedEncoding, "base64url text has an impossible length");
  }
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    int v = kBase64UrlValues[static_cast<unsigned char>(text[i])];
    if (v < 0) {
      return make_error(
          ErrorCode::kMalformedEncoding,
          "base64url text has a character outside the alphabet at offset " + std::to_string(i));
    }
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits & 0xff));
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return make_error(ErrorCode::kMalformedEncoding, "base64url text has non-zero trailing bits");
  }
  return out;
}

}  // namespace medledger::core

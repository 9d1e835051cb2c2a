// UTF-8 / UTF-16 helpers of the canonical JSON code.
#include "canonical_json_utf8.h"

#include <algorithm>

#include "medledger/core/assert.h"

namespace medledger::core::detail {

// Decodes one UTF-8 sequence at text[pos]; advances pos. False on any invalid form
// (overlong, surrogate, above U+10FFFF, truncated).
bool decode_utf8(std::string_view text, std::size_t& pos, char32_t& out) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  std::size_t length = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    out = lead;
    ++pos;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, out = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, out = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, out = lead & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (pos + length > text.size()) return false;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return false;
    out = (out << 6) | (byte(pos + i) & 0x3F);
  }
  if (out < min || out > kMaxCodePoint || (out >= kSurrogateFirst && out <= kSurrogateLast))
    return false;
  pos += length;
  return true;
}

bool is_valid_utf8(std::string_view text) {
  char32_t cp = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;  // ASCII fast path: most of every transaction
    } else if (!decode_utf8(text, pos, cp)) {
      return false;
    }
  }
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// RFC 8785 section 3.2.3: member names compare as arrays of UTF-16 code units.
// UTF-8 byte order equals code point order, which equals UTF-16 order except that a
// code point above U+FFFF (a surrogate pair, D800..DBFF first) sorts before
// U+E000..U+FFFF. So compare bytes, and at the first difference compare the first
// UTF-16 code units of the two code points; no allocation.
bool utf16_less(std::string_view a, std::string_view b) {
  const std::size_t common = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < common && a[i] == b[i]) ++i;
  if (i == common) return a.size() < b.size();  // a code point prefix is a UTF-16 prefix
  // Back up to the start of the differing code point; the bytes before agree, so
  // both strings have a code point boundary there.
  while (i > 0 && (static_cast<unsigned char>(a[i]) & 0xC0) == 0x80) --i;
  char32_t cp_a = 0;
  char32_t cp_b = 0;
  std::size_t pos_a = i;
  std::size_t pos_b = i;
  const bool decoded = decode_utf8(a, pos_a, cp_a) && decode_utf8(b, pos_b, cp_b);
  MEDLEDGER_ASSERT(decoded);
  const auto first_unit = [](char32_t cp) -> char32_t {
    return cp >= 0x10000 ? kSurrogateFirst + ((cp - 0x10000) >> 10) : cp;
  };
  if (first_unit(cp_a) != first_unit(cp_b)) return first_unit(cp_a) < first_unit(cp_b);
  return cp_a < cp_b;  // same high surrogate: the low surrogates follow code point order
}

}  // namespace medledger::core::detail

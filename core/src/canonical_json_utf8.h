// UTF-8 / UTF-16 helpers of the canonical JSON code (private to core/src).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace medledger::core::detail {

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr char32_t kSurrogateFirst = 0xD800;
constexpr char32_t kLowSurrogateFirst = 0xDC00;
constexpr char32_t kSurrogateLast = 0xDFFF;

/// Decodes one UTF-8 sequence at text[pos] into `out` and advances pos. False on any
/// invalid form (overlong, surrogate, above U+10FFFF, truncated); pos is then unchanged.
bool decode_utf8(std::string_view text, std::size_t& pos, char32_t& out);
/// True when all of `text` is valid UTF-8.
bool is_valid_utf8(std::string_view text);
/// Appends the UTF-8 encoding of a valid code point.
void append_utf8(std::string& out, char32_t cp);
/// RFC 8785 section 3.2.3 member-name order: a < b as arrays of UTF-16 code units.
/// Both must be valid UTF-8 (asserted).
bool utf16_less(std::string_view a, std::string_view b);

}  // namespace medledger::core::detail

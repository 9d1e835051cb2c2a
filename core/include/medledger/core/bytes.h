// Bytes and their text encodings: lowercase hex and base64url (RFC 4648 section 5,
// no padding), the two encodings used in transactions, receipts and the CLI.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/core/result.h"

namespace medledger::core {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string to_string(ByteView b) { return std::string(b.begin(), b.end()); }

/// Lowercase hex, two characters per byte.
std::string hex_encode(ByteView data);
/// Accepts upper or lower case; fails (kMalformedEncoding) on odd length or a non-hex character.
Result<Bytes> hex_decode(std::string_view text);

/// base64url without padding, as RFC 7515 uses it.
std::string base64url_encode(ByteView data);
/// Strict: rejects padding, characters outside the URL-safe alphabet and non-zero trailing bits.
Result<Bytes> base64url_decode(std::string_view text);

}  // namespace medledger::core

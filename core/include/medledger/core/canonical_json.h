// Canonical JSON: a strict parser and the RFC 8785 (JCS) serializer for the
// restricted schema that transactions, blocks and checkpoints use.
//
// The restricted schema (docs/architecture.md, docs/transactions.md):
//   - objects (member names unique), arrays, strings, integers;
//   - integers only in the interoperable range [-(2^53-1), 2^53-1]: inside it the
//     plain decimal we write is exactly what RFC 8785 writes for an IEEE double,
//     so any JCS library in any language produces the same bytes;
//   - no floats, no exponents, no "-0", no leading zeros;
//   - no `true`/`false`/`null`: nothing on the ledger needs them (flags are
//     strings or the absence of a member), and fewer kinds mean fewer ways to
//     encode the same meaning;
//   - strings are valid UTF-8 without unpaired surrogates; bytes travel as
//     base64url strings.
//
// Canonical form = RFC 8785 restricted to that schema: no whitespace, object
// members sorted by the UTF-16 code units of their names, strings escaped only
// where required (`"`, `\`, control characters; \b \f \n \r \t short forms,
// other controls as \u00XX with lowercase hex), everything else as raw UTF-8,
// integers in plain decimal.
//
// Errors: everything here returns ErrorCode::kMalformedEncoding (this is core;
// the ledger maps it to kTxMalformed / kTxNotCanonical for transactions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "medledger/core/result.h"

namespace medledger::core {

/// Deepest nesting of arrays/objects accepted (the top-level value is depth 1).
/// Transactions need about 5; 32 leaves room and bounds recursion.
inline constexpr std::size_t kMaxJsonDepth = 32;
/// Largest JSON text the parser accepts at all; callers lower it (transactions: 256 KiB).
inline constexpr std::size_t kMaxJsonBytes = 16 * 1024 * 1024;
/// Largest integer magnitude in the schema: 2^53 - 1 (I-JSON, RFC 7493 section 2.2).
inline constexpr std::int64_t kMaxJsonInteger = (std::int64_t{1} << 53) - 1;

/// Parses `text` as one JSON value of the restricted schema. Rejects (kMalformedEncoding):
/// texts over `max_bytes` (capped at kMaxJsonBytes), syntax errors, trailing data,
/// true/false/null, floats/exponents/-0/leading zeros, integers outside
/// +-kMaxJsonInteger, duplicate member names, nesting deeper than kMaxJsonDepth,
/// invalid UTF-8 and unpaired \u surrogates. Accepts insignificant whitespace and any
/// valid escape. Integers come back as kind int64. Cost: one pass, O(size).
Result<boost::json::value> parse_restricted_json(std::string_view text,
                                                 std::size_t max_bytes = kMaxJsonBytes);

/// Checks that `value` is inside the restricted schema (kinds, integer range,
/// valid UTF-8 strings and names, depth). kMalformedEncoding names the first offence.
Result<void> check_restricted_schema(const boost::json::value& value);

/// The canonical (RFC 8785) serialization of `value`. The value must be inside the
/// restricted schema: a value that is not is a programmer error and aborts
/// (check_restricted_schema first for untrusted values). Cost: O(size + members log members).
std::string canonicalize(const boost::json::value& value);
/// The same for an object, without copying it into a value first.
std::string canonicalize(const boost::json::object& object);

/// parse_restricted_json then canonicalize: the canonical form of any restricted JSON text.
Result<std::string> canonicalize_json_text(std::string_view text,
                                           std::size_t max_bytes = kMaxJsonBytes);

/// True when `text` is already in canonical form (parses and re-serializes to the same bytes).
bool is_canonical_json(std::string_view text, std::size_t max_bytes = kMaxJsonBytes);

}  // namespace medledger::core

// TokenSelector: how a token (and optionally an object) is named -- by label, by
// serial, or by an RFC 7512 "pkcs11:" URI. Never by slot number: slot numbers
// change when tokens are added, removed or re-initialised.
#pragma once

#include <optional>
#include <string>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"

namespace medledger::hsm {

struct TokenInfo;

struct TokenSelector {
  // Each set field must match exactly (after trimming the blank padding of
  // CK_TOKEN_INFO); unset fields match anything. At least one token field is set.
  std::optional<std::string> label;         // URI "token="
  std::optional<std::string> serial;        // URI "serial="
  std::optional<std::string> manufacturer;  // URI "manufacturer="
  std::optional<std::string> model;         // URI "model="
  // Object attributes of a URI; not used for token matching.
  std::optional<std::string> object_label;  // URI "object=" (CKA_LABEL)
  std::optional<core::Bytes> object_id;     // URI "id=" (CKA_ID, percent-decoded bytes)

  /// Parses what the user typed after --token: a "pkcs11:" URI (RFC 7512, path
  /// attributes separated by ';', values percent-decoded, query part ignored),
  /// otherwise a plain string matched against label OR serial. A malformed URI
  /// (bad %-escape, unknown path attribute, duplicate attribute, empty value, no
  /// token attribute) is kUriInvalid.
  static core::Result<TokenSelector> parse(const std::string& text);

  /// Selects by label only.
  static TokenSelector by_label(std::string label);

  /// True if `token` matches every set token field. A plain (non-URI) string
  /// matches the label or the serial.
  bool matches(const TokenInfo& token) const;

  /// For messages: "token 'x'", "serial '123'", or the URI as given.
  std::string describe() const;

  bool plain = false;  // parsed from a plain string: `label` and `serial` hold the same text,
                       // either may match
  std::string text;    // what the user typed, for describe()
};

}  // namespace medledger::hsm

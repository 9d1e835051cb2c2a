#include "medledger/hsm/token_selector.h"

#include <string_view>

#include "medledger/hsm/token.h"

namespace medledger::hsm {

namespace {
using core::ErrorCode;

constexpr std::string_view kUriScheme = "pkcs11:";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

core::Error uri_error(const std::string& uri, const std::string& why) {
  return core::make_error(ErrorCode::kUriInvalid, "invalid pkcs11: URI '" + uri + "': " + why);
}

// RFC 7512 section 2.3: values are percent-encoded; '%' must start a two-digit escape.
core::Result<std::string> percent_decode(std::string_view value, const std::string& uri) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out.push_back(value[i]);
      continue;
    }
    if (i + 2 >= value.size()) return uri_error(uri, "truncated %-escape");
    int hi = hex_value(value[i + 1]);
    int lo = hex_value(value[i + 2]);
    if (hi < 0 || lo < 0) return uri_error(uri, "bad %-escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

core::Result<TokenSelector> parse_uri(const std::string& text) {
  TokenSelector selector;
  selector.text = text;
  std::string_view rest = std::string_view(text).substr(kUriScheme.size());
  rest = rest.substr(0, rest.find('?'));  // query attributes (pin-source...) are not ours to use
  if (rest.empty()) return uri_error(text, "no attributes");
  while (!rest.empty()) {
    std::size_t end = rest.find(';');
    std::string_view attribute = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    std::size_t eq = attribute.find('=');
    if (eq == std::string_view::npos || eq == 0) return uri_error(text, "attribute without '='");
    std::string_view name = attribute.substr(0, eq);
    MEDLEDGER_TRY_ASSIGN(auto value, percent_decode(attribute.substr(eq + 1), text));
    if (value.empty()) return uri_error(text, "empty value for '" + std::string(name) + "'");
    auto set = [&](auto& field) -> core::Result<void> {
      if (field) return uri_error(text, "duplicate attribute '" + std::string(name) + "'");
      field = value;
      return core::success();
    };
    core::Result<void> r;
    if (name == "token")
      r = set(selector.label);
    else if (name == "serial")
      r = set(selector.serial);
    else if (name == "manufacturer")
      r = set(selector.manufacturer);
    else if (name == "model")
      r = set(selector.model);
    else if (name == "object")
      r = set(selector.object_label);
    else if (name == "id") {
      if (selector.object_id) return uri_error(text, "duplicate attribute 'id'");
      selector.object_id = core::to_bytes(value);
    } else if (name == "type" || name == "slot-id" || name == "slot-description" ||
               name == "slot-manufacturer" || name == "library-manufacturer" ||
               name == "library-description" || name == "library-version") {
      // Valid RFC 7512 attributes we do not select by: a slot id is not a stable name.
      return uri_error(
          text, "attribute '" + std::string(name) + "' is not supported for token selection");
    } else {
      return uri_error(text, "unknown attribute '" + std::string(name) + "'");
    }
    if (!r) return r.error();
  }
  if (!selector.label && !selector.serial && !selector.manufacturer && !selector.model) {
    return uri_error(text, "names no token (token=, serial=, manufacturer= or model=)");
  }
  return selector;
}
}  // namespace

core::Result<TokenSelector> TokenSelector::parse(const std::string& text) {
  if (text.rfind(kUriScheme, 0) == 0) return parse_uri(text);
  if (text.empty()) return core::make_error(ErrorCode::kInvalidArgument, "empty token name");
  TokenSelector selector;
  selector.plain = true;
  selector.text = text;
  selector.label = text;
  selector.serial = text;
  return selector;
}

TokenSelector TokenSelector::by_label(std::string label) {
  TokenSelector selector;
  selector.text = label;
  selector.label = std::move(label);
  return selector;
}

bool TokenSelector::matches(const TokenInfo& token) const {
  if (plain) return token.label == *label || token.serial == *serial;
  if (label && token.label != *label) return false;
  if (serial && token.serial != *serial) return false;
  if (manufacturer && token.manufacturer != *manufacturer) return false;
  if (model && token.model != *model) return false;
  return true;
}

std::string TokenSelector::describe() const {
  if (plain) return "token '" + text + "'";
  if (text.rfind(kUriScheme, 0) == 0) return "token " + text;
  if (label && !serial) return "token '" + *label + "'";
  if (serial && !label) return "token with serial '" + *serial + "'";
  return "token '" + text + "'";
}

}  // namespace medledger::hsm

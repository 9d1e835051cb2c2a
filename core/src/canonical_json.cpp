// Strict restricted-schema JSON parser and RFC 8785 serializer (canonical_json.h).
//
// The parser is hand-written rather than Boost.JSON's because the schema forbids
// what a general parser accepts (duplicate names, floats, literals, -0) and we need
// to reject those with a clear message instead of silently picking one meaning.
// Parsed values are stored in boost::json types so callers get a common tree.
#include "medledger/core/canonical_json.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include "medledger/core/assert.h"
#include "canonical_json_utf8.h"

namespace medledger::core {
namespace {

namespace json = boost::json;
using detail::append_utf8;
using detail::decode_utf8;
using detail::is_valid_utf8;
using detail::kLowSurrogateFirst;
using detail::kSurrogateFirst;
using detail::kSurrogateLast;
using detail::utf16_less;

Error malformed(std::string what) {
  return make_error(ErrorCode::kMalformedEncoding, "restricted JSON: " + std::move(what));
}

// True for bytes a JSON string may hold without an escape (ASCII part only).
bool is_plain_ascii(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<json::value> parse_document() {
    skip_whitespace();
    auto value = parse_value(1);
    if (!value) return value;
    skip_whitespace();
    if (pos_ != text_.size()) return error("unexpected data after the value");
    return value;
  }

 private:
  Error error(std::string what) const {
    return malformed(std::move(what) + " at byte " + std::to_string(pos_));
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }

  bool consume_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Result<json::value> parse_value(std::size_t depth) {
    if (at_end()) return error("unexpected end of text");
    switch (peek()) {
      case '{':
        return parse_object(depth);
      case '[':
        return parse_array(depth);
      case '"': {
        MEDLEDGER_TRY_ASSIGN(auto s, parse_string());
        return json::value(json::string(s));
      }
      case 't':
      case 'f':
        return error("booleans are not in the schema");
      case 'n':
        return error("null is not in the schema");
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_integer();
        return error("unexpected character");
    }
  }

  Result<json::value> parse_integer() {
    const std::size_t start = pos_;
    const bool negative = peek() == '-';
    if (negative) ++pos_;
    if (at_end() || peek() < '0' || peek() > '9') return error("a digit must follow '-'");
    std::int64_t magnitude = 0;
    if (peek() == '0') {
      ++pos_;
      if (!at_end() && peek() >= '0' && peek() <= '9')
        return error("leading zeros are not allowed");
    } else {
      while (!at_end() && peek() >= '0' && peek() <= '9') {
        magnitude = magnitude * 10 + (peek() - '0');
        if (magnitude > kMaxJsonInteger) {
          pos_ = start;
          return error("integer outside +-(2^53-1)");
        }
        ++pos_;
      }
    }
    if (!at_end() && (peek() == '.' || peek() == 'e' || peek() == 'E')) {
      return error("fractions and exponents are not in the schema");
    }
    if (negative && magnitude == 0) {
      pos_ = start;
      return error("-0 is not in the schema");
    }
    return json::value(negative ? -magnitude : magnitude);
  }

  Result<unsigned> parse_hex4() {
    if (text_.size() - pos_ < 4) return error("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= static_cast<unsigned>(c - 'A' + 10);
      else
        return error("bad hex digit in \\u escape");
    }
    return value;
  }

  // A \uXXXX escape (pos_ after the 'u'), pairing surrogates.
  Result<char32_t> parse_unicode_escape() {
    MEDLEDGER_TRY_ASSIGN(auto first, parse_hex4());
    const char32_t high = first;
    if (high < kSurrogateFirst || high > kSurrogateLast) return high;
    if (high >= kLowSurrogateFirst) return error("unpaired low surrogate");
    if (!consume_literal("\\u")) return error("unpaired high surrogate");
    MEDLEDGER_TRY_ASSIGN(auto second, parse_hex4());
    const char32_t low = second;
    if (low < kLowSurrogateFirst || low > kSurrogateLast) return error("unpaired high surrogate");
    return 0x10000 + ((high - kSurrogateFirst) << 10) + (low - kLowSurrogateFirst);
  }

  Result<std::string> parse_string() {
    MEDLEDGER_ASSERT(peek() == '"');
    ++pos_;
    std::string out;
    while (true) {
      if (at_end()) return error("unterminated string");
      const unsigned char c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) return error("raw control character in string");
      if (is_plain_ascii(c)) {
        // Copy the whole run of plain ASCII at once.
        const std::size_t begin = pos_;
        while (!at_end() && is_plain_ascii(static_cast<unsigned char>(peek()))) ++pos_;
        out.append(text_.substr(begin, pos_ - begin));
        continue;
      }
      if (c != '\\') {
        const std::size_t begin = pos_;
        char32_t cp = 0;
        if (!decode_utf8(text_, pos_, cp)) return error("invalid UTF-8");
        out.append(text_.substr(begin, pos_ - begin));
        continue;
      }
      ++pos_;
      if (at_end()) return error("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          MEDLEDGER_TRY_ASSIGN(auto cp, parse_unicode_escape());
          append_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          return error("unknown escape");
      }
    }
  }

  Result<json::value> parse_array(std::size_t depth) {
    if (depth > kMaxJsonDepth) return error("nesting deeper than " + std::to_string(kMaxJsonDepth));
    ++pos_;
    json::array array;
    skip_whitespace();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return json::value(std::move(array));
    }
    while (true) {
      skip_whitespace();
      auto element = parse_value(depth + 1);
      if (!element) return element;
      array.push_back(std::move(*element));
      skip_whitespace();
      if (at_end()) return error("unterminated array");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return json::value(std::move(array));
      }
      return error("expected ',' or ']'");
    }
  }

  Result<json::value> parse_object(std::size_t depth) {
    if (depth > kMaxJsonDepth) return error("nesting deeper than " + std::to_string(kMaxJsonDepth));
    ++pos_;
    json::object object;
    skip_whitespace();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return json::value(std::move(object));
    }
    while (true) {
      skip_whitespace();
      if (at_end() || peek() != '"') return error("expected a member name");
      const std::size_t name_pos = pos_;
      MEDLEDGER_TRY_ASSIGN(auto name, parse_string());
      if (object.contains(name)) {
        pos_ = name_pos;
        return error("duplicate member name \"" + name + "\"");
      }
      skip_whitespace();
      if (at_end() || peek() != ':') return error("expected ':'");
      ++pos_;
      skip_whitespace();
      auto member = parse_value(depth + 1);
      if (!member) return member;
      object.emplace(name, std::move(*member));
      skip_whitespace();
      if (at_end()) return error("unterminated object");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return json::value(std::move(object));
      }
      return error("expected ',' or '}'");
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

Result<void> check_value(const json::value& value, std::size_t depth) {
  switch (value.kind()) {
    case json::kind::int64: {
      const std::int64_t n = value.get_int64();
      if (n > kMaxJsonInteger || n < -kMaxJsonInteger)
        return malformed("integer outside +-(2^53-1)");
      return success();
    }
    case json::kind::uint64:
      if (value.get_uint64() > static_cast<std::uint64_t>(kMaxJsonInteger)) {
        return malformed("integer outside +-(2^53-1)");
      }
      return success();
    case json::kind::string:
      if (!is_valid_utf8(value.get_string())) return malformed("string is not valid UTF-8");
      return success();
    case json::kind::array:
      if (depth > kMaxJsonDepth)
        return malformed("nesting deeper than " + std::to_string(kMaxJsonDepth));
      for (const json::value& element : value.get_array())
        MEDLEDGER_TRY(check_value(element, depth + 1));
      return success();
    case json::kind::object:
      if (depth > kMaxJsonDepth)
        return malformed("nesting deeper than " + std::to_string(kMaxJsonDepth));
      for (const auto& member : value.get_object()) {
        if (!is_valid_utf8(member.key())) return malformed("member name is not valid UTF-8");
        MEDLEDGER_TRY(check_value(member.value(), depth + 1));
      }
      return success();
    case json::kind::bool_:
      return malformed("booleans are not in the schema");
    case json::kind::null:
      return malformed("null is not in the schema");
    case json::kind::double_:
      return malformed("floating-point numbers are not in the schema");
  }
  return malformed("unknown JSON kind");
}

// RFC 8785 section 3.2.2.2: escape only '"', '\\' and controls; short forms where JSON has them.
void write_string(std::string& out, std::string_view s) {
  MEDLEDGER_ASSERT(is_valid_utf8(s));
  out.push_back('"');
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') {
      // Copy the whole run that needs no escape (non-ASCII UTF-8 included) at once.
      std::size_t end = i + 1;
      while (end < s.size()) {
        const auto next = static_cast<unsigned char>(s[end]);
        if (next < 0x20 || next == '"' || next == '\\') break;
        ++end;
      }
      out.append(s.substr(i, end - i));
      i = end - 1;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void write_value(std::string& out, const json::value& value, std::size_t depth);

void write_object(std::string& out, const json::object& object, std::size_t depth) {
  MEDLEDGER_ASSERT(depth <= kMaxJsonDepth);
  std::vector<const json::key_value_pair*> members;
  members.reserve(object.size());
  for (const auto& member : object) members.push_back(&member);
  std::sort(members.begin(), members.end(),
            [](const json::key_value_pair* a, const json::key_value_pair* b) {
              return utf16_less(a->key(), b->key());
            });
  out.push_back('{');
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i > 0) out.push_back(',');
    write_string(out, members[i]->key());
    out.push_back(':');
    write_value(out, members[i]->value(), depth + 1);
  }
  out.push_back('}');
}

void write_value(std::string& out, const json::value& value, std::size_t depth) {
  switch (value.kind()) {
    case json::kind::int64: {
      const std::int64_t n = value.get_int64();
      MEDLEDGER_ASSERT(n <= kMaxJsonInteger && n >= -kMaxJsonInteger);
      out += std::to_string(n);
      return;
    }
    case json::kind::uint64:
      MEDLEDGER_ASSERT(value.get_uint64() <= static_cast<std::uint64_t>(kMaxJsonInteger));
      out += std::to_string(value.get_uint64());
      return;
    case json::kind::string:
      write_string(out, value.get_string());
      return;
    case json::kind::array: {
      MEDLEDGER_ASSERT(depth <= kMaxJsonDepth);
      out.push_back('[');
      bool first = true;
      for (const json::value& element : value.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        write_value(out, element, depth + 1);
      }
      out.push_back(']');
      return;
    }
    case json::kind::object:
      write_object(out, value.get_object(), depth);
      return;
    case json::kind::bool_:
    case json::kind::null:
    case json::kind::double_:
      MEDLEDGER_ASSERT(!"value outside the restricted JSON schema");
  }
}

}  // namespace

Result<json::value> parse_restricted_json(std::string_view text, std::size_t max_bytes) {
  const std::size_t limit = std::min(max_bytes, kMaxJsonBytes);
  if (text.size() > limit) {
    return malformed("text of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                     std::to_string(limit));
  }
  return Parser(text).parse_document();
}

Result<void> check_restricted_schema(const json::value& value) { return check_value(value, 1); }

std::string canonicalize(const json::value& value) {
  std::string out;
  write_value(out, value, 1);
  return out;
}

std::string canonicalize(const json::object& object) {
  std::string out;
  write_object(out, object, 1);
  return out;
}

Result<std::string> canonicalize_json_text(std::string_view text, std::size_t max_bytes) {
  MEDLEDGER_TRY_ASSIGN(auto value, parse_restricted_json(text, max_bytes));
  return canonicalize(value);
}

bool is_canonical_json(std::string_view text, std::size_t max_bytes) {
  auto canonical = canonicalize_json_text(text, max_bytes);
  return canonical && *canonical == text;
}

}  // namespace medledger::core

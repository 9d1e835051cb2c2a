#include "json_fields.h"

#include <algorithm>

#include <system_error>

#include <boost/json/parse.hpp>

#include "medledger/core/error.h"
#include "medledger/node/limits.h"
#include "medledger/node/node_config.h"

namespace medledger::node::detail {

namespace {
using core::ErrorCode;

core::Error malformed(std::string_view name, std::string_view problem) {
  return core::make_error(ErrorCode::kMalformedEncoding,
                          "field '" + std::string(name) + "' " + std::string(problem));
}

core::Result<const boost::json::value*> member(const boost::json::object& object,
                                               std::string_view name) {
  const boost::json::value* value = object.if_contains(name);
  if (!value) return malformed(name, "is missing");
  return value;
}

bool all_in(std::string_view value, char low, char high) {
  return std::all_of(value.begin(), value.end(), [&](char c) { return c >= low && c <= high; });
}
}  // namespace

bool valid_identifier(std::string_view value) {
  return !value.empty() && value.size() <= kMaxIdentifierBytes && all_in(value, 0x21, 0x7e);
}

bool valid_content_type(std::string_view value) {
  return !value.empty() && value.size() <= kMaxContentTypeBytes && all_in(value, 0x20, 0x7e);
}

bool valid_version(std::uint64_t value) { return value >= 1 && value <= kMaxVersion; }

core::Result<void> require_identifier(std::string_view what, std::string_view value) {
  if (valid_identifier(value)) return core::success();
  return core::make_error(ErrorCode::kInvalidArgument,
                          std::string(what) + " must be 1-" + std::to_string(kMaxIdentifierBytes) +
                              " printable ASCII characters without spaces");
}

core::Result<void> require_version(std::string_view what, std::uint64_t value) {
  if (valid_version(value)) return core::success();
  return core::make_error(ErrorCode::kInvalidArgument, std::string(what) + " must be in 1..2^53-1");
}

core::Result<void> require_exactly(const boost::json::object& object,
                                   std::initializer_list<std::string_view> allowed,
                                   std::string_view what) {
  for (const auto& entry : object) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(entry.key())) == allowed.end()) {
      return core::make_error(
          ErrorCode::kMalformedEncoding,
          std::string(what) + " has an unknown member '" + std::string(entry.key()) + "'");
    }
  }
  for (std::string_view name : allowed) {
    if (!object.contains(name)) return malformed(name, "is missing");
  }
  return core::success();
}

core::Result<std::string> string_field(const boost::json::object& object, std::string_view name) {
  MEDLEDGER_TRY_ASSIGN(auto value, member(object, name));
  if (!value->is_string()) return malformed(name, "is not a string");
  return std::string(value->get_string());
}

core::Result<std::uint64_t> integer_field(const boost::json::object& object,
                                          std::string_view name) {
  MEDLEDGER_TRY_ASSIGN(auto value, member(object, name));
  if (!value->is_int64() || value->get_int64() < 0)
    return malformed(name, "is not a non-negative integer");
  return static_cast<std::uint64_t>(value->get_int64());
}

core::Result<core::Bytes> bytes_field(const boost::json::object& object, std::string_view name,
                                      std::size_t size) {
  return bytes_field(object, name, size, size);
}

core::Result<core::Bytes> bytes_field(const boost::json::object& object, std::string_view name,
                                      std::size_t min_size, std::size_t max_size) {
  auto text = string_field(object, name);
  if (!text) return text.error();
  // A bound on the text before decoding keeps a huge field from being decoded at all.
  if (text->size() > (max_size * 4 + 2) / 3) return malformed(name, "is too long");
  auto bytes = core::base64url_decode(*text);
  if (!bytes) return malformed(name, "is not base64url");
  if (bytes->size() < min_size || bytes->size() > max_size) {
    return malformed(name, min_size == max_size
                               ? "must decode to " + std::to_string(min_size) + " bytes"
                               : "has a size outside " + std::to_string(min_size) + ".." +
                                     std::to_string(max_size) + " bytes");
  }
  return bytes;
}

core::Error damaged_file(const std::filesystem::path& path) {
  return core::make_error(core::ErrorCode::kConfigInvalid, path.string() + " is damaged");
}

core::Result<std::optional<boost::json::object>> read_object_file(
    const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) {
    if (text.error().code == core::ErrorCode::kNotFound)
      return std::optional<boost::json::object>();
    return text.error();
  }
  std::error_code ec;
  boost::json::value value = boost::json::parse(*text, ec);
  if (ec || !value.is_object()) return damaged_file(path);
  return std::optional<boost::json::object>(std::move(value.as_object()));
}

}  // namespace medledger::node::detail

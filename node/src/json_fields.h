// Internal: field checks shared by the node's JSON formats (sealed records,
// wrapped patient keys, PIN records) -- every failure is kMalformedEncoding or,
// for caller-supplied values, kInvalidArgument, naming the field, never its value
// when it may be secret.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"

namespace medledger::node::detail {

/// 1..kMaxIdentifierBytes printable ASCII without spaces (0x21-0x7e).
bool valid_identifier(std::string_view value);
/// 1..kMaxContentTypeBytes printable ASCII, spaces allowed (0x20-0x7e).
bool valid_content_type(std::string_view value);
/// 1..kMaxVersion.
bool valid_version(std::uint64_t value);

/// kInvalidArgument naming `what` when the check fails.
core::Result<void> require_identifier(std::string_view what, std::string_view value);
core::Result<void> require_version(std::string_view what, std::uint64_t value);

/// Rejects members not in `allowed` and any missing one (all are required).
core::Result<void> require_exactly(const boost::json::object& object,
                                   std::initializer_list<std::string_view> allowed,
                                   std::string_view what);
core::Result<std::string> string_field(const boost::json::object& object, std::string_view name);
/// A non-negative integer member.
core::Result<std::uint64_t> integer_field(const boost::json::object& object, std::string_view name);
/// A base64url member whose decoded size is exactly `size`.
core::Result<core::Bytes> bytes_field(const boost::json::object& object, std::string_view name,
                                      std::size_t size);
/// A base64url member whose decoded size is in [min_size, max_size].
core::Result<core::Bytes> bytes_field(const boost::json::object& object, std::string_view name,
                                      std::size_t min_size, std::size_t max_size);

/// kConfigInvalid: a node data file (person, patient keys) is damaged.
core::Error damaged_file(const std::filesystem::path& path);
/// The JSON object in a node data file: nullopt if the file does not exist,
/// damaged_file if it holds no JSON object, read_small_file's errors.
core::Result<std::optional<boost::json::object>> read_object_file(
    const std::filesystem::path& path);

}  // namespace medledger::node::detail

// The exchanged block format (replication.h).
#include "medledger/ledger/replication.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "medledger/core/bytes.h"
#include "medledger/core/canonical_json.h"

namespace medledger::ledger {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::make_error;
using core::Result;

constexpr std::size_t kOrderedBlockMembers = 4;

core::Error invalid(const std::string& what) {
  return make_error(ErrorCode::kBlockInvalid, "block: " + what);
}

}  // namespace

std::string encode_ordered_block(const OrderedBlock& block) {
  json::array results;
  results.reserve(block.results.size());
  for (std::uint16_t r : block.results) results.emplace_back(static_cast<std::int64_t>(r));
  json::array txs;
  txs.reserve(block.wires.size());
  for (const std::string& wire : block.wires)
    txs.emplace_back(core::base64url_encode(
        core::ByteView(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size())));
  json::object o;
  o["header"] = block.header_json;
  o["results"] = std::move(results);
  o["txs"] = std::move(txs);
  o["version"] = kOrderedBlockVersion;
  return core::canonicalize(o);
}

std::size_t ordered_block_tx_bytes(std::size_t wire_bytes) {
  // base64url (4 per 3 bytes, rounded up), two quotes and a comma; a code of <= 5 digits and a
  // comma.
  return (wire_bytes + 2) / 3 * 4 + 3 + 6;
}

Result<OrderedBlock> decode_ordered_block(std::string_view text) {
  if (text.size() > kMaxOrderedBlockBytes)
    return invalid("over " + std::to_string(kMaxOrderedBlockBytes) + " bytes");
  if (!core::is_canonical_json(text, kMaxOrderedBlockBytes)) return invalid("not canonical JSON");
  auto parsed = core::parse_restricted_json(text, kMaxOrderedBlockBytes);
  if (!parsed || !parsed->is_object()) return invalid("not a JSON object");
  const json::object& o = parsed->as_object();
  const auto* header = o.if_contains("header");
  const auto* results = o.if_contains("results");
  const auto* txs = o.if_contains("txs");
  const auto* version = o.if_contains("version");
  if (o.size() != kOrderedBlockMembers || header == nullptr || !header->is_string() ||
      results == nullptr || !results->is_array() || txs == nullptr || !txs->is_array() ||
      version == nullptr || !version->is_int64()) {
    return invalid("wants exactly header (string), results, txs (arrays) and version");
  }
  if (version->as_int64() != kOrderedBlockVersion)
    return invalid("unknown version " + std::to_string(version->as_int64()));
  if (results->as_array().size() != txs->as_array().size())
    return invalid("one result per transaction");
  OrderedBlock block;
  block.header_json = std::string(header->as_string());
  block.results.reserve(results->as_array().size());
  for (const json::value& r : results->as_array()) {
    if (!r.is_int64() || r.as_int64() < 0 || r.as_int64() > 0xffff)
      return invalid("a result is not a 16-bit code");
    block.results.push_back(static_cast<std::uint16_t>(r.as_int64()));
  }
  block.wires.reserve(txs->as_array().size());
  for (const json::value& t : txs->as_array()) {
    if (!t.is_string()) return invalid("a transaction is not a string");
    auto wire = core::base64url_decode(t.as_string());
    if (!wire) return invalid("a transaction is not base64url");
    block.wires.emplace_back(wire->begin(), wire->end());
  }
  return block;
}

}  // namespace medledger::ledger

// The interim key/value contract (kv_contract.h).
#include "medledger/ledger/kv_contract.h"

#include "medledger/core/canonical_json.h"

namespace medledger::ledger {
namespace {

using core::ErrorCode;
using core::make_error;
using core::Result;

constexpr std::string_view kKvTable = "kv";
constexpr std::string_view kConfigTable = "config";
constexpr std::string_view kGenesisKey = "genesis";

core::ByteView view(std::string_view s) {
  return core::ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

const boost::json::string* string_member(const boost::json::object& body, std::string_view name) {
  auto it = body.find(name);
  return it != body.end() && it->value().is_string() ? &it->value().as_string() : nullptr;
}

}  // namespace

Result<void> KeyValueContract::validate(const Transaction& tx, const StateView& state,
                                        const BlockContext& ctx) {
  if (tx.type == kTxGenesis) {
    if (ctx.height != 0) return make_error(ErrorCode::kTxRejected, "kv: genesis after block 0");
    return core::success();
  }
  if (tx.type != kTxRecordPut) return core::success();
  const auto* key = string_member(tx.body, "key");
  const auto* value = string_member(tx.body, "value");
  if (key == nullptr || value == nullptr || key->empty() || key->size() > kMaxStateKeyBytes) {
    return make_error(ErrorCode::kTxRejected,
                      "kv: record.put needs string \"key\" (1-400 bytes) and \"value\"");
  }
  if (const auto* expect = string_member(tx.body, "expect")) {
    auto current = state.get(kKvTable, view(*key));
    if (!current) return current.error();
    if (!*current || core::to_string(**current) != std::string_view(*expect)) {
      return make_error(ErrorCode::kTxRejected, "kv: current value differs from \"expect\"");
    }
  }
  return core::success();
}

Result<void> KeyValueContract::apply(const Transaction& tx, StateWriter& state,
                                     const BlockContext&) {
  if (tx.type == kTxGenesis) {
    return state.put(kConfigTable, view(kGenesisKey), view(core::canonicalize(tx.body)));
  }
  if (tx.type != kTxRecordPut) return core::success();
  return state.put(kKvTable, view(*string_member(tx.body, "key")),
                   view(*string_member(tx.body, "value")));
}

}  // namespace medledger::ledger

// Shared by node_routes*.cpp: JSON field readers and the call wrapper that
// serialises access to the HospitalNode.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "medledger/api/http.h"
#include "medledger/api/node_routes.h"
#include "medledger/core/secret.h"
#include "medledger/ledger/receipt.h"

// Declares (or assigns) `lhs` from a Result `expr`, returning its error on failure.
#define MEDLEDGER_API_CONCAT2(a, b) a##b
#define MEDLEDGER_API_CONCAT(a, b) MEDLEDGER_API_CONCAT2(a, b)
#define MEDLEDGER_API_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp) return tmp.error();                    \
  lhs = std::move(*tmp)
#define MEDLEDGER_TRY_ASSIGN(lhs, expr) MEDLEDGER_API_ASSIGN_IMPL(MEDLEDGER_API_CONCAT(medledger_assign_, __LINE__), lhs, expr)

namespace medledger::api::node_routes {

/// Runs `call(node)` under the binding's mutex; 503 TOKEN_UNAVAILABLE without a node.
template <typename Call>
core::Result<Response> with_node(const std::shared_ptr<NodeBinding>& binding, Call&& call) {
  if (!binding || binding->node == nullptr) {
    return core::make_error(core::ErrorCode::kTokenUnavailable, "this server has no hospital node configured");
  }
  std::lock_guard lock(binding->mutex);
  return call(*binding->node);
}

/// A required string member: kInvalidArgument naming it when absent or not a string.
core::Result<std::string> required_string(const boost::json::object& body, const char* name);
/// An optional string member (kInvalidArgument when present but not a string).
core::Result<std::optional<std::string>> optional_string(const boost::json::object& body, const char* name);
/// An optional integer member (kInvalidArgument when present but not an integer >= 0).
core::Result<std::optional<std::int64_t>> optional_int(const boost::json::object& body, const char* name);
/// A required secret (PIN) string member: copied into SecretBytes and the JSON copy
/// overwritten. kInvalidArgument (naming the member, never its value).
core::Result<core::SecretBytes> take_secret(boost::json::object& body, const char* name);
/// A decimal path or query segment: kInvalidArgument naming `what` otherwise.
core::Result<std::uint64_t> parse_u64(std::string_view text, const char* what);
/// The receipt as a JSON value (ledger/receipt.h's canonical form).
boost::json::value receipt_json(const ledger::Receipt& receipt);

}  // namespace medledger::api::node_routes

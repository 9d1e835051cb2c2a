// The error codes each node route answers: the table docs/api.md ("Errors by route")
// prints. tests/api/route_errors_docs_test.cpp checks the page and this table name the
// same codes for the same routes, and that every node route served has a row; the
// node route tests check every error a route answered them is in its row.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "medledger/core/error.h"

namespace medledger::api::node_routes {

/// What every node route may answer besides its own row: authentication (401),
/// role (403), no node for the caller's hospital (404 NOT_FOUND, 503
/// TOKEN_UNAVAILABLE), a malformed request, limits, and failures of the node itself.
std::span<const core::ErrorCode> common_route_errors();

struct RouteErrors {
  std::string_view operation;          // "POST /v1/grants/prepare": method, space, pattern
  std::vector<core::ErrorCode> codes;  // besides common_route_errors()
};

/// One row per node route.
const std::vector<RouteErrors>& node_route_errors();

/// Whether `operation`'s route may answer `code` (its row or the common codes);
/// false for an operation without a row.
bool route_may_answer(std::string_view operation, core::ErrorCode code);

}  // namespace medledger::api::node_routes

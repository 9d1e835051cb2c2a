// Shared by node_routes*.cpp: JSON field readers and the call wrappers that pick
// the caller's hospital node.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <boost/json/object.hpp>

#include "medledger/api/http.h"
#include "medledger/api/node_routes.h"
#include "medledger/api/router.h"
#include "medledger/core/secret.h"
#include "medledger/ledger/receipt.h"
#include "medledger/node/hospital_node.h"
#include "medledger/node/person_session.h"

namespace medledger::api::node_routes {

/// What a node route handler receives: the binding, the request, the caller.
struct NodeCall {
  const std::shared_ptr<NodeBinding>& binding;
  const Request& request;
  const Principal* principal;  // never null on node routes (none is public)
};

/// The hosted node of the caller's hospital: 503 TOKEN_UNAVAILABLE without a
/// binding or node, 404 NOT_FOUND when the caller's hospital has no node here.
core::Result<const HostedNode*> hosted_node_for(const NodeBinding* binding,
                                                const Principal* principal);

/// Runs `fn(hosted)` for the caller's hosted node. No lock: HospitalNode is
/// thread-safe, so requests run concurrently (and concurrent writes share blocks).
/// `T` is what `fn` gives back: a Response, or e.g. a PendingCommit for an async route.
template <typename T = Response, typename Fn>
core::Result<T> with_hosted(const NodeCall& call, Fn&& fn) {
  MEDLEDGER_TRY_ASSIGN(const HostedNode* hosted,
                       hosted_node_for(call.binding.get(), call.principal));
  return fn(*hosted);
}

/// Runs `fn(node)` on the caller's hospital node.
template <typename T = Response, typename Fn>
core::Result<T> with_node(const NodeCall& call, Fn&& fn) {
  return with_hosted<T>(call, [&](const HostedNode& hosted) { return fn(*hosted.node); });
}

/// A node route handler: `request` is `call.request`, passed for brevity.
using NodeHandler = core::Result<Response> (*)(const NodeCall& call, const Request& request);
/// A node route handler that answers through `responder` once its commit is known.
using NodeAsyncHandler = void (*)(const NodeCall& call, const Request& request,
                                  Responder responder);

/// Answers `responder` when `pending` (node::PendingCommit or PendingRead) is
/// known: an error as it is (at once if the operation never got queued), a value
/// through `build(value)` on the handler pool -- the ledger's writer thread, which
/// reports the commit, only posts.
template <typename Pending, typename Build>
void answer_when_committed(core::Result<Pending> pending, Responder responder, Build build) {
  if (!pending) return responder.answer(pending.error());
  pending->then([responder, build = std::move(build)](auto outcome) {
    responder.answer_on_pool([outcome = std::move(outcome), build]() -> core::Result<Response> {
      if (!outcome) return outcome.error();
      return build(*outcome);
    });
  });
}

/// The receipt as the whole response body (ledger/receipt.h JSON).
Response receipt_response(const ledger::Receipt& receipt, int status = 200);

/// answer_when_committed for a transaction whose answer is its receipt (201 Created).
inline void answer_receipt_when_committed(core::Result<node::PendingCommit> pending,
                                          Responder responder) {
  answer_when_committed(
      std::move(pending), std::move(responder),
      [](const ledger::Receipt& receipt) { return receipt_response(receipt, 201); });
}

/// One row of a route table: the authorisation matrix docs/openapi.yaml repeats.
struct NodeRouteRow {
  Method method;
  const char* pattern;
  Access access;
  NodeHandler handler;
  NodeAsyncHandler async_handler = nullptr;  // instead of handler
};

/// Adds each row as a route whose handler gets a NodeCall. Router::add's errors.
core::Result<void> add_node_route_rows(Router& router, const std::shared_ptr<NodeBinding>& binding,
                                       std::span<const NodeRouteRow> rows);

/// Adders of the other files' tables (node_routes_<x>.cpp), called by add_node_routes.
core::Result<void> add_ledger_routes(Router& router, const std::shared_ptr<NodeBinding>& binding);
core::Result<void> add_transaction_routes(Router& router,
                                          const std::shared_ptr<NodeBinding>& binding);
core::Result<void> add_person_routes(Router& router, const std::shared_ptr<NodeBinding>& binding);
// The auditor's export and FHIR AuditEvent routes (node_routes_audit.cpp).
core::Result<void> add_audit_routes(Router& router, const std::shared_ptr<NodeBinding>& binding);
// The public CRL and OCSP routes (node_routes_revocation.cpp).
core::Result<void> add_revocation_routes(Router& router,
                                         const std::shared_ptr<NodeBinding>& binding);
core::Result<void> add_consortium_routes(Router& router,
                                         const std::shared_ptr<NodeBinding>& binding);

/// A required string member: kInvalidArgument naming it when absent or not a string.
core::Result<std::string> required_string(const boost::json::object& body, const char* name);
/// An optional string member (kInvalidArgument when present but not a string).
core::Result<std::optional<std::string>> optional_string(const boost::json::object& body,
                                                         const char* name);
/// An optional integer member (kInvalidArgument when present but not an integer >= 0).
core::Result<std::optional<std::int64_t>> optional_int(const boost::json::object& body,
                                                       const char* name);
/// A required secret (PIN) string member: copied into SecretBytes and the JSON copy
/// overwritten. kInvalidArgument (naming the member, never its value).
core::Result<core::SecretBytes> take_secret(boost::json::object& body, const char* name);
/// How a person proves presence in a body: exactly one of `pin_member` (the PIN)
/// and `session_member` (a token from POST /v1/persons/{id}/sessions), taken as
/// take_secret takes it. kInvalidArgument (naming the members, never a value).
core::Result<node::PersonCredential> take_credential(boost::json::object& body,
                                                     const std::string& pin_member,
                                                     const std::string& session_member);
/// The principal of person `id` at the caller's hospital node: "<hospital>/<id>".
std::string person_principal(const node::HospitalNode& node, std::string_view id);
/// A decimal path or query segment: kInvalidArgument naming `what` otherwise.
core::Result<std::uint64_t> parse_u64(std::string_view text, const char* what);
/// Query parameter `name` as parse_u64 reads it; nullopt when absent.
core::Result<std::optional<std::uint64_t>> optional_query_u64(const Request& request,
                                                              const char* name);
/// The same, kInvalidArgument "query parameter '<name>' is required" when absent.
core::Result<std::uint64_t> required_query_u64(const Request& request, const char* name);
/// The record members of POST /v1/records and /v1/records/prepare: record_id, doctor,
/// patient, content_type (optional), payload (base64url). kInvalidArgument /
/// kMalformedEncoding naming the member.
core::Result<node::RecordPutRequest> parse_record_put(const boost::json::object& body);
/// The grant members of POST /v1/grants and /v1/grants/prepare: patient, grantee,
/// scope? (array of record ids), expires_ms?. kInvalidArgument naming the member.
core::Result<node::GrantRequest> parse_grant_request(const boost::json::object& body);

}  // namespace medledger::api::node_routes

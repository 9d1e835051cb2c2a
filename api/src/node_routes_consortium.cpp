// Node routes that change the consortium while it is live (docs/consortium.md,
// "Admitting a hospital"): the candidate's hospital.admit signed by its CA, a member
// countersigning and submitting it, and the candidate registering its node certificates.
// They go through the served ledger's orderer, so a live replica is never written by a
// second process (which would fork it from etcd).
#include "medledger/api/node_routes.h"
#include "medledger/core/bytes.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/hospital_node.h"
#include "node_routes_support.h"

namespace medledger::api {

namespace {

using core::ErrorCode;
using namespace node_routes;

// The caller's hospital, not admitted yet: its hospital.admit signed by its CA in the
// token, for an admin of a member hospital to submit.
core::Result<Response> admission_request(const NodeCall& call, const Request&) {
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto prepared, node.ca().admission_request());
    return json_response(boost::json::object{{"hospital", node.config().hospital_id},
                                             {"tx_id", core::base64url_encode(prepared.tx_id)},
                                             {"request", ledger::encode_transaction(prepared.tx)}});
  });
}

// A member hospital's admin admits a candidate: its CA countersigns the candidate's
// hospital.admit and the transaction is ordered like any write.
core::Result<Response> admit_hospital(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto wire, required_string(body, "request"));
  MEDLEDGER_TRY_ASSIGN(auto tx, ledger::decode_transaction(wire));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto receipt, node.ca().countersign_admission(std::move(tx)));
    return receipt_response(receipt, 201);
  });
}

// After admission: the caller's hospital registers its node certificates (cert.register
// signed by its CA), which makes its node key a proposer on every replica.
core::Result<Response> register_node(const NodeCall& call, const Request&) {
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY(node.ca().register_node_certificates());
    return json_response(
        boost::json::object{{"hospital", node.config().hospital_id}, {"registered", true}});
  });
}

}  // namespace

namespace node_routes {

core::Result<void> add_consortium_routes(Router& router,
                                         const std::shared_ptr<NodeBinding>& binding) {
  using ca::Role;
  // docs/openapi.yaml x-medledger-roles repeats this table.
  const NodeRouteRow rows[] = {
      {Method::kGet, "/v1/consortium/admission-request", Access::roles({Role::kAdmin}),
       admission_request},
      {Method::kPost, "/v1/consortium/admissions", Access::roles({Role::kAdmin}), admit_hospital},
      {Method::kPost, "/v1/node/registration", Access::roles({Role::kAdmin}), register_node},
  };
  return add_node_route_rows(router, binding, rows);
}

}  // namespace node_routes

}  // namespace medledger::api

// The /v1 routes of the hospital nodes a server hosts: records, sharing, ledger,
// CA and audit. Handlers only translate HTTP <-> JSON and call node::HospitalNode;
// every rule (PINs, grants, the contract) is node/'s. docs/api.md lists the bodies.
//
// One server may host several hospitals' nodes (a single-machine consortium: one
// process, one shared ConsortiumLedger). Each request goes to the node of the
// caller's hospital (the O of its client certificate, Principal::hospital).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "medledger/api/router.h"
#include "medledger/core/signer.h"

namespace medledger::node {
class HospitalNode;
}

namespace medledger::api {

/// One hospital node a server fronts.
struct HostedNode {
  node::HospitalNode* node = nullptr;  // not owned; outlives the server
  /// Signs GET /v1/ledger/checkpoint (the node signing key, as the proposer's).
  std::shared_ptr<core::Signer> checkpoint_signer;
};

/// The nodes a server fronts, at most one per hospital.
///
///     auto binding = std::make_shared<NodeBinding>();
///     for (auto& served : nodes) MEDLEDGER_TRY(binding->host(served.node.get(), served.signer));
///     add_appliance_routes(router, parts, binding);
///
/// Handlers call the nodes concurrently (HospitalNode is thread-safe): requests
/// run in parallel on the server's handler pool and concurrent writes share blocks.
struct NodeBinding {
  /// Adds `node` as the node of its hospital (node->config().hospital_id).
  /// kInvalidArgument for a null node, kAlreadyExists if that hospital has one.
  /// Call before the server starts (not synchronised with handlers).
  core::Result<void> host(node::HospitalNode* node,
                          std::shared_ptr<core::Signer> checkpoint_signer);

  /// The node of `hospital`, or null. Linear in the number of hosted nodes.
  const HostedNode* find(std::string_view hospital) const;

  /// The hosted nodes (host() order); read-only once the server runs.
  std::vector<HostedNode> nodes;
};

/// Adds the node routes (always the same table, so docs/openapi.yaml matches).
/// With a null `binding` (infrastructure-only server) each answers 503
/// TOKEN_UNAVAILABLE; a caller whose hospital has no node in the binding gets
/// 404 NOT_FOUND. kInvalidArgument only if the table itself is malformed.
core::Result<void> add_node_routes(Router& router, std::shared_ptr<NodeBinding> binding);

}  // namespace medledger::api

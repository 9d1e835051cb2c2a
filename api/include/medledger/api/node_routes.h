// The /v1 routes of a hospital node: records, sharing, ledger, CA and audit.
// Handlers only translate HTTP <-> JSON and call node::HospitalNode; every rule
// (PINs, grants, the contract) is node/'s. docs/api.md lists the bodies.
#pragma once

#include <memory>
#include <mutex>

#include "medledger/api/router.h"
#include "medledger/core/signer.h"

namespace medledger::node {
class HospitalNode;
}

namespace medledger::api {

/// The node a server fronts. HospitalNode is one-thread-at-a-time, so every
/// handler takes `mutex` around its call (requests to the node are serialised).
struct NodeBinding {
  node::HospitalNode* node = nullptr;  // not owned; outlives the server
  /// Signs GET /v1/ledger/checkpoint (the node signing key, as the proposer's).
  std::shared_ptr<core::Signer> checkpoint_signer;
  std::mutex mutex;
};

/// Adds the node routes (always the same table, so docs/openapi.yaml matches).
/// With a null `binding` (infrastructure-only server) each answers 503
/// TOKEN_UNAVAILABLE. kInvalidArgument only if the table itself is malformed.
core::Result<void> add_node_routes(Router& router, std::shared_ptr<NodeBinding> binding);

}  // namespace medledger::api

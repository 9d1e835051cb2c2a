// Ledger and CA routes of a hospital node: read-only views of the consortium
// ledger (head, block, transaction, inclusion and consistency proofs, signed
// checkpoint) and the hospital's CA chain (PEM, PKCS#7). Roles: see the table in add_ledger_routes.
#include <algorithm>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "medledger/api/node_routes.h"
#include "medledger/ca/export.h"
#include "medledger/ca/store.h"
#include "medledger/core/bytes.h"
#include "medledger/ledger/checkpoint.h"
#include "medledger/ledger/replication.h"
#include "medledger/node/hospital_node.h"
#include "node_routes_support.h"

namespace medledger::api {

namespace {

using core::ErrorCode;
using namespace node_routes;

boost::json::object block_json(const ledger::Block& block) {
  boost::json::object out;
  out["height"] = block.header.height;
  out["hash"] = core::base64url_encode(block.hash);
  out["header"] = boost::json::parse(block.header_json);
  return out;
}

core::Result<Response> ledger_head(const NodeCall& call, const Request&) {
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto tip, node.consortium().ledger().tip());
    boost::json::object out = block_json(tip.block);
    out["log_size"] = tip.block.header.log_size;
    out["genesis_hash"] = core::base64url_encode(tip.genesis_hash);
    out["origin"] = node.consortium().ledger().origin();
    return json_response(out);
  });
}

core::Result<Response> ledger_block(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto height, parse_u64(request.param("height"), "height"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto block, node.consortium().ledger().block(height));
    return json_response(block_json(block));
  });
}

// The ledger this server's nodes share, for another member's node (replication and
// forwarding answer any member, not only the caller's own hospital).
core::Result<node::ConsortiumLedger*> served_consortium(const NodeCall& call) {
  const NodeBinding* binding = call.binding.get();
  if (binding == nullptr || binding->nodes.empty())
    return core::make_error(ErrorCode::kTokenUnavailable, "this server serves no hospital node");
  return &binding->nodes.front().node->consortium();
}

// Most blocks one replication answer carries (each at most 1 MiB encoded).
constexpr std::uint64_t kMaxReplicationBlocks = 16;

// Blocks as replicas exchange them (ledger/replication.h), for a peer whose blocks were
// pruned from etcd: it checks each one exactly as a block from etcd before applying it.
core::Result<Response> ledger_replication(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto from, required_query_u64(request, "from"));
  MEDLEDGER_TRY_ASSIGN(auto limit, optional_query_u64(request, "limit"));
  const std::uint64_t count =
      std::min(limit.value_or(kMaxReplicationBlocks), kMaxReplicationBlocks);
  if (count == 0) return core::make_error(ErrorCode::kInvalidArgument, "limit must be 1..16");
  // Another hospital's node asks (its own replica is behind): every hospital holds the
  // whole ledger, so any served node's replica answers, not only the caller's hospital's.
  MEDLEDGER_TRY_ASSIGN(auto* consortium, served_consortium(call));
  {
    auto& ledger = consortium->ledger();
    MEDLEDGER_TRY_ASSIGN(auto tip, ledger.tip());
    const std::uint64_t top = tip.block.header.height;
    if (from > top)
      return core::make_error(ErrorCode::kLedgerNotFound, "no block " + std::to_string(from) +
                                                              " (tip " + std::to_string(top) + ")");
    boost::json::array blocks;
    for (std::uint64_t h = from; h <= top && h < from + count; ++h) {
      MEDLEDGER_TRY_ASSIGN(auto block, ledger.ordered_block(h));
      blocks.emplace_back(ledger::encode_ordered_block(block));
    }
    return json_response(
        boost::json::object{{"from", from}, {"tip", top}, {"blocks", std::move(blocks)}});
  }
}

// Most transactions one forward request carries.
constexpr std::size_t kMaxForwardedTransactions = 4096;

// Transactions another member's node forwards to this node while it holds the proposer
// lease (docs/consortium.md, "One proposer at a time"): queued here without a caller;
// the sender answers its own caller when the block applies on its replica. Per
// transaction, whether this node's orderer now holds it.
core::Result<Response> ledger_forward(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  const boost::json::value* list = body.if_contains("transactions");
  if (list == nullptr || !list->is_array() || list->as_array().empty() ||
      list->as_array().size() > kMaxForwardedTransactions)
    return core::make_error(ErrorCode::kInvalidArgument,
                            "transactions: a list of 1.." +
                                std::to_string(kMaxForwardedTransactions) + " wire strings");
  for (const auto& wire : list->as_array())
    if (!wire.is_string())
      return core::make_error(ErrorCode::kInvalidArgument,
                              "transactions: every entry is a transaction's wire text");
  MEDLEDGER_TRY_ASSIGN(auto* consortium, served_consortium(call));
  boost::json::array held;
  boost::json::array refused;
  for (std::size_t i = 0; i < list->as_array().size(); ++i) {
    auto outcome = consortium->hold_forwarded(std::string(list->as_array()[i].as_string()));
    held.emplace_back(static_cast<bool>(outcome));
    if (!outcome)
      refused.emplace_back(
          boost::json::object{{"index", i}, {"code", core::error_code_name(outcome.error().code)}});
  }
  return json_response(
      boost::json::object{{"held", std::move(held)}, {"refused", std::move(refused)}});
}

core::Result<Response> ledger_transaction(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto sequence, parse_u64(request.param("sequence"), "sequence"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    auto& ledger = node.consortium().ledger();
    MEDLEDGER_TRY_ASSIGN(auto tx, ledger.transaction(sequence));
    MEDLEDGER_TRY_ASSIGN(auto height, ledger.block_of(sequence));
    boost::json::object out;
    out["sequence"] = tx.sequence;
    out["block"] = height;
    out["result"] = tx.result;
    out["result_name"] = ledger::result_name(tx.result);
    out["tx_id"] = core::base64url_encode(tx.tx_id);
    out["wire"] = tx.wire;  // the transaction's canonical JSON, as logged
    return json_response(out);
  });
}

core::Result<Response> inclusion_proof(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto sequence, required_query_u64(request, "sequence"));
  MEDLEDGER_TRY_ASSIGN(auto size, optional_query_u64(request, "size"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    auto& ledger = node.consortium().ledger();
    MEDLEDGER_TRY_ASSIGN(auto tip, ledger.tip());
    const std::uint64_t log_size = tip.block.header.log_size;
    if (!size) size = log_size;
    // As the consistency route: a size the log has not reached is the caller's mistake.
    if (sequence >= *size || *size > log_size) {
      return core::make_error(
          ErrorCode::kInvalidArgument,
          "need sequence < size <= the log size (" + std::to_string(log_size) + ")");
    }
    MEDLEDGER_TRY_ASSIGN(auto proof, ledger.inclusion_proof(sequence, *size));
    MEDLEDGER_TRY_ASSIGN(auto root, ledger.root_at(*size));
    boost::json::array hashes;
    for (const auto& hash : proof) hashes.emplace_back(core::base64url_encode(hash));
    boost::json::object out;
    out["sequence"] = sequence;
    out["size"] = *size;
    out["root"] = core::base64url_encode(root);
    out["proof"] = std::move(hashes);
    return json_response(out);
  });
}

// RFC 9162 2.1.4 PROOF(first, D[second]): the tree of `first` transactions is a
// prefix of the tree of `second` (default: the head's log size).
core::Result<Response> consistency_proof(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto first, required_query_u64(request, "first"));
  MEDLEDGER_TRY_ASSIGN(auto second, optional_query_u64(request, "second"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    auto& ledger = node.consortium().ledger();
    MEDLEDGER_TRY_ASSIGN(auto tip, ledger.tip());
    const std::uint64_t log_size = tip.block.header.log_size;
    if (!second) second = log_size;
    if (first == 0 || first > *second || *second > log_size) {
      return core::make_error(
          ErrorCode::kInvalidArgument,
          "need 0 < first <= second <= the log size (" + std::to_string(log_size) + ")");
    }
    MEDLEDGER_TRY_ASSIGN(auto proof, ledger.consistency_proof(first, *second));
    MEDLEDGER_TRY_ASSIGN(auto first_root, ledger.root_at(first));
    MEDLEDGER_TRY_ASSIGN(auto second_root, ledger.root_at(*second));
    boost::json::array hashes;
    for (const auto& hash : proof) hashes.emplace_back(core::base64url_encode(hash));
    boost::json::object out;
    out["first"] = first;
    out["second"] = *second;
    out["first_root"] = core::base64url_encode(first_root);
    out["second_root"] = core::base64url_encode(second_root);
    out["proof"] = std::move(hashes);
    return json_response(out);
  });
}

core::Result<Response> signed_checkpoint(const NodeCall& call, const Request&) {
  return with_hosted(call, [&](const HostedNode& hosted) -> core::Result<Response> {
    if (!hosted.checkpoint_signer) {
      return core::make_error(ErrorCode::kKeyNotFound, "this server has no checkpoint signing key");
    }
    auto& ledger = hosted.node->consortium().ledger();
    MEDLEDGER_TRY_ASSIGN(auto tip, ledger.tip());
    MEDLEDGER_TRY_ASSIGN(auto checkpoint, ledger::checkpoint_at(ledger, tip.block.header,
                                                                *hosted.checkpoint_signer));
    boost::json::object out;
    out["height"] = tip.block.header.height;
    out["size"] = checkpoint.checkpoint.size;
    out["checkpoint"] = ledger::format_checkpoint(checkpoint);
    return json_response(out);
  });
}

core::Result<Response> ca_chain(const NodeCall& call, const Request&) {
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto directory, ca::CaDirectory::open(node.config().ca_dir));
    Response response;
    response.content_type = "application/pem-certificate-chain";
    for (const auto& certificate : directory.chain()) response.body += certificate.to_pem();
    return response;
  });
}

// The same chain as a certs-only PKCS#7 SignedData, DER (`openssl pkcs7 -inform DER -print_certs`).
core::Result<Response> ca_chain_pkcs7(const NodeCall& call, const Request&) {
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto directory, ca::CaDirectory::open(node.config().ca_dir));
    MEDLEDGER_TRY_ASSIGN(auto der, ca::pkcs7_certs_only_der(directory.chain()));
    Response response;
    response.content_type = "application/pkcs7-mime";
    response.body.assign(der.begin(), der.end());
    return response;
  });
}

}  // namespace

namespace node_routes {

core::Result<void> add_ledger_routes(Router& router, const std::shared_ptr<NodeBinding>& binding) {
  using ca::Role;
  const Access ledger_readers = Access::roles({Role::kNode, Role::kAuditor, Role::kAdmin});
  // docs/openapi.yaml x-medledger-roles repeats this table.
  const NodeRouteRow rows[] = {
      {Method::kGet, "/v1/ledger/head", ledger_readers, ledger_head},
      {Method::kGet, "/v1/ledger/blocks/{height}", ledger_readers, ledger_block},
      {Method::kGet, "/v1/ledger/transactions/{sequence}", ledger_readers, ledger_transaction},
      {Method::kGet, "/v1/ledger/replication", Access::roles({Role::kNode}), ledger_replication},
      {Method::kPost, "/v1/ledger/forward", Access::roles({Role::kNode}), ledger_forward},
      {Method::kGet, "/v1/ledger/proofs/inclusion", ledger_readers, inclusion_proof},
      {Method::kGet, "/v1/ledger/proofs/consistency", ledger_readers, consistency_proof},
      {Method::kGet, "/v1/ledger/checkpoint", ledger_readers, signed_checkpoint},
      {Method::kGet, "/v1/ca/chain", Access::any_role(), ca_chain},
      {Method::kGet, "/v1/ca/chain.p7b", Access::any_role(), ca_chain_pkcs7},
  };
  return add_node_route_rows(router, binding, rows);
}

}  // namespace node_routes

}  // namespace medledger::api

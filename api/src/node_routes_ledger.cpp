// Ledger and CA routes of a hospital node: read-only views of the consortium
// ledger (head, block, transaction, inclusion proof, signed checkpoint) and the
// hospital's CA chain. Roles: see the table in add_node_ledger_routes.
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "medledger/api/node_routes.h"
#include "medledger/ca/store.h"
#include "medledger/core/bytes.h"
#include "medledger/ledger/checkpoint.h"
#include "medledger/node/hospital_node.h"
#include "node_routes_support.h"

namespace medledger::api {

namespace {

using core::ErrorCode;
using namespace node_routes;
using Binding = std::shared_ptr<NodeBinding>;

boost::json::object block_json(const ledger::Block& block) {
  boost::json::object out;
  out["height"] = block.header.height;
  out["hash"] = core::base64url_encode(block.hash);
  out["header"] = boost::json::parse(block.header_json);
  return out;
}

core::Result<Response> ledger_head(const Binding& binding, const Request&) {
  return with_node(binding, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto tip, node.consortium().ledger().tip());
    boost::json::object out = block_json(tip.block);
    out["log_size"] = tip.block.header.log_size;
    out["genesis_hash"] = core::base64url_encode(tip.genesis_hash);
    out["origin"] = node.consortium().ledger().origin();
    return json_response(out);
  });
}

core::Result<Response> ledger_block(const Binding& binding, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto height, parse_u64(request.param("height"), "height"));
  return with_node(binding, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto block, node.consortium().ledger().block(height));
    return json_response(block_json(block));
  });
}

core::Result<Response> ledger_transaction(const Binding& binding, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto sequence, parse_u64(request.param("sequence"), "sequence"));
  return with_node(binding, [&](node::HospitalNode& node) -> core::Result<Response> {
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

core::Result<Response> inclusion_proof(const Binding& binding, const Request& request) {
  auto sequence_text = request.query_param("sequence");
  if (!sequence_text) return core::make_error(ErrorCode::kInvalidArgument, "query parameter 'sequence' is required");
  MEDLEDGER_TRY_ASSIGN(auto sequence, parse_u64(*sequence_text, "sequence"));
  std::optional<std::uint64_t> size;
  if (auto size_text = request.query_param("size")) {
    MEDLEDGER_TRY_ASSIGN(size, parse_u64(*size_text, "size"));
  }
  return with_node(binding, [&](node::HospitalNode& node) -> core::Result<Response> {
    auto& ledger = node.consortium().ledger();
    if (!size) {
      MEDLEDGER_TRY_ASSIGN(auto tip, ledger.tip());
      size = tip.block.header.log_size;
    }
    if (sequence >= *size) {
      return core::make_error(ErrorCode::kInvalidArgument, "sequence must be below the tree size");
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

core::Result<Response> signed_checkpoint(const Binding& binding, const Request&) {
  return with_node(binding, [&](node::HospitalNode& node) -> core::Result<Response> {
    if (!binding->checkpoint_signer) {
      return core::make_error(ErrorCode::kKeyNotFound, "this server has no checkpoint signing key");
    }
    auto& ledger = node.consortium().ledger();
    MEDLEDGER_TRY_ASSIGN(auto tip, ledger.tip());
    MEDLEDGER_TRY_ASSIGN(auto checkpoint, ledger::checkpoint_at(ledger, tip.block.header, *binding->checkpoint_signer));
    boost::json::object out;
    out["height"] = tip.block.header.height;
    out["size"] = checkpoint.checkpoint.size;
    out["checkpoint"] = ledger::format_checkpoint(checkpoint);
    return json_response(out);
  });
}

core::Result<Response> ca_chain(const Binding& binding, const Request&) {
  return with_node(binding, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto directory, ca::CaDirectory::open(node.config().ca_dir));
    Response response;
    response.content_type = "application/pem-certificate-chain";
    for (const auto& certificate : directory.chain()) response.body += certificate.to_pem();
    return response;
  });
}

}  // namespace

core::Result<void> add_node_ledger_routes(Router& router, const std::shared_ptr<NodeBinding>& binding);

core::Result<void> add_node_ledger_routes(Router& router, const std::shared_ptr<NodeBinding>& binding) {
  using ca::Role;
  using Fn = core::Result<Response> (*)(const Binding&, const Request&);
  struct Row {
    const char* pattern;
    Access access;
    Fn handler;
  };
  const Access ledger_readers = Access::roles({Role::kNode, Role::kAuditor, Role::kAdmin});
  // Every route here is a GET (docs/openapi.yaml x-medledger-roles repeats this table).
  const Row rows[] = {
      {"/v1/ledger/head", ledger_readers, ledger_head},
      {"/v1/ledger/blocks/{height}", ledger_readers, ledger_block},
      {"/v1/ledger/transactions/{sequence}", ledger_readers, ledger_transaction},
      {"/v1/ledger/proofs/inclusion", ledger_readers, inclusion_proof},
      {"/v1/ledger/checkpoint", ledger_readers, signed_checkpoint},
      {"/v1/ca/chain", Access::any_role(), ca_chain},
  };
  for (const auto& row : rows) {
    Route route;
    route.method = Method::kGet;
    route.pattern = row.pattern;
    route.access = row.access;
    route.handler = [binding, fn = row.handler](const Request& request, const Principal*) {
      return fn(binding, request);
    };
    MEDLEDGER_TRY(router.add(std::move(route)));
  }
  return core::success();
}

}  // namespace medledger::api

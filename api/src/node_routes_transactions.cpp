// External signatures: a record.put prepared by the node, signed by the doctor's
// and the patient's own devices (docs/transactions.md says what to sign: tx_id),
// then submitted with those signatures for the node's endorsement. The node checks
// each signature before endorsing; the contract checks all three again.
#include <boost/json/array.hpp>

#include "medledger/api/node_routes.h"
#include "medledger/core/bytes.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/hospital_node.h"
#include "node_routes_support.h"

namespace medledger::api {

namespace {

using core::ErrorCode;
using namespace node_routes;

// The only type /v1/records/prepare builds, so the only one /v1/transactions endorses:
// the node must not endorse grants or revocations it did not build.
constexpr std::string_view kSubmittableType = ledger::kTxRecordPut;

core::Result<Response> prepare_record(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto put, parse_record_put(body));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto prepared, node.records().prepare_put(put));
    boost::json::object out;
    out["tx"] = core::base64url_encode(core::to_bytes(ledger::encode_transaction(prepared.tx)));
    out["tx_id"] = core::base64url_encode(prepared.tx_id);
    return json_response(out);
  });
}

// One member of "signatures": {cert (base64url SHA-256 of the signer's certificate
// DER), sig (base64url), alg? ("ecdsa-p256" default, "ed25519")}, as on the wire.
core::Result<ledger::TransactionSignature> signature_of(const boost::json::value& item) {
  const auto* object = item.if_object();
  if (object == nullptr)
    return core::make_error(ErrorCode::kInvalidArgument, "each signature must be an object");
  ledger::TransactionSignature signature;
  MEDLEDGER_TRY_ASSIGN(auto alg, optional_string(*object, "alg"));
  if (alg) {
    MEDLEDGER_TRY_ASSIGN(signature.algorithm, core::parse_key_algorithm(*alg));
  }
  MEDLEDGER_TRY_ASSIGN(auto cert_text, required_string(*object, "cert"));
  auto cert = core::base64url_decode(cert_text);
  if (!cert || cert->size() != signature.cert_fingerprint.size()) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "member 'cert' must be a base64url SHA-256 fingerprint");
  }
  std::copy(cert->begin(), cert->end(), signature.cert_fingerprint.begin());
  MEDLEDGER_TRY_ASSIGN(auto sig_text, required_string(*object, "sig"));
  auto sig = core::base64url_decode(sig_text);
  if (!sig || sig->empty() || sig->size() > ledger::kMaxSignatureBytes) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "member 'sig' must be a base64url signature");
  }
  signature.signature = std::move(*sig);
  return signature;
}

core::Result<node::PendingCommit> start_submit_transaction(const NodeCall& call,
                                                           const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto tx_text, required_string(body, "tx"));
  auto wire = core::base64url_decode(tx_text);
  if (!wire)
    return core::make_error(ErrorCode::kMalformedEncoding, "member 'tx' must be base64url");
  MEDLEDGER_TRY_ASSIGN(auto tx, ledger::decode_transaction(std::string_view(
                                    reinterpret_cast<const char*>(wire->data()), wire->size())));
  if (tx.type != kSubmittableType) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "only record.put transactions (from /v1/records/prepare) are submitted here");
  }
  if (!tx.signatures.empty()) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "'tx' must be unsigned: put the signatures in 'signatures'");
  }
  const auto* list = body.if_contains("signatures");
  if (list == nullptr || !list->is_array() || list->as_array().empty() ||
      list->as_array().size() > ledger::kMaxTransactionSignatures) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "member 'signatures' must be an array of 1 to " +
                                std::to_string(ledger::kMaxTransactionSignatures) + " signatures");
  }
  std::vector<ledger::TransactionSignature> signatures;
  for (const auto& item : list->as_array()) {
    MEDLEDGER_TRY_ASSIGN(auto signature, signature_of(item));
    signatures.push_back(std::move(signature));
  }
  return with_node<node::PendingCommit>(
      call, [&](node::HospitalNode& node) -> core::Result<node::PendingCommit> {
        for (const auto& signature : signatures)
          MEDLEDGER_TRY(node.signing().add_external_signature(tx, signature));
        return node.signing().endorse_and_submit_async(std::move(tx));
      });
}

// Answers after the block's durable commit, without holding a thread meanwhile.
void submit_transaction(const NodeCall& call, const Request& request, Responder responder) {
  answer_receipt_when_committed(start_submit_transaction(call, request), std::move(responder));
}

}  // namespace

core::Result<void> node_routes::add_transaction_routes(
    Router& router, const std::shared_ptr<NodeBinding>& binding) {
  // POSTs by the hospital system (role node); docs/openapi.yaml x-medledger-roles repeats this.
  const NodeRouteRow rows[] = {
      {Method::kPost, "/v1/records/prepare", Access::roles({ca::Role::kNode}), prepare_record},
      {Method::kPost, "/v1/transactions", Access::roles({ca::Role::kNode}), nullptr,
       submit_transaction},
  };
  return add_node_route_rows(router, binding, rows);
}

}  // namespace medledger::api

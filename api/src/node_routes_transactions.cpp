// External signatures: a transaction prepared by the node, signed by the persons'
// own devices (docs/transactions.md says what to sign: tx_id), then submitted with
// those signatures for the node's endorsement. A record.put is signed by the
// doctor and the patient; a grant or revocation by the patient alone. The node
// checks each signature before endorsing; the contract checks them all again.
#include <boost/json/array.hpp>

#include "medledger/api/node_routes.h"
#include "medledger/core/bytes.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/hospital_node.h"
#include "medledger/node/limits.h"
#include "node_routes_support.h"

namespace medledger::api {

namespace {

using core::ErrorCode;
using namespace node_routes;

// {tx (base64url of the unsigned canonical wire JSON), tx_id (base64url)}.
boost::json::object prepared_json(const node::PreparedTransaction& prepared) {
  boost::json::object out;
  out["tx"] = core::base64url_encode(core::to_bytes(ledger::encode_transaction(prepared.tx)));
  out["tx_id"] = core::base64url_encode(prepared.tx_id);
  return out;
}

core::Result<Response> prepare_record(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto put, parse_record_put(body));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto prepared, node.records().prepare_put(put));
    return json_response(prepared_json(prepared));
  });
}

// A grant or revocation waits for its signature kPreparedLifetime after its time.
Response prepared_access_response(const node::PreparedTransaction& prepared) {
  auto out = prepared_json(prepared);
  out["valid_until_ms"] = prepared.tx.time_ms + node::kPreparedLifetime.count();
  return json_response(out);
}

core::Result<Response> prepare_grant(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto grant, parse_grant_request(body));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto prepared, node.sharing().prepare_grant(grant));
    return prepared_access_response(prepared);
  });
}

core::Result<Response> prepare_revoke(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto patient, required_string(body, "patient"));
  MEDLEDGER_TRY_ASSIGN(auto grantee, required_string(body, "grantee"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto prepared, node.sharing().prepare_revoke(patient, grantee));
    return prepared_access_response(prepared);
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

// What POST /v1/transactions carries: the prepared transaction and its signatures.
struct Submission {
  ledger::Transaction tx;
  std::vector<ledger::TransactionSignature> signatures;
};

core::Result<Submission> parse_submission(const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto tx_text, required_string(body, "tx"));
  auto wire = core::base64url_decode(tx_text);
  if (!wire)
    return core::make_error(ErrorCode::kMalformedEncoding, "member 'tx' must be base64url");
  Submission out;
  MEDLEDGER_TRY_ASSIGN(out.tx, ledger::decode_transaction(std::string_view(
                                   reinterpret_cast<const char*>(wire->data()), wire->size())));
  // The types a prepare route builds: the node endorses nothing else.
  if (out.tx.type != ledger::kTxRecordPut && out.tx.type != ledger::kTxAccessGrant &&
      out.tx.type != ledger::kTxAccessRevoke) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "only record.put, access.grant and access.revoke transactions (from "
                            "a prepare route) are submitted here");
  }
  if (!out.tx.signatures.empty()) {
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
  for (const auto& item : list->as_array()) {
    MEDLEDGER_TRY_ASSIGN(auto signature, signature_of(item));
    out.signatures.push_back(std::move(signature));
  }
  return out;
}

// Answers after the block's durable commit, without holding a thread meanwhile;
// a revocation waits for its commit here (its rotated key is kept only then).
void submit_transaction(const NodeCall& call, const Request& request, Responder responder) {
  auto submission = parse_submission(request);
  if (!submission) return responder.answer(submission.error());
  // Named members, not a structured binding: clang before 16 cannot capture one in a lambda.
  auto& tx = submission->tx;
  auto& signatures = submission->signatures;
  if (tx.type == ledger::kTxAccessRevoke) {
    return responder.answer(
        with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
          MEDLEDGER_TRY_ASSIGN(auto receipt,
                               node.sharing().submit_signed_revoke(std::move(tx), signatures));
          return receipt_response(receipt, 201);
        }));
  }
  answer_receipt_when_committed(
      with_node<node::PendingCommit>(
          call,
          [&](node::HospitalNode& node) {
            if (tx.type == ledger::kTxAccessGrant)
              return node.sharing().submit_signed_grant(std::move(tx), signatures);
            return node.records().submit_signed(std::move(tx), signatures);
          }),
      std::move(responder));
}

}  // namespace

core::Result<void> node_routes::add_transaction_routes(
    Router& router, const std::shared_ptr<NodeBinding>& binding) {
  // POSTs by the hospital system (role node); docs/openapi.yaml x-medledger-roles repeats this.
  const NodeRouteRow rows[] = {
      {Method::kPost, "/v1/records/prepare", Access::roles({ca::Role::kNode}), prepare_record},
      {Method::kPost, "/v1/grants/prepare", Access::roles({ca::Role::kNode}), prepare_grant},
      {Method::kPost, "/v1/grants/revoke/prepare", Access::roles({ca::Role::kNode}),
       prepare_revoke},
      {Method::kPost, "/v1/transactions", Access::roles({ca::Role::kNode}), nullptr,
       submit_transaction},
  };
  return add_node_route_rows(router, binding, rows);
}

}  // namespace medledger::api

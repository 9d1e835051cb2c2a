// Records, sharing and audit routes (the ledger and CA ones: node_routes_ledger.cpp).
// The route table below is the authorisation matrix docs/openapi.yaml repeats.
#include "medledger/api/node_routes.h"

#include <charconv>
#include <cstring>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "medledger/core/bytes.h"
#include "medledger/node/hospital_node.h"
#include "node_routes_support.h"

namespace medledger::api {

core::Result<void> NodeBinding::host(node::HospitalNode* hosted,
                                     std::shared_ptr<core::Signer> signer) {
  if (hosted == nullptr)
    return core::make_error(core::ErrorCode::kInvalidArgument, "no node to host");
  const std::string& hospital = hosted->config().hospital_id;
  if (find(hospital) != nullptr) {
    return core::make_error(core::ErrorCode::kAlreadyExists,
                            "hospital '" + hospital + "' already has a node here");
  }
  nodes.push_back({hosted, std::move(signer)});
  return core::success();
}

const HostedNode* NodeBinding::find(std::string_view hospital) const {
  for (const auto& hosted : nodes) {
    if (hosted.node->config().hospital_id == hospital) return &hosted;
  }
  return nullptr;
}

namespace node_routes {

using core::ErrorCode;

core::Result<const HostedNode*> hosted_node_for(const NodeBinding* binding,
                                                const Principal* principal) {
  if (binding == nullptr || binding->nodes.empty()) {
    return core::make_error(ErrorCode::kTokenUnavailable,
                            "this server has no hospital node configured");
  }
  if (principal == nullptr) {
    return core::make_error(ErrorCode::kClientCertificateRequired,
                            "node routes need a client certificate");
  }
  if (const HostedNode* hosted = binding->find(principal->hospital)) return hosted;
  return core::make_error(ErrorCode::kNotFound,
                          "no node of hospital '" + principal->hospital + "' is served here");
}

core::Result<std::string> required_string(const boost::json::object& body, const char* name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || !value->is_string()) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            std::string("member '") + name + "' must be a string");
  }
  return std::string(value->as_string());
}

core::Result<std::optional<std::string>> optional_string(const boost::json::object& body,
                                                         const char* name) {
  if (!body.contains(name)) return std::optional<std::string>();
  MEDLEDGER_TRY_ASSIGN(auto text, required_string(body, name));
  return std::optional<std::string>(std::move(text));
}

core::Result<std::optional<std::int64_t>> optional_int(const boost::json::object& body,
                                                       const char* name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr) return std::optional<std::int64_t>();
  if (value->is_int64() && value->as_int64() >= 0)
    return std::optional<std::int64_t>(value->as_int64());
  if (value->is_uint64() && value->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(value->as_uint64()));
  }
  return core::make_error(ErrorCode::kInvalidArgument,
                          std::string("member '") + name + "' must be an integer >= 0");
}

core::Result<core::SecretBytes> take_secret(boost::json::object& body, const char* name) {
  auto* value = body.if_contains(name);
  if (value == nullptr || !value->is_string()) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            std::string("member '") + name + "' must be a string");
  }
  auto& text = value->as_string();
  core::SecretBytes secret(
      core::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  // Why: the parsed copy would otherwise linger in freed heap memory.
  volatile char* chars = text.data();
  for (std::size_t i = 0; i < text.size(); ++i) chars[i] = 0;
  return secret;
}

core::Result<node::PersonCredential> take_credential(boost::json::object& body,
                                                     const std::string& pin_member,
                                                     const std::string& session_member) {
  const bool has_pin = body.contains(pin_member);
  if (has_pin == body.contains(session_member)) {
    return core::make_error(ErrorCode::kInvalidArgument, "give exactly one of '" + pin_member +
                                                             "' and '" + session_member + "'");
  }
  if (has_pin) {
    MEDLEDGER_TRY_ASSIGN(auto pin, take_secret(body, pin_member.c_str()));
    return node::PersonCredential::pin(std::move(pin));
  }
  MEDLEDGER_TRY_ASSIGN(auto token, take_secret(body, session_member.c_str()));
  return node::PersonCredential::session_token(std::move(token));
}

std::string person_principal(const node::HospitalNode& node, std::string_view id) {
  return node.config().hospital_id + "/" + std::string(id);
}

core::Result<std::uint64_t> parse_u64(std::string_view text, const char* what) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            std::string(what) + " must be a decimal number");
  }
  return value;
}

core::Result<std::optional<std::uint64_t>> optional_query_u64(const Request& request,
                                                              const char* name) {
  auto text = request.query_param(name);
  if (!text) return std::optional<std::uint64_t>();
  MEDLEDGER_TRY_ASSIGN(auto value, parse_u64(*text, name));
  return std::optional<std::uint64_t>(value);
}

core::Result<std::uint64_t> required_query_u64(const Request& request, const char* name) {
  MEDLEDGER_TRY_ASSIGN(auto value, optional_query_u64(request, name));
  if (!value)
    return core::make_error(ErrorCode::kInvalidArgument,
                            std::string("query parameter '") + name + "' is required");
  return *value;
}

core::Result<void> add_node_route_rows(Router& router, const std::shared_ptr<NodeBinding>& binding,
                                       std::span<const NodeRouteRow> rows) {
  for (const auto& row : rows) {
    Route route;
    route.method = row.method;
    route.pattern = row.pattern;
    route.access = row.access;
    if (row.async_handler != nullptr) {
      route.async_handler = [binding, fn = row.async_handler](const Request& request,
                                                              const Principal* principal,
                                                              Responder responder) {
        fn(NodeCall{binding, request, principal}, request, std::move(responder));
      };
    } else {
      route.handler = [binding, fn = row.handler](const Request& request,
                                                  const Principal* principal) {
        return fn(NodeCall{binding, request, principal}, request);
      };
    }
    MEDLEDGER_TRY(router.add(std::move(route)));
  }
  return core::success();
}

Response receipt_response(const ledger::Receipt& receipt, int status) {
  Response response;
  response.status = status;
  response.body =
      ledger::encode_receipt(receipt);  // canonical JSON already: no parse and re-serialise
  return response;
}

core::Result<node::RecordPutRequest> parse_record_put(const boost::json::object& body) {
  node::RecordPutRequest put;
  MEDLEDGER_TRY_ASSIGN(put.record_id, required_string(body, "record_id"));
  MEDLEDGER_TRY_ASSIGN(put.doctor, required_string(body, "doctor"));
  MEDLEDGER_TRY_ASSIGN(put.patient, required_string(body, "patient"));
  MEDLEDGER_TRY_ASSIGN(auto content_type, optional_string(body, "content_type"));
  if (content_type) put.content_type = *content_type;
  MEDLEDGER_TRY_ASSIGN(auto payload_text, required_string(body, "payload"));
  auto payload = core::base64url_decode(payload_text);
  if (!payload)
    return core::make_error(ErrorCode::kMalformedEncoding, "member 'payload' must be base64url");
  put.payload = std::move(*payload);
  return put;
}

core::Result<node::GrantRequest> parse_grant_request(const boost::json::object& body) {
  node::GrantRequest grant;
  MEDLEDGER_TRY_ASSIGN(grant.patient, required_string(body, "patient"));
  MEDLEDGER_TRY_ASSIGN(grant.grantee, required_string(body, "grantee"));
  if (const auto* scope = body.if_contains("scope")) {
    if (!scope->is_array())
      return core::make_error(ErrorCode::kInvalidArgument,
                              "member 'scope' must be an array of strings");
    for (const auto& item : scope->as_array()) {
      if (!item.is_string())
        return core::make_error(ErrorCode::kInvalidArgument,
                                "member 'scope' must be an array of strings");
      grant.scope.emplace_back(item.as_string());
    }
  }
  MEDLEDGER_TRY_ASSIGN(grant.expires_ms, optional_int(body, "expires_ms"));
  return grant;
}

}  // namespace node_routes

namespace {

using core::ErrorCode;
using namespace node_routes;

core::Result<node::PendingCommit> start_store_record(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto put, parse_record_put(body));
  MEDLEDGER_TRY_ASSIGN(auto doctor, take_credential(body, "doctor_pin", "doctor_session"));
  MEDLEDGER_TRY_ASSIGN(auto patient, take_credential(body, "patient_pin", "patient_session"));
  return with_node<node::PendingCommit>(call, [&](node::HospitalNode& node) {
    return node.records().put_async(put, doctor, patient);
  });
}

// Answers after the block's durable commit, without holding a thread meanwhile.
void store_record(const NodeCall& call, const Request& request, Responder responder) {
  answer_receipt_when_committed(start_store_record(call, request), std::move(responder));
}

core::Result<node::PendingRead> start_read_record(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  node::ReadRequest read;
  read.record_id = std::string(request.param("id"));
  MEDLEDGER_TRY_ASSIGN(read.doctor, required_string(body, "doctor"));
  MEDLEDGER_TRY_ASSIGN(read.purpose, required_string(body, "purpose"));
  MEDLEDGER_TRY_ASSIGN(auto version, optional_int(body, "version"));
  if (version) read.version = static_cast<std::uint64_t>(*version);
  MEDLEDGER_TRY_ASSIGN(auto doctor, take_credential(body, "doctor_pin", "doctor_session"));
  return with_node<node::PendingRead>(
      call, [&](node::HospitalNode& node) { return node.records().read_async(read, doctor); });
}

// The plaintext is released once the read's audit entry is durable (PendingRead).
void read_record(const NodeCall& call, const Request& request, Responder responder) {
  answer_when_committed(
      start_read_record(call, request), std::move(responder),
      [record_id = std::string(request.param("id"))](const node::RecordRead& result) {
        boost::json::object out;
        out["record_id"] = record_id;
        out["version"] = result.version;
        out["content_type"] = result.content_type;
        out["basis"] = result.basis;
        out["payload"] = core::base64url_encode(result.plaintext);
        out["receipt"] = ledger::receipt_json(result.receipt);
        return json_response(out);
      });
}

core::Result<Response> list_records(const NodeCall& call, const Request& request) {
  auto patient = request.query_param("patient");
  if (!patient || patient->empty()) {
    return core::make_error(ErrorCode::kInvalidArgument, "query parameter 'patient' is required");
  }
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto records, node.records().list(*patient));
    boost::json::array list;
    for (const auto& record : records) {
      boost::json::object item;
      item["record_id"] = record.id;
      item["owner"] = record.owner;
      item["hospital"] = record.hospital;
      item["latest_version"] = record.latest;
      item["latest_tx"] = core::base64url_encode(record.latest_tx);
      list.push_back(std::move(item));
    }
    boost::json::object out;
    out["patient"] = std::string(*patient);
    out["records"] = std::move(list);
    return json_response(out);
  });
}

core::Result<node::PendingCommit> start_grant_access(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto grant, parse_grant_request(body));
  MEDLEDGER_TRY_ASSIGN(auto patient, take_credential(body, "patient_pin", "patient_session"));
  return with_node<node::PendingCommit>(
      call, [&](node::HospitalNode& node) { return node.sharing().grant_async(grant, patient); });
}

// Answers after the block's durable commit, as a write does.
void grant_access(const NodeCall& call, const Request& request, Responder responder) {
  answer_receipt_when_committed(start_grant_access(call, request), std::move(responder));
}

core::Result<Response> revoke_access(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto patient, required_string(body, "patient"));
  MEDLEDGER_TRY_ASSIGN(auto grantee, required_string(body, "grantee"));
  MEDLEDGER_TRY_ASSIGN(auto credential, take_credential(body, "patient_pin", "patient_session"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto receipt, node.sharing().revoke(patient, grantee, credential));
    return receipt_response(receipt);
  });
}

}  // namespace

core::Result<void> add_node_routes(Router& router, std::shared_ptr<NodeBinding> binding) {
  using ca::Role;
  // Who may call what (docs/openapi.yaml x-medledger-roles repeats this table).
  const NodeRouteRow rows[] = {
      {Method::kPost, "/v1/records", Access::roles({Role::kNode}), nullptr, store_record},
      {Method::kGet, "/v1/records", Access::roles({Role::kNode}), list_records},
      {Method::kPost, "/v1/records/{id}/read", Access::roles({Role::kNode}), nullptr, read_record},
      {Method::kPost, "/v1/grants", Access::roles({Role::kNode}), nullptr, grant_access},
      {Method::kPost, "/v1/grants/revoke", Access::roles({Role::kNode}), revoke_access},
  };
  MEDLEDGER_TRY(add_node_route_rows(router, binding, rows));
  MEDLEDGER_TRY(add_ledger_routes(router, binding));
  MEDLEDGER_TRY(node_routes::add_audit_routes(router, binding));
  MEDLEDGER_TRY(add_transaction_routes(router, binding));
  MEDLEDGER_TRY(add_consortium_routes(router, binding));
  MEDLEDGER_TRY(node_routes::add_revocation_routes(router, binding));
  return add_person_routes(router, binding);
}

}  // namespace medledger::api

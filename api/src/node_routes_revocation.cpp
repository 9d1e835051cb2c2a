// Revocation status for relying parties, who have no client certificate (public
// routes): each hosted hospital's CRL (DER and PEM) and an OCSP responder (RFC
// 6960, POST and GET forms) for every hosted hospital's CA. Nothing here says
// more than a certificate's status: no hospital list, no subject, no ledger data.
//
// OCSP failures are OCSP answers, as RFC 6960 wants: HTTP 200 with
// application/ocsp-response holding only the OCSPResponseStatus (malformedRequest,
// unauthorized, internalError, tryLater); the access log and the error metric
// carry the stable code (OCSP_REQUEST_MALFORMED, OCSP_ISSUER_UNKNOWN, ...).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/api/node_routes.h"
#include "medledger/ca/limits.h"
#include "medledger/ca/ocsp.h"
#include "medledger/core/bytes.h"
#include "medledger/node/hospital_node.h"
#include "node_routes_support.h"

namespace medledger::api {

namespace node_routes {
/// Adds the public revocation routes (called by add_node_routes, node_routes.cpp).
core::Result<void> add_revocation_routes(Router& router,
                                         const std::shared_ptr<NodeBinding>& binding);
}  // namespace node_routes

namespace {

using core::ErrorCode;
using namespace node_routes;

constexpr std::string_view kDerSuffix = ".crl";
constexpr std::string_view kPemSuffix = ".pem";
constexpr std::string_view kOcspRequestType = "application/ocsp-request";

// GET /v1/crl/<hospital>.crl (DER, application/pkix-crl) or .pem.
core::Result<Response> crl_file(const NodeCall& call, const Request& request) {
  const std::string_view file = request.param("file");
  const bool der = file.ends_with(kDerSuffix);
  if (!der && !file.ends_with(kPemSuffix)) {
    return core::make_error(ErrorCode::kNotFound,
                            "CRLs are /v1/crl/<hospital>.crl (DER) or /v1/crl/<hospital>.pem");
  }
  if (call.binding == nullptr)
    return core::make_error(ErrorCode::kTokenUnavailable, "this server hosts no hospital node");
  const std::string_view hospital = file.substr(0, file.size() - kDerSuffix.size());
  const HostedNode* hosted = call.binding->find(hospital);
  // The same answer for any name this server does not publish: no list of hospitals.
  if (hosted == nullptr)
    return core::make_error(ErrorCode::kNotFound, "no CRL of that name is published here");
  Response response;
  if (der) {
    MEDLEDGER_TRY_ASSIGN(auto bytes, hosted->node->ca().crl_der());
    response.content_type = "application/pkix-crl";
    response.body.assign(bytes.begin(), bytes.end());
  } else {
    MEDLEDGER_TRY_ASSIGN(response.body, hosted->node->ca().crl_pem());
    response.content_type = "application/x-pem-file";
  }
  return response;
}

Response ocsp_answer(const core::Bytes& der, std::string error_code = {}) {
  Response response;
  response.content_type = "application/ocsp-response";
  response.body.assign(der.begin(), der.end());
  response.error_code = std::move(error_code);
  return response;
}

Response ocsp_failure(ca::OcspResponseStatus status, ErrorCode code) {
  return ocsp_answer(ca::ocsp_error_response(status), std::string(core::error_code_name(code)));
}

// The request's CA among the hosted nodes answers; a token that cannot sign now is tryLater.
Response ocsp_respond(const NodeCall& call, core::ByteView der) {
  auto request = ca::OcspRequest::parse(der);
  if (!request) {
    return ocsp_failure(ca::OcspResponseStatus::kMalformedRequest, request.error().code);
  }
  const std::vector<HostedNode> none;
  for (const HostedNode& hosted : call.binding ? call.binding->nodes : none) {
    if (!hosted.node->ca().serves_ocsp(*request)) continue;
    auto answer = hosted.node->ca().ocsp_response(*request);
    if (answer) return ocsp_answer(*answer);
    const ErrorCode code = answer.error().code;
    return ocsp_failure(code == ErrorCode::kTokenUnavailable || code == ErrorCode::kSessionExhausted
                            ? ca::OcspResponseStatus::kTryLater
                            : ca::OcspResponseStatus::kInternalError,
                        code);
  }
  return ocsp_failure(ca::OcspResponseStatus::kUnauthorized, ErrorCode::kOcspIssuerUnknown);
}

// POST /v1/ocsp: the DER OCSPRequest as the body (RFC 6960 A.1.1).
core::Result<Response> ocsp_post(const NodeCall& call, const Request& request) {
  auto type = request.header("content-type");
  if (type && type->substr(0, type->find(';')) != kOcspRequestType) {
    return ocsp_failure(ca::OcspResponseStatus::kMalformedRequest,
                        ErrorCode::kOcspRequestMalformed);
  }
  return ocsp_respond(call, core::to_bytes(request.body));
}

// GET /v1/ocsp/<base64 of the DER request> (RFC 6960 A.1.1): standard base64 (with
// '+' and '=' percent-encoded or not) or base64url; a '/' of standard base64 would be
// a new path segment, which the router refuses, so such requests use base64url or POST.
core::Result<Response> ocsp_get(const NodeCall& call, const Request& request) {
  std::string text(request.param("request"));
  if (text.size() > 2 * ca::kMaxOcspRequestBytes) {
    return ocsp_failure(ca::OcspResponseStatus::kMalformedRequest,
                        ErrorCode::kOcspRequestMalformed);
  }
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == ' ') c = '-';  // a '+' some clients leave unencoded and a decoder read as space
  }
  auto der = core::base64url_decode(text);
  if (!der) {
    return ocsp_failure(ca::OcspResponseStatus::kMalformedRequest,
                        ErrorCode::kOcspRequestMalformed);
  }
  return ocsp_respond(call, *der);
}

}  // namespace

core::Result<void> node_routes::add_revocation_routes(Router& router,
                                                      const std::shared_ptr<NodeBinding>& binding) {
  // docs/openapi.yaml x-medledger-roles repeats this table: all public.
  const NodeRouteRow rows[] = {
      {Method::kGet, "/v1/crl/{file}", Access::public_route(), crl_file},
      {Method::kPost, "/v1/ocsp", Access::public_route(), ocsp_post},
      {Method::kGet, "/v1/ocsp/{request}", Access::public_route(), ocsp_get},
  };
  return add_node_route_rows(router, binding, rows);
}

}  // namespace medledger::api

// Persons and certificates (role admin: enrol, revoke, issue from a CSR), the CRL,
// and what a hospital system asks on a person's behalf (role node: a signature
// over a digest, sessions that stand for the PIN). {id} is the person's id at the
// caller's hospital: the principal is "<hospital>/<id>" (a '/' cannot travel in a
// path segment). PINs and session tokens come only in bodies (take_secret).
#include "medledger/api/node_routes.h"
#include "medledger/ca/certificate.h"
#include "medledger/core/bytes.h"
#include "medledger/node/hospital_node.h"
#include "node_routes_support.h"

namespace medledger::api {

namespace {

using core::ErrorCode;
using namespace node_routes;

// Hex (64 characters) or base64url (43) spellings of a SHA-256 digest.
constexpr std::size_t kDigestHexChars = 2 * core::kSha256Size;

boost::json::object certificate_json(const std::string& principal, const std::string& pem,
                                     const core::Digest& fingerprint,
                                     const ledger::Receipt& receipt) {
  boost::json::object out;
  out["principal"] = principal;
  out["certificate"] = pem;
  out["fingerprint"] = core::base64url_encode(fingerprint);
  out["receipt"] = ledger::receipt_json(receipt);
  return out;
}

// A SHA-256 digest as 64 hex digits or 43 base64url characters; `what` names it in the error.
core::Result<core::Digest> parse_digest(std::string_view text, const std::string& what) {
  auto bytes =
      text.size() == kDigestHexChars ? core::hex_decode(text) : core::base64url_decode(text);
  core::Digest digest{};
  if (!bytes || bytes->size() != digest.size()) {
    return core::make_error(
        ErrorCode::kMalformedEncoding,
        what + " must be a SHA-256 digest: 64 hex digits or 43 base64url characters");
  }
  std::copy(bytes->begin(), bytes->end(), digest.begin());
  return digest;
}

core::Result<ca::Role> role_member(const boost::json::object& body) {
  MEDLEDGER_TRY_ASSIGN(auto name, required_string(body, "role"));
  auto role = ca::parse_role(name);
  if (!role)
    return core::make_error(ErrorCode::kInvalidArgument, "member 'role' is not a role name");
  return *role;
}

core::Result<Response> enrol_person(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  node::EnrolRequest enrol;
  MEDLEDGER_TRY_ASSIGN(enrol.role, role_member(body));
  MEDLEDGER_TRY_ASSIGN(enrol.id, required_string(body, "id"));
  MEDLEDGER_TRY_ASSIGN(auto public_key, optional_string(body, "public_key"));
  if (public_key) {
    MEDLEDGER_TRY_ASSIGN(enrol.external_public_key,
                         ca::parse_public_key(core::to_bytes(*public_key)));
  }
  // A person with their own key signs on their device: no PIN at the node, and one
  // given anyway would suggest it protects something.
  if (!public_key) {
    MEDLEDGER_TRY_ASSIGN(enrol.pin, take_secret(body, "pin"));
  } else if (body.contains("pin")) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "a person enrolled with 'public_key' signs on their own device and "
                            "has no PIN at the node: leave out 'pin'");
  }
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto enrolment, node.persons().enrol(enrol));
    return json_response(certificate_json(enrolment.principal, enrolment.certificate.to_pem(),
                                          enrolment.fingerprint, enrolment.receipt),
                         201);
  });
}

core::Result<Response> revoke_person(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto reason, optional_string(body, "reason"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    const auto principal = person_principal(node, request.param("id"));
    MEDLEDGER_TRY_ASSIGN(auto receipt,
                         node.persons().revoke(principal, reason.value_or("unspecified")));
    return receipt_response(receipt);
  });
}

core::Result<Response> issue_certificate(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto role, role_member(body));
  MEDLEDGER_TRY_ASSIGN(auto id, required_string(body, "id"));
  MEDLEDGER_TRY_ASSIGN(auto csr, required_string(body, "csr"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto issued, node.ca().issue_certificate(csr, role, id));
    return json_response(certificate_json(issued.principal, issued.certificate_pem,
                                          issued.fingerprint, issued.receipt),
                         201);
  });
}

// Any certificate of the caller's hospital CA, by the fingerprint issue and enrol
// answered with: a CSR-issued admin or auditor certificate has no person to revoke.
core::Result<Response> revoke_certificate(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto fingerprint,
                       parse_digest(request.param("fingerprint"), "the path's {fingerprint}"));
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto reason, optional_string(body, "reason"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto receipt,
                         node.ca().revoke_certificate(fingerprint, reason.value_or("unspecified")));
    return receipt_response(receipt);
  });
}

// The hospital CA's current CRL (re-signed only when it changes or nears its nextUpdate),
// for authenticated callers; relying parties use the public /v1/crl/<hospital>.crl.
core::Result<Response> crl(const NodeCall& call, const Request&) {
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY_ASSIGN(auto pem, node.ca().crl_pem());
    Response response;
    response.content_type = "application/x-pem-file";
    response.body = std::move(pem);
    return response;
  });
}

core::Result<core::Digest> digest_member(const boost::json::object& body) {
  MEDLEDGER_TRY_ASSIGN(auto text, required_string(body, "digest"));
  return parse_digest(text, "member 'digest'");
}

core::Result<Response> sign_digest(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto digest, digest_member(body));
  MEDLEDGER_TRY_ASSIGN(auto credential, take_credential(body, "pin", "session"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    const auto principal = person_principal(node, request.param("id"));
    MEDLEDGER_TRY_ASSIGN(auto signed_digest,
                         node.signing().sign_digest(principal, credential, digest));
    boost::json::object out;
    out["principal"] = principal;
    out["alg"] = core::key_algorithm_name(signed_digest.algorithm);
    out["cert"] = core::base64url_encode(signed_digest.cert_fingerprint);
    out["sig"] = core::base64url_encode(signed_digest.signature);
    return json_response(out);
  });
}

core::Result<Response> open_session(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto ttl_seconds, optional_int(body, "ttl_seconds"));
  const auto ttl = ttl_seconds ? std::chrono::seconds(*ttl_seconds) : node::kDefaultSessionTtl;
  MEDLEDGER_TRY_ASSIGN(auto pin,
                       take_secret(body, "pin"));  // first: the PIN is wiped from the body
  MEDLEDGER_TRY_ASSIGN(auto signatures, optional_int(body, "signatures"));
  if (signatures && (*signatures < 1 || *signatures > node::kMaxSessionSignatures)) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "member 'signatures' must be 1.." + std::to_string(node::kMaxSessionSignatures));
  }
  const auto budget =
      signatures ? static_cast<std::uint32_t>(*signatures) : node::kMaxSessionSignatures;
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    const auto principal = person_principal(node, request.param("id"));
    MEDLEDGER_TRY_ASSIGN(auto session, node.signing().open_session(principal, pin, ttl, budget));
    boost::json::object out;
    out["principal"] = principal;
    // The one place a token leaves the node: the response body (never logged).
    out["session"] =
        std::string_view(reinterpret_cast<const char*>(session.token.data()), session.token.size());
    out["expires_ms"] = session.expires_ms;
    out["signatures"] = session.signatures;
    return json_response(out, 201);
  });
}

core::Result<Response> close_session(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  MEDLEDGER_TRY_ASSIGN(auto token, take_secret(body, "session"));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    MEDLEDGER_TRY(node.signing().close_session(token));
    boost::json::object out;
    out["closed"] = true;
    return json_response(out);
  });
}

}  // namespace

core::Result<void> node_routes::add_person_routes(Router& router,
                                                  const std::shared_ptr<NodeBinding>& binding) {
  using ca::Role;
  const Access admins = Access::roles({Role::kAdmin});
  const Access nodes = Access::roles({Role::kNode});
  // docs/openapi.yaml x-medledger-roles repeats this table.
  const NodeRouteRow rows[] = {
      {Method::kPost, "/v1/persons", admins, enrol_person},
      {Method::kPost, "/v1/persons/{id}/revoke", admins, revoke_person},
      {Method::kPost, "/v1/certificates", admins, issue_certificate},
      {Method::kPost, "/v1/certificates/{fingerprint}/revoke", admins, revoke_certificate},
      {Method::kGet, "/v1/ca/crl", Access::any_role(), crl},
      {Method::kPost, "/v1/persons/{id}/sign", nodes, sign_digest},
      {Method::kPost, "/v1/persons/{id}/sessions", nodes, open_session},
      {Method::kPost, "/v1/persons/{id}/sessions/close", nodes, close_session},
  };
  return add_node_route_rows(router, binding, rows);
}

}  // namespace medledger::api

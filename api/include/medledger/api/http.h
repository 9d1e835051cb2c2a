// The HTTP vocabulary of the api module, free of Boost.Beast: what a handler
// receives (Request), what it returns (Response) and who is calling (Principal).
//
// Handlers only translate HTTP <-> JSON and call node/; the server (Beast, one
// translation unit) fills a Request and writes the Response.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "medledger/ca/profile.h"
#include "medledger/core/bytes.h"
#include "medledger/core/result.h"

namespace medledger::api {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };

/// "GET", "POST", ... ("OTHER" for anything unknown).
std::string_view method_name(Method method);
/// Inverse of method_name (case-sensitive, as HTTP says); kOther for anything else.
Method parse_method(std::string_view name);

/// Who is calling: established from the TLS client certificate by a ClientAuthenticator.
struct Principal {
  ca::Role role = ca::Role::kDoctor;
  std::string id;           // the certificate's CN (pseudonymous id)
  std::string hospital;     // the certificate's O
  std::string fingerprint;  // lowercase hex SHA-256 of the certificate DER
};

struct Request {
  Method method = Method::kGet;
  std::string target;  // as received: path and query, percent-encoded
  std::string path;    // decoded path without the query
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercase
  std::string body;
  std::map<std::string, std::string, std::less<>> path_params;  // filled by the router

  /// A `{name}` segment of the matched route ("" if the route has none by that name).
  std::string_view param(std::string_view name) const;
  /// The first query parameter `name`, if present.
  std::optional<std::string_view> query_param(std::string_view name) const;
  /// The first header `name` (give it lowercase), if present.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (e.g. Allow)
  /// The error code when this is an error response (metrics, access log); empty otherwise.
  std::string error_code;
};

/// A 200 (or `status`) response with `value` serialized as JSON.
Response json_response(const boost::json::value& value, int status = 200);

/// The error response: HTTP status from http_status_for(error.code) and the body
/// {"error":{"code":"<STABLE_CODE>","message":"..."}}.
Response error_response(const core::Error& error);

/// The HTTP status for an error code (one table, docs/api.md): 400 for malformed
/// input, 401 for missing/invalid client certificates, 403 for roles and PINs,
/// 404 for unknown things, 409 for duplicates, 413 for sizes, 503 for an
/// unavailable token, 500 for anything that is our fault.
int http_status_for(core::ErrorCode code);

/// Parses a request body as JSON: kJsonMalformed (with the parser's reason) if it
/// is empty or not well-formed. Cost: one pass over the body.
core::Result<boost::json::value> parse_json_body(const Request& request);

/// Parses a body that must be a JSON object: kJsonMalformed if not JSON,
/// kInvalidArgument if it is JSON but not an object.
core::Result<boost::json::object> parse_json_object(const Request& request);

}  // namespace medledger::api

#include "medledger/api/http.h"

#include <array>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace medledger::api {

namespace {
using core::ErrorCode;

constexpr std::array<std::pair<Method, std::string_view>, 7> kMethodNames{{
    {Method::kGet, "GET"},
    {Method::kHead, "HEAD"},
    {Method::kPost, "POST"},
    {Method::kPut, "PUT"},
    {Method::kDelete, "DELETE"},
    {Method::kPatch, "PATCH"},
    {Method::kOptions, "OPTIONS"},
}};

struct StatusRow {
  ErrorCode code;
  int status;
};

// The one mapping from stable error codes to HTTP statuses (docs/api.md repeats it).
// Codes not listed are server-side failures: 500.
constexpr StatusRow kStatusTable[] = {
    // malformed input: the client must change the request
    {ErrorCode::kInvalidArgument, 400},
    {ErrorCode::kMalformedEncoding, 400},
    {ErrorCode::kJsonMalformed, 400},
    {ErrorCode::kCsrInvalid, 400},
    {ErrorCode::kCsrSignatureInvalid, 400},
    {ErrorCode::kTxMalformed, 400},
    {ErrorCode::kTxNotCanonical, 400},
    {ErrorCode::kTxUnknownType, 400},
    {ErrorCode::kUriInvalid, 400},
    {ErrorCode::kUnsupportedAlgorithm, 400},
    {ErrorCode::kProofInvalid, 400},
    // well-formed but refused by the rules
    {ErrorCode::kSignatureInvalid, 422},
    {ErrorCode::kProfileViolation, 422},
    {ErrorCode::kCertificateInvalid, 422},
    {ErrorCode::kCertificateWrongRole, 422},
    {ErrorCode::kTxRejected, 422},
    {ErrorCode::kSecretUnavailable, 422},
    {ErrorCode::kPinInvalid, 422},
    // the caller is not authenticated: no or no acceptable client certificate
    {ErrorCode::kClientCertificateRequired, 401},
    {ErrorCode::kCertificateUntrusted, 401},
    {ErrorCode::kCertificateRevoked, 401},
    {ErrorCode::kCertificateExpired, 401},
    {ErrorCode::kCertificateNotYetValid, 401},
    {ErrorCode::kCrlInvalid, 401},
    {ErrorCode::kOcspRequestMalformed, 400},
    {ErrorCode::kOcspIssuerUnknown, 404},
    // authenticated, but not allowed: role or a person's PIN
    {ErrorCode::kRoleForbidden, 403},
    {ErrorCode::kPinIncorrect, 403},
    {ErrorCode::kPersonPinIncorrect, 403},
    {ErrorCode::kPersonSessionInvalid, 403},
    {ErrorCode::kDecryptionFailed, 403},
    {ErrorCode::kPinLocked, 423},
    {ErrorCode::kPersonLocked, 423},
    // unknown things
    {ErrorCode::kNotFound, 404},
    {ErrorCode::kRouteNotFound, 404},
    {ErrorCode::kKeyNotFound, 404},
    {ErrorCode::kLedgerNotFound, 404},
    {ErrorCode::kMethodNotAllowed, 405},
    {ErrorCode::kAlreadyExists, 409},
    {ErrorCode::kTxDuplicate, 409},
    {ErrorCode::kTxTooLarge, 413},
    {ErrorCode::kRecordTooLarge, 413},
    {ErrorCode::kAuditRangeInvalid, 400},
    {ErrorCode::kExportTooLarge, 413},
    {ErrorCode::kBundleMismatch, 422},
    {ErrorCode::kBodyTooLarge, 413},
    {ErrorCode::kHeadersTooLarge, 431},
    // temporarily unable: retry later
    {ErrorCode::kTokenUnavailable, 503},
    {ErrorCode::kSessionExhausted, 503},
    {ErrorCode::kOrderingStopped, 503},
    {ErrorCode::kLedgerFull, 507},
    // the ledger did not report the commit in time: the outcome is unknown
    {ErrorCode::kCommitUnconfirmed, 504},
    {ErrorCode::kOrderingUnavailable, 503},
    {ErrorCode::kBlockInvalid, 502},
    {ErrorCode::kReplicaHalted, 503},
    // the records contract (600-627): refused by its rules unless said otherwise
    {ErrorCode::kContractBodyInvalid, 422},
    {ErrorCode::kTxTimeOutsideWindow, 422},
    {ErrorCode::kCertNotOnLedger, 422},
    {ErrorCode::kSignerRoleDuplicated, 422},
    {ErrorCode::kDoctorSignatureMissing, 422},
    {ErrorCode::kPatientSignatureMissing, 422},
    {ErrorCode::kNodeSignatureMissing, 422},
    {ErrorCode::kIssuerSignatureMissing, 422},
    {ErrorCode::kAdmitQuorumNotMet, 422},
    {ErrorCode::kHospitalAlreadyAdmitted, 409},
    {ErrorCode::kCertAlreadyRegistered, 409},
    {ErrorCode::kCertAlreadyRevoked, 409},
    {ErrorCode::kRevokeNotAuthorized, 422},
    {ErrorCode::kPatientMismatch, 422},
    {ErrorCode::kRecordNotOwner, 422},
    {ErrorCode::kRecordNotFound, 404},
    {ErrorCode::kRecordAlreadyExists, 409},
    {ErrorCode::kRecordVersionConflict, 409},
    {ErrorCode::kRecordDigestMismatch, 422},
    {ErrorCode::kGrantNotFound, 404},
    {ErrorCode::kGrantExpired, 422},
    {ErrorCode::kGrantRevoked, 422},
    {ErrorCode::kReadNotAuthorized, 403},
    {ErrorCode::kNodeHospitalMismatch, 422},
    {ErrorCode::kGenesisInvalid, 422},
    {ErrorCode::kPatientKeyVersionStale, 422},
    {ErrorCode::kHospitalNotAdmitted, 422},
    {ErrorCode::kPersonCertLimit, 422},
};
constexpr int kServerErrorStatus = 500;

// Every row answers an error status (4xx/5xx), and a code appears once (the first row would win).
constexpr bool status_table_consistent() {
  for (std::size_t i = 0; i < std::size(kStatusTable); ++i) {
    if (kStatusTable[i].status < 400 || kStatusTable[i].status > 599) return false;
    for (std::size_t j = i + 1; j < std::size(kStatusTable); ++j) {
      if (kStatusTable[i].code == kStatusTable[j].code) return false;
    }
  }
  return true;
}
static_assert(status_table_consistent(), "kStatusTable: a non-error status or a repeated code");
}  // namespace

std::string_view method_name(Method method) {
  for (const auto& [m, name] : kMethodNames) {
    if (m == method) return name;
  }
  return "OTHER";
}

Method parse_method(std::string_view name) {
  for (const auto& [m, n] : kMethodNames) {
    if (n == name) return m;
  }
  return Method::kOther;
}

std::string_view Request::param(std::string_view name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

Response json_response(const boost::json::value& value, int status) {
  Response response;
  response.status = status;
  response.body = boost::json::serialize(value);
  return response;
}

Response error_response(const core::Error& error) {
  boost::json::object inner;
  inner["code"] = core::error_code_name(error.code);
  inner["message"] = error.message;
  boost::json::object outer;
  outer["error"] = std::move(inner);
  Response response = json_response(outer, http_status_for(error.code));
  response.error_code = std::string(core::error_code_name(error.code));
  // Passing conditions: tell the client when to try again (RFC 9110 section 10.2.3).
  if (error.code == core::ErrorCode::kOrderingUnavailable ||
      error.code == core::ErrorCode::kOrderingStopped)
    response.headers.emplace_back("Retry-After", "1");
  return response;
}

int http_status_for(core::ErrorCode code) {
  for (const auto& row : kStatusTable) {
    if (row.code == code) return row.status;
  }
  return kServerErrorStatus;
}

core::Result<boost::json::value> parse_json_body(const Request& request) {
  if (request.body.empty())
    return core::make_error(ErrorCode::kJsonMalformed, "the request body is empty");
  boost::json::error_code ec;
  boost::json::value value = boost::json::parse(request.body, ec);
  if (ec)
    return core::make_error(ErrorCode::kJsonMalformed,
                            "the request body is not JSON: " + ec.message());
  return value;
}

core::Result<boost::json::object> parse_json_object(const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto value, parse_json_body(request));
  if (!value.is_object())
    return core::make_error(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  return std::move(value.as_object());
}

}  // namespace medledger::api

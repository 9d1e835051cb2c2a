// Transaction bodies of the medical-records contract: builders (records_contract.h)
// and the strict reader the rules use (records_internal.h).
#include <algorithm>

#include <boost/json/array.hpp>

#include "medledger/core/canonical_json.h"
#include "records_internal.h"

namespace medledger::ledger {

using core::ErrorCode;
using core::make_error;
using core::Result;
namespace json = boost::json;

core::Digest certificate_fingerprint(const ca::Certificate& certificate) {
  return core::sha256(certificate.to_der());
}

std::string principal(std::string_view hospital_id, std::string_view person_id) {
  std::string out(hospital_id);
  out += '/';
  out += person_id;
  return out;
}

namespace {

json::array objects_array(const std::vector<json::object>& list) {
  json::array out;
  for (const auto& o : list) out.emplace_back(o);
  return out;
}

}  // namespace

json::object make_hospital_admit_body(const HospitalAdmitBody& body) {
  json::array certs;
  for (const auto& pem : body.ca_certs_pem) certs.emplace_back(pem);
  return json::object{{"hospital", body.hospital}, {"ca_certs", std::move(certs)}};
}

json::object make_cert_register_body(const ca::Certificate& certificate) {
  return json::object{{"cert", core::base64url_encode(certificate.to_der())}};
}

json::object make_cert_revoke_body(const core::Digest& cert_fingerprint, std::string_view reason) {
  return json::object{{"cert", core::base64url_encode(cert_fingerprint)}, {"reason", reason}};
}

json::object make_record_put_body(const RecordPutBody& body) {
  json::object o{{"record", body.record},
                 {"version", static_cast<std::int64_t>(body.version)},
                 {"patient", body.patient},
                 {"content_type", body.content_type},
                 {"envelope_digest", core::base64url_encode(body.envelope_digest)},
                 {"plaintext_digest", core::base64url_encode(body.plaintext_digest)}};
  if (body.previous) o["previous"] = core::base64url_encode(*body.previous);
  if (body.envelope) o["envelope"] = *body.envelope;
  return o;
}

json::object make_access_grant_body(const AccessGrantBody& body) {
  json::object o{{"patient", body.patient}, {"grantee", body.grantee}};
  if (body.scope.empty()) {
    o["scope"] = kScopeAll;
  } else {
    json::array scope;
    for (const auto& id : body.scope) scope.emplace_back(id);
    o["scope"] = std::move(scope);
  }
  if (body.expires_ms) o["expires"] = *body.expires_ms;
  if (!body.wrapped_keys.empty()) o["wrapped_keys"] = objects_array(body.wrapped_keys);
  return o;
}

json::object make_access_revoke_body(const AccessRevokeBody& body) {
  json::object o{{"patient", body.patient}, {"grantee", body.grantee}};
  if (body.patient_key_version)
    o["patient_key_version"] = static_cast<std::int64_t>(*body.patient_key_version);
  if (!body.wrapped_keys.empty()) o["wrapped_keys"] = objects_array(body.wrapped_keys);
  return o;
}

json::object make_record_read_body(const RecordReadBody& body) {
  json::object o{{"record", body.record}, {"purpose", body.purpose}};
  if (body.version) o["version"] = static_cast<std::int64_t>(*body.version);
  return o;
}

namespace records {

namespace {

bool printable(std::string_view text, bool spaces) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x21 && u <= 0x7e) || (spaces && u == 0x20);
  });
}

}  // namespace

bool is_principal(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  return ca::is_valid_identifier(text.substr(0, slash)) &&
         ca::is_valid_identifier(text.substr(slash + 1));
}

bool is_record_id(std::string_view text) {
  return !text.empty() && text.size() <= kMaxRecordIdBytes && printable(text, false);
}

core::Error BodyReader::invalid(std::string_view name, std::string_view what) const {
  return make_error(ErrorCode::kContractBodyInvalid,
                    std::string(type_) + ": \"" + std::string(name) + "\" " + std::string(what));
}

Result<const json::value*> BodyReader::value(std::string_view name) {
  auto it = body_.find(name);
  if (it == body_.end()) return invalid(name, "is missing");
  read_.emplace_back(name);
  return &it->value();
}

Result<std::string> BodyReader::string(std::string_view name, std::size_t max_bytes) {
  MEDLEDGER_TRY_ASSIGN(auto v, value(name));
  if (!v->is_string()) return invalid(name, "must be a string");
  std::string_view s = v->as_string();
  if (s.empty() || s.size() > max_bytes)
    return invalid(name, "must be 1-" + std::to_string(max_bytes) + " bytes");
  return std::string(s);
}

Result<std::string> BodyReader::identifier(std::string_view name) {
  MEDLEDGER_TRY_ASSIGN(auto s, string(name, kMaxRecordIdBytes));
  if (!ca::is_valid_identifier(s))
    return invalid(name, "must be an id of [A-Za-z0-9._-] (at most 64)");
  return s;
}

Result<std::string> BodyReader::principal(std::string_view name) {
  MEDLEDGER_TRY_ASSIGN(auto s, string(name, kMaxRecordIdBytes + 2));
  if (!is_principal(s)) return invalid(name, "must be \"<hospital id>/<person id>\"");
  return s;
}

Result<std::string> BodyReader::grantee(std::string_view name) {
  MEDLEDGER_TRY_ASSIGN(auto s, string(name, kMaxRecordIdBytes + 2));
  if (!ca::is_valid_identifier(s) && !is_principal(s)) {
    return invalid(name, "must be a hospital id or \"<hospital id>/<doctor id>\"");
  }
  return s;
}

Result<std::string> BodyReader::text(std::string_view name, std::size_t max_bytes, bool spaces) {
  MEDLEDGER_TRY_ASSIGN(auto s, string(name, max_bytes));
  if (!printable(s, spaces)) return invalid(name, "must be printable ASCII");
  return s;
}

Result<std::int64_t> BodyReader::integer(std::string_view name, std::int64_t min,
                                         std::int64_t max) {
  MEDLEDGER_TRY_ASSIGN(auto v, value(name));
  if (!v->is_int64()) return invalid(name, "must be an integer");
  std::int64_t n = v->as_int64();
  if (n < min || n > max)
    return invalid(name, "must be in " + std::to_string(min) + ".." + std::to_string(max));
  return n;
}

Result<core::Bytes> BodyReader::bytes(std::string_view name, std::size_t max_bytes) {
  auto s = string(name, max_bytes * 2);  // base64url is 4/3 of the bytes
  if (!s) return s.error();
  auto raw = core::base64url_decode(*s);
  if (!raw || raw->empty() || raw->size() > max_bytes)
    return invalid(name, "must be base64url of 1-" + std::to_string(max_bytes) + " bytes");
  return std::move(*raw);
}

Result<core::Digest> BodyReader::digest(std::string_view name) {
  MEDLEDGER_TRY_ASSIGN(auto raw, bytes(name, core::kSha256Size));
  if (raw.size() != core::kSha256Size) return invalid(name, "must be base64url of 32 bytes");
  core::Digest d{};
  std::copy(raw.begin(), raw.end(), d.begin());
  return d;
}

Result<std::vector<json::object>> BodyReader::objects(std::string_view name, std::size_t max) {
  MEDLEDGER_TRY_ASSIGN(auto v, value(name));
  if (!v->is_array() || v->as_array().size() > max) {
    return invalid(name, "must be an array of at most " + std::to_string(max) + " objects");
  }
  std::vector<json::object> out;
  for (const auto& item : v->as_array()) {
    if (!item.is_object()) return invalid(name, "must hold objects only");
    out.push_back(item.as_object());
  }
  return out;
}

Result<void> BodyReader::finish() const {
  for (const auto& member : body_) {
    if (std::find(read_.begin(), read_.end(), std::string_view(member.key())) == read_.end()) {
      return invalid(member.key(), "is not a member of this body");
    }
  }
  return core::success();
}

}  // namespace records
}  // namespace medledger::ledger

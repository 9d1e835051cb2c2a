// The medical-records contract's state entries: key builders and the canonical
// JSON of every entry, written by the rules and parsed by the lookups.
#include <algorithm>

#include <boost/json/array.hpp>

#include "medledger/core/canonical_json.h"
#include "records_internal.h"

namespace medledger::ledger {

using core::ErrorCode;
using core::make_error;
using core::Result;
namespace json = boost::json;

namespace records {

std::time_t block_seconds(const BlockContext& ctx) {
  // Block times are >= 0 (orderer clock); floor division keeps negatives sane anyway.
  std::int64_t s = ctx.time_ms / 1000;
  if (ctx.time_ms < 0 && ctx.time_ms % 1000 != 0) --s;
  return static_cast<std::time_t>(s);
}

core::Bytes text_key(std::string_view text) { return core::Bytes(text.begin(), text.end()); }

core::Bytes pair_key(std::string_view a, core::ByteView b) {
  core::Bytes out(a.begin(), a.end());
  out.push_back(kKeySeparator);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

core::Bytes pair_key(std::string_view a, std::string_view b) {
  return pair_key(a, core::ByteView(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
}

core::Bytes numbered_key(std::string_view a, std::uint64_t n) {
  auto be = u64_key(n);
  return pair_key(a, core::ByteView(be.data(), be.size()));
}

core::Bytes digest_key(const core::Digest& d) { return core::Bytes(d.begin(), d.end()); }

core::Bytes prefix_key(std::string_view a) {
  core::Bytes out(a.begin(), a.end());
  out.push_back(kKeySeparator);
  return out;
}

namespace {

json::array digests_json(const std::vector<core::Digest>& list) {
  json::array out;
  for (const auto& d : list) out.emplace_back(core::base64url_encode(d));
  return out;
}

json::array objects_json(const std::vector<json::object>& list) {
  json::array out;
  for (const auto& o : list) out.emplace_back(o);
  return out;
}

json::array strings_json(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list) out.emplace_back(s);
  return out;
}

// The members the state entries share with the auditor's export, in the export's order
// (state values are canonicalized, so their own order does not matter there).
void add_version_members(json::object& o, const RecordVersionEntry& e) {
  o["version"] = static_cast<std::int64_t>(e.version);
  o["tx"] = core::base64url_encode(e.tx);
  o["time"] = e.time_ms;
  o["content_type"] = e.content_type;
  o["doctor"] = e.doctor;
  o["patient"] = e.patient;
  o["doctor_cert"] = core::base64url_encode(e.doctor_cert);
  o["patient_cert"] = core::base64url_encode(e.patient_cert);
  o["node_cert"] = core::base64url_encode(e.node_cert);
  o["envelope_digest"] = core::base64url_encode(e.envelope_digest);
  o["plaintext_digest"] = core::base64url_encode(e.plaintext_digest);
}

void add_certificate_members(json::object& o, const CertificateEntry& e) {
  o["role"] = e.role;
  o["id"] = e.id;
  o["hospital"] = e.hospital;
  o["issuer"] = core::base64url_encode(e.issuer);
  o["not_before"] = e.not_before;
  o["not_after"] = e.not_after;
  o["status"] = e.status;
  o["registered_at"] = e.registered_at_ms;
  o["revoked_at"] = e.revoked_at_ms;
  o["reason"] = e.reason;
}

/// Reads members of a stored entry; any deviation is kLedgerCorrupt (state is ours).
class EntryReader {
 public:
  EntryReader(const json::object& o, std::string_view what) : o_(o), what_(what) {}
  Result<std::string> str(std::string_view name) const {
    auto it = o_.find(name);
    if (it == o_.end() || !it->value().is_string()) return bad(name);
    return std::string(it->value().as_string());
  }
  Result<std::int64_t> integer(std::string_view name) const {
    auto it = o_.find(name);
    if (it == o_.end() || !it->value().is_int64()) return bad(name);
    return it->value().as_int64();
  }
  std::optional<std::int64_t> optional_integer(std::string_view name) const {
    auto it = o_.find(name);
    if (it == o_.end() || !it->value().is_int64()) return std::nullopt;
    return it->value().as_int64();
  }
  Result<core::Digest> digest(std::string_view name) const {
    MEDLEDGER_TRY_ASSIGN(auto s, str(name));
    auto raw = core::base64url_decode(s);
    if (!raw || raw->size() != core::kSha256Size) return bad(name);
    core::Digest d{};
    std::copy(raw->begin(), raw->end(), d.begin());
    return d;
  }
  Result<std::vector<std::string>> strings(std::string_view name) const {
    auto it = o_.find(name);
    if (it == o_.end() || !it->value().is_array()) return bad(name);
    std::vector<std::string> out;
    for (const auto& v : it->value().as_array()) {
      if (!v.is_string()) return bad(name);
      out.emplace_back(v.as_string());
    }
    return out;
  }
  Result<std::vector<json::object>> objects(std::string_view name) const {
    auto it = o_.find(name);
    if (it == o_.end() || !it->value().is_array()) return bad(name);
    std::vector<json::object> out;
    for (const auto& v : it->value().as_array()) {
      if (!v.is_object()) return bad(name);
      out.push_back(v.as_object());
    }
    return out;
  }
  const json::object& object() const { return o_; }

 private:
  core::Error bad(std::string_view name) const {
    return make_error(
        ErrorCode::kLedgerCorrupt,
        "state: " + std::string(what_) + " entry lacks a valid \"" + std::string(name) + "\"");
  }
  const json::object& o_;
  std::string_view what_;
};

Result<json::object> parse_entry(std::string_view text, std::string_view what) {
  auto v = core::parse_restricted_json(text, kMaxStateValueBytes);
  if (!v || !v->is_object()) {
    return make_error(ErrorCode::kLedgerCorrupt,
                      "state: " + std::string(what) + " entry is not a JSON object");
  }
  return std::move(v->as_object());
}

}  // namespace

Result<HospitalEntry> parse_hospital_entry(std::string_view text) {
  MEDLEDGER_TRY_ASSIGN(auto o, parse_entry(text, "hospital"));
  EntryReader r(o, "hospital");
  HospitalEntry e;
  MEDLEDGER_TRY_ASSIGN(e.id, r.str("id"));
  MEDLEDGER_TRY_ASSIGN(e.admitted_at_ms, r.integer("admitted_at"));
  MEDLEDGER_TRY_ASSIGN(e.admitted_by, r.digest("admitted_by"));
  std::vector<std::string> fps;
  MEDLEDGER_TRY_ASSIGN(fps, r.strings("ca_certs"));
  for (const auto& s : fps) {
    auto raw = core::base64url_decode(s);
    if (!raw || raw->size() != core::kSha256Size)
      return make_error(ErrorCode::kLedgerCorrupt, "state: bad CA fingerprint");
    core::Digest d{};
    std::copy(raw->begin(), raw->end(), d.begin());
    e.ca_certs.push_back(d);
  }
  return e;
}

Result<RecordVersionEntry> parse_record_version_entry(std::string_view text) {
  MEDLEDGER_TRY_ASSIGN(auto o, parse_entry(text, "record version"));
  EntryReader r(o, "record version");
  RecordVersionEntry e;
  MEDLEDGER_TRY_ASSIGN(e.record, r.str("record"));
  std::int64_t version = 0;
  MEDLEDGER_TRY_ASSIGN(version, r.integer("version"));
  e.version = static_cast<std::uint64_t>(version);
  MEDLEDGER_TRY_ASSIGN(e.tx, r.digest("tx"));
  if (o.contains("previous")) {
    core::Digest prev{};
    MEDLEDGER_TRY_ASSIGN(prev, r.digest("previous"));
    e.previous = prev;
  }
  MEDLEDGER_TRY_ASSIGN(e.content_type, r.str("content_type"));
  MEDLEDGER_TRY_ASSIGN(e.envelope_digest, r.digest("envelope_digest"));
  MEDLEDGER_TRY_ASSIGN(e.plaintext_digest, r.digest("plaintext_digest"));
  if (auto it = o.find("envelope"); it != o.end() && it->value().is_object())
    e.envelope = it->value().as_object();
  MEDLEDGER_TRY_ASSIGN(e.doctor, r.str("doctor"));
  MEDLEDGER_TRY_ASSIGN(e.patient, r.str("patient"));
  MEDLEDGER_TRY_ASSIGN(e.doctor_cert, r.digest("doctor_cert"));
  MEDLEDGER_TRY_ASSIGN(e.patient_cert, r.digest("patient_cert"));
  MEDLEDGER_TRY_ASSIGN(e.node_cert, r.digest("node_cert"));
  MEDLEDGER_TRY_ASSIGN(e.time_ms, r.integer("time"));
  return e;
}

Result<ReadEntry> parse_read_entry(std::string_view text) {
  MEDLEDGER_TRY_ASSIGN(auto o, parse_entry(text, "read"));
  EntryReader r(o, "read");
  ReadEntry e;
  std::int64_t n = 0;
  MEDLEDGER_TRY_ASSIGN(n, r.integer("sequence"));
  e.sequence = static_cast<std::uint64_t>(n);
  MEDLEDGER_TRY_ASSIGN(e.tx, r.digest("tx"));
  MEDLEDGER_TRY_ASSIGN(e.record, r.str("record"));
  MEDLEDGER_TRY_ASSIGN(n, r.integer("version"));
  e.version = static_cast<std::uint64_t>(n);
  MEDLEDGER_TRY_ASSIGN(e.patient, r.str("patient"));
  MEDLEDGER_TRY_ASSIGN(e.doctor, r.str("doctor"));
  MEDLEDGER_TRY_ASSIGN(e.doctor_cert, r.digest("doctor_cert"));
  MEDLEDGER_TRY_ASSIGN(e.node_cert, r.digest("node_cert"));
  MEDLEDGER_TRY_ASSIGN(e.purpose, r.str("purpose"));
  MEDLEDGER_TRY_ASSIGN(e.basis, r.str("basis"));
  MEDLEDGER_TRY_ASSIGN(e.time_ms, r.integer("time"));
  return e;
}

Result<PatientKeyEntry> parse_patient_key_entry(std::string_view text) {
  MEDLEDGER_TRY_ASSIGN(auto o, parse_entry(text, "patient key"));
  EntryReader r(o, "patient key");
  PatientKeyEntry e;
  std::int64_t n = 0;
  MEDLEDGER_TRY_ASSIGN(n, r.integer("version"));
  e.version = static_cast<std::uint64_t>(n);
  MEDLEDGER_TRY_ASSIGN(e.wrapped_keys, r.objects("wrapped_keys"));
  MEDLEDGER_TRY_ASSIGN(e.tx, r.digest("tx"));
  return e;
}

std::string_view as_text(core::ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

json::object certificate_json(const CertificateEntry& e) {
  json::object o{{"der", core::base64url_encode(e.der)}};
  add_certificate_members(o, e);
  return o;
}

json::object hospital_json(const HospitalEntry& e) {
  return json::object{{"id", e.id},
                      {"ca_certs", digests_json(e.ca_certs)},
                      {"admitted_at", e.admitted_at_ms},
                      {"admitted_by", core::base64url_encode(e.admitted_by)}};
}

json::object record_json(const RecordEntry& e) {
  return json::object{{"id", e.id},
                      {"owner", e.owner},
                      {"hospital", e.hospital},
                      {"latest", static_cast<std::int64_t>(e.latest)},
                      {"latest_tx", core::base64url_encode(e.latest_tx)}};
}

json::object record_version_json(const RecordVersionEntry& e) {
  json::object o{{"record", e.record}};
  add_version_members(o, e);
  if (e.previous) o["previous"] = core::base64url_encode(*e.previous);
  if (e.envelope) o["envelope"] = *e.envelope;
  return o;
}

json::object grant_json(const GrantEntry& e) {
  json::object o{{"patient", e.patient},           {"grantee", e.grantee},
                 {"scope", strings_json(e.scope)}, {"status", e.status},
                 {"granted_at", e.granted_at_ms},  {"grant_tx", core::base64url_encode(e.grant_tx)},
                 {"revoked_at", e.revoked_at_ms},  {"wrapped_keys", objects_json(e.wrapped_keys)}};
  if (e.expires_ms) o["expires"] = *e.expires_ms;
  if (e.revoke_tx) o["revoke_tx"] = core::base64url_encode(*e.revoke_tx);
  return o;
}

json::object read_json(const ReadEntry& e) {
  return json::object{{"sequence", static_cast<std::int64_t>(e.sequence)},
                      {"tx", core::base64url_encode(e.tx)},
                      {"record", e.record},
                      {"version", static_cast<std::int64_t>(e.version)},
                      {"patient", e.patient},
                      {"doctor", e.doctor},
                      {"doctor_cert", core::base64url_encode(e.doctor_cert)},
                      {"node_cert", core::base64url_encode(e.node_cert)},
                      {"purpose", e.purpose},
                      {"basis", e.basis},
                      {"time", e.time_ms}};
}

json::object patient_key_json(const PatientKeyEntry& e) {
  return json::object{{"version", static_cast<std::int64_t>(e.version)},
                      {"wrapped_keys", objects_json(e.wrapped_keys)},
                      {"tx", core::base64url_encode(e.tx)}};
}

Result<CertificateEntry> parse_certificate_entry(std::string_view text) {
  MEDLEDGER_TRY_ASSIGN(auto o, parse_entry(text, "certificate"));
  EntryReader r(o, "certificate");
  CertificateEntry e;
  std::string der;
  MEDLEDGER_TRY_ASSIGN(der, r.str("der"));
  auto raw = core::base64url_decode(der);
  if (!raw) return make_error(ErrorCode::kLedgerCorrupt, "state: certificate DER is not base64url");
  e.der = std::move(*raw);
  e.fingerprint = core::sha256(e.der);
  MEDLEDGER_TRY_ASSIGN(e.role, r.str("role"));
  MEDLEDGER_TRY_ASSIGN(e.id, r.str("id"));
  MEDLEDGER_TRY_ASSIGN(e.hospital, r.str("hospital"));
  MEDLEDGER_TRY_ASSIGN(e.issuer, r.digest("issuer"));
  MEDLEDGER_TRY_ASSIGN(e.not_before, r.integer("not_before"));
  MEDLEDGER_TRY_ASSIGN(e.not_after, r.integer("not_after"));
  MEDLEDGER_TRY_ASSIGN(e.status, r.str("status"));
  MEDLEDGER_TRY_ASSIGN(e.registered_at_ms, r.integer("registered_at"));
  MEDLEDGER_TRY_ASSIGN(e.revoked_at_ms, r.integer("revoked_at"));
  MEDLEDGER_TRY_ASSIGN(e.reason, r.str("reason"));
  return e;
}

Result<RecordEntry> parse_record_entry(std::string_view text) {
  MEDLEDGER_TRY_ASSIGN(auto o, parse_entry(text, "record"));
  EntryReader r(o, "record");
  RecordEntry e;
  MEDLEDGER_TRY_ASSIGN(e.id, r.str("id"));
  MEDLEDGER_TRY_ASSIGN(e.owner, r.str("owner"));
  MEDLEDGER_TRY_ASSIGN(e.hospital, r.str("hospital"));
  std::int64_t latest = 0;
  MEDLEDGER_TRY_ASSIGN(latest, r.integer("latest"));
  e.latest = static_cast<std::uint64_t>(latest);
  MEDLEDGER_TRY_ASSIGN(e.latest_tx, r.digest("latest_tx"));
  return e;
}

Result<GrantEntry> parse_grant_entry(std::string_view text) {
  MEDLEDGER_TRY_ASSIGN(auto o, parse_entry(text, "grant"));
  EntryReader r(o, "grant");
  GrantEntry e;
  MEDLEDGER_TRY_ASSIGN(e.patient, r.str("patient"));
  MEDLEDGER_TRY_ASSIGN(e.grantee, r.str("grantee"));
  MEDLEDGER_TRY_ASSIGN(e.scope, r.strings("scope"));
  MEDLEDGER_TRY_ASSIGN(e.status, r.str("status"));
  MEDLEDGER_TRY_ASSIGN(e.granted_at_ms, r.integer("granted_at"));
  MEDLEDGER_TRY_ASSIGN(e.grant_tx, r.digest("grant_tx"));
  MEDLEDGER_TRY_ASSIGN(e.revoked_at_ms, r.integer("revoked_at"));
  MEDLEDGER_TRY_ASSIGN(e.wrapped_keys, r.objects("wrapped_keys"));
  e.expires_ms = r.optional_integer("expires");
  if (o.contains("revoke_tx")) {
    core::Digest d{};
    MEDLEDGER_TRY_ASSIGN(d, r.digest("revoke_tx"));
    e.revoke_tx = d;
  }
  return e;
}

}  // namespace records

json::object audit_record_version_json(const RecordVersionEntry& version, json::object proof) {
  json::object o;
  records::add_version_members(o, version);
  o["proof"] = std::move(proof);
  if (version.previous) o["previous"] = core::base64url_encode(*version.previous);
  return o;
}

json::object audit_read_json(const ReadEntry& read, json::object proof) {
  json::object o = records::read_json(read);
  o["proof"] = std::move(proof);
  return o;
}

json::object audit_certificate_json(const CertificateEntry& certificate,
                                    std::string_view chain_file) {
  json::object o{{"fingerprint", core::base64url_encode(certificate.fingerprint)}};
  records::add_certificate_members(o, certificate);
  o["chain_file"] = chain_file;
  return o;
}

}  // namespace medledger::ledger

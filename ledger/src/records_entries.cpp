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

std::string b64(const core::Digest& d) {
  return core::base64url_encode(core::ByteView(d.data(), d.size()));
}
std::string b64(core::ByteView b) { return core::base64url_encode(b); }

namespace {

json::array digests_json(const std::vector<core::Digest>& list) {
  json::array out;
  for (const auto& d : list) out.emplace_back(b64(d));
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
    auto s = str(name);
    if (!s) return s.error();
    auto raw = core::base64url_decode(*s);
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

#define MEDLEDGER_ASSIGN(lhs, expr)                     \
  do {                                                  \
    auto assign_result_ = (expr);                       \
    if (!assign_result_) return assign_result_.error(); \
    lhs = std::move(*assign_result_);                   \
  } while (false)

Result<HospitalEntry> parse_hospital_entry(std::string_view text) {
  auto o = parse_entry(text, "hospital");
  if (!o) return o.error();
  EntryReader r(*o, "hospital");
  HospitalEntry e;
  MEDLEDGER_ASSIGN(e.id, r.str("id"));
  MEDLEDGER_ASSIGN(e.admitted_at_ms, r.integer("admitted_at"));
  MEDLEDGER_ASSIGN(e.admitted_by, r.digest("admitted_by"));
  std::vector<std::string> fps;
  MEDLEDGER_ASSIGN(fps, r.strings("ca_certs"));
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
  auto o = parse_entry(text, "record version");
  if (!o) return o.error();
  EntryReader r(*o, "record version");
  RecordVersionEntry e;
  MEDLEDGER_ASSIGN(e.record, r.str("record"));
  std::int64_t version = 0;
  MEDLEDGER_ASSIGN(version, r.integer("version"));
  e.version = static_cast<std::uint64_t>(version);
  MEDLEDGER_ASSIGN(e.tx, r.digest("tx"));
  if (o->contains("previous")) {
    core::Digest prev{};
    MEDLEDGER_ASSIGN(prev, r.digest("previous"));
    e.previous = prev;
  }
  MEDLEDGER_ASSIGN(e.content_type, r.str("content_type"));
  MEDLEDGER_ASSIGN(e.envelope_digest, r.digest("envelope_digest"));
  MEDLEDGER_ASSIGN(e.plaintext_digest, r.digest("plaintext_digest"));
  if (auto it = o->find("envelope"); it != o->end() && it->value().is_object())
    e.envelope = it->value().as_object();
  MEDLEDGER_ASSIGN(e.doctor, r.str("doctor"));
  MEDLEDGER_ASSIGN(e.patient, r.str("patient"));
  MEDLEDGER_ASSIGN(e.doctor_cert, r.digest("doctor_cert"));
  MEDLEDGER_ASSIGN(e.patient_cert, r.digest("patient_cert"));
  MEDLEDGER_ASSIGN(e.node_cert, r.digest("node_cert"));
  MEDLEDGER_ASSIGN(e.time_ms, r.integer("time"));
  return e;
}

Result<ReadEntry> parse_read_entry(std::string_view text) {
  auto o = parse_entry(text, "read");
  if (!o) return o.error();
  EntryReader r(*o, "read");
  ReadEntry e;
  std::int64_t n = 0;
  MEDLEDGER_ASSIGN(n, r.integer("sequence"));
  e.sequence = static_cast<std::uint64_t>(n);
  MEDLEDGER_ASSIGN(e.tx, r.digest("tx"));
  MEDLEDGER_ASSIGN(e.record, r.str("record"));
  MEDLEDGER_ASSIGN(n, r.integer("version"));
  e.version = static_cast<std::uint64_t>(n);
  MEDLEDGER_ASSIGN(e.patient, r.str("patient"));
  MEDLEDGER_ASSIGN(e.doctor, r.str("doctor"));
  MEDLEDGER_ASSIGN(e.doctor_cert, r.digest("doctor_cert"));
  MEDLEDGER_ASSIGN(e.node_cert, r.digest("node_cert"));
  MEDLEDGER_ASSIGN(e.purpose, r.str("purpose"));
  MEDLEDGER_ASSIGN(e.basis, r.str("basis"));
  MEDLEDGER_ASSIGN(e.time_ms, r.integer("time"));
  return e;
}

Result<PatientKeyEntry> parse_patient_key_entry(std::string_view text) {
  auto o = parse_entry(text, "patient key");
  if (!o) return o.error();
  EntryReader r(*o, "patient key");
  PatientKeyEntry e;
  std::int64_t n = 0;
  MEDLEDGER_ASSIGN(n, r.integer("version"));
  e.version = static_cast<std::uint64_t>(n);
  MEDLEDGER_ASSIGN(e.wrapped_keys, r.objects("wrapped_keys"));
  MEDLEDGER_ASSIGN(e.tx, r.digest("tx"));
  return e;
}

std::string_view as_text(core::ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

json::object certificate_json(const CertificateEntry& e) {
  return json::object{{"der", b64(core::ByteView(e.der))},
                      {"role", e.role},
                      {"id", e.id},
                      {"hospital", e.hospital},
                      {"issuer", b64(e.issuer)},
                      {"not_before", e.not_before},
                      {"not_after", e.not_after},
                      {"status", e.status},
                      {"registered_at", e.registered_at_ms},
                      {"revoked_at", e.revoked_at_ms},
                      {"reason", e.reason}};
}

json::object hospital_json(const HospitalEntry& e) {
  return json::object{{"id", e.id},
                      {"ca_certs", digests_json(e.ca_certs)},
                      {"admitted_at", e.admitted_at_ms},
                      {"admitted_by", b64(e.admitted_by)}};
}

json::object record_json(const RecordEntry& e) {
  return json::object{{"id", e.id},
                      {"owner", e.owner},
                      {"hospital", e.hospital},
                      {"latest", static_cast<std::int64_t>(e.latest)},
                      {"latest_tx", b64(e.latest_tx)}};
}

json::object record_version_json(const RecordVersionEntry& e) {
  json::object o{{"record", e.record},
                 {"version", static_cast<std::int64_t>(e.version)},
                 {"tx", b64(e.tx)},
                 {"content_type", e.content_type},
                 {"envelope_digest", b64(e.envelope_digest)},
                 {"plaintext_digest", b64(e.plaintext_digest)},
                 {"doctor", e.doctor},
                 {"patient", e.patient},
                 {"doctor_cert", b64(e.doctor_cert)},
                 {"patient_cert", b64(e.patient_cert)},
                 {"node_cert", b64(e.node_cert)},
                 {"time", e.time_ms}};
  if (e.previous) o["previous"] = b64(*e.previous);
  if (e.envelope) o["envelope"] = *e.envelope;
  return o;
}

json::object grant_json(const GrantEntry& e) {
  json::object o{{"patient", e.patient},           {"grantee", e.grantee},
                 {"scope", strings_json(e.scope)}, {"status", e.status},
                 {"granted_at", e.granted_at_ms},  {"grant_tx", b64(e.grant_tx)},
                 {"revoked_at", e.revoked_at_ms},  {"wrapped_keys", objects_json(e.wrapped_keys)}};
  if (e.expires_ms) o["expires"] = *e.expires_ms;
  if (e.revoke_tx) o["revoke_tx"] = b64(*e.revoke_tx);
  return o;
}

json::object read_json(const ReadEntry& e) {
  return json::object{{"sequence", static_cast<std::int64_t>(e.sequence)},
                      {"tx", b64(e.tx)},
                      {"record", e.record},
                      {"version", static_cast<std::int64_t>(e.version)},
                      {"patient", e.patient},
                      {"doctor", e.doctor},
                      {"doctor_cert", b64(e.doctor_cert)},
                      {"node_cert", b64(e.node_cert)},
                      {"purpose", e.purpose},
                      {"basis", e.basis},
                      {"time", e.time_ms}};
}

json::object patient_key_json(const PatientKeyEntry& e) {
  return json::object{{"version", static_cast<std::int64_t>(e.version)},
                      {"wrapped_keys", objects_json(e.wrapped_keys)},
                      {"tx", b64(e.tx)}};
}

Result<CertificateEntry> parse_certificate_entry(std::string_view text) {
  auto o = parse_entry(text, "certificate");
  if (!o) return o.error();
  EntryReader r(*o, "certificate");
  CertificateEntry e;
  std::string der;
  MEDLEDGER_ASSIGN(der, r.str("der"));
  auto raw = core::base64url_decode(der);
  if (!raw) return make_error(ErrorCode::kLedgerCorrupt, "state: certificate DER is not base64url");
  e.der = std::move(*raw);
  e.fingerprint = core::sha256(e.der);
  MEDLEDGER_ASSIGN(e.role, r.str("role"));
  MEDLEDGER_ASSIGN(e.id, r.str("id"));
  MEDLEDGER_ASSIGN(e.hospital, r.str("hospital"));
  MEDLEDGER_ASSIGN(e.issuer, r.digest("issuer"));
  MEDLEDGER_ASSIGN(e.not_before, r.integer("not_before"));
  MEDLEDGER_ASSIGN(e.not_after, r.integer("not_after"));
  MEDLEDGER_ASSIGN(e.status, r.str("status"));
  MEDLEDGER_ASSIGN(e.registered_at_ms, r.integer("registered_at"));
  MEDLEDGER_ASSIGN(e.revoked_at_ms, r.integer("revoked_at"));
  MEDLEDGER_ASSIGN(e.reason, r.str("reason"));
  return e;
}

Result<RecordEntry> parse_record_entry(std::string_view text) {
  auto o = parse_entry(text, "record");
  if (!o) return o.error();
  EntryReader r(*o, "record");
  RecordEntry e;
  MEDLEDGER_ASSIGN(e.id, r.str("id"));
  MEDLEDGER_ASSIGN(e.owner, r.str("owner"));
  MEDLEDGER_ASSIGN(e.hospital, r.str("hospital"));
  std::int64_t latest = 0;
  MEDLEDGER_ASSIGN(latest, r.integer("latest"));
  e.latest = static_cast<std::uint64_t>(latest);
  MEDLEDGER_ASSIGN(e.latest_tx, r.digest("latest_tx"));
  return e;
}

Result<GrantEntry> parse_grant_entry(std::string_view text) {
  auto o = parse_entry(text, "grant");
  if (!o) return o.error();
  EntryReader r(*o, "grant");
  GrantEntry e;
  MEDLEDGER_ASSIGN(e.patient, r.str("patient"));
  MEDLEDGER_ASSIGN(e.grantee, r.str("grantee"));
  MEDLEDGER_ASSIGN(e.scope, r.strings("scope"));
  MEDLEDGER_ASSIGN(e.status, r.str("status"));
  MEDLEDGER_ASSIGN(e.granted_at_ms, r.integer("granted_at"));
  MEDLEDGER_ASSIGN(e.grant_tx, r.digest("grant_tx"));
  MEDLEDGER_ASSIGN(e.revoked_at_ms, r.integer("revoked_at"));
  MEDLEDGER_ASSIGN(e.wrapped_keys, r.objects("wrapped_keys"));
  e.expires_ms = r.optional_integer("expires");
  if (o->contains("revoke_tx")) {
    core::Digest d{};
    MEDLEDGER_ASSIGN(d, r.digest("revoke_tx"));
    e.revoke_tx = d;
  }
  return e;
}

}  // namespace records

}  // namespace medledger::ledger

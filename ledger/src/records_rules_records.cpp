// Rules for records and access: record.put (dual verification), access.grant,
// access.revoke, record.read (docs/contract.md section 3).
#include <algorithm>

#include "medledger/core/assert.h"
#include "medledger/core/canonical_json.h"
#include "transaction_types.h"

namespace medledger::ledger::records {

using core::ErrorCode;
using core::make_error;
using core::Result;

namespace {

using Role = ca::Role;

/// The hospital part of a grantee: the id itself, or the part before '/'.
std::string_view grantee_hospital(std::string_view grantee) {
  return grantee.substr(0, grantee.find('/'));
}

/// The signing patient must be the body's patient.
Result<void> require_patient(const ResolvedSigner& patient, const std::string& named) {
  if (patient.principal() != named) {
    return make_error(ErrorCode::kPatientMismatch, "the body names patient " + named + " but " +
                                                       patient.principal() + " signed");
  }
  return core::success();
}

/// The endorsing node must belong to the doctor's hospital.
Result<void> require_node_of(const ResolvedSigner& node, const ResolvedSigner& doctor) {
  if (node.entry->hospital != doctor.entry->hospital) {
    return make_error(ErrorCode::kNodeHospitalMismatch,
                      "node " + node.principal() + " endorses for doctor " + doctor.principal() +
                          " of another hospital");
  }
  return core::success();
}

/// The sealed envelope carried on the ledger must hash to envelope_digest and name
/// the same record, version, patient and content type as the body.
Result<void> check_envelope(const json::object& envelope, const RecordPutBody& put) {
  if (core::sha256(core::to_bytes(core::canonicalize(envelope))) != put.envelope_digest) {
    return make_error(ErrorCode::kRecordDigestMismatch,
                      "the envelope does not hash to \"envelope_digest\"");
  }
  auto field = [&](std::string_view name, const std::string& expected) -> Result<void> {
    auto it = envelope.find(name);
    if (it == envelope.end() || !it->value().is_string() || it->value().as_string() != expected) {
      return make_error(ErrorCode::kRecordDigestMismatch,
                        "the envelope's \"" + std::string(name) + "\" differs from the body");
    }
    return core::success();
  };
  MEDLEDGER_TRY(field("record_id", put.record));
  MEDLEDGER_TRY(field("patient_id", put.patient));
  MEDLEDGER_TRY(field("content_type", put.content_type));
  auto version = envelope.find("version");
  if (version == envelope.end() || !version->value().is_int64() ||
      version->value().as_int64() != static_cast<std::int64_t>(put.version)) {
    return make_error(ErrorCode::kRecordDigestMismatch,
                      "the envelope's \"version\" differs from the body");
  }
  return core::success();
}

/// The record entry after `put`: a new record for version 1, else the next version of
/// the patient's record linking to its latest.
Result<RecordEntry> next_record_entry(const RecordPutBody& put, std::optional<RecordEntry> record,
                                      const ResolvedSigner& patient, const BlockContext& ctx) {
  RecordEntry entry;
  if (put.version == 1) {
    if (record)
      return make_error(ErrorCode::kRecordAlreadyExists,
                        "record " + put.record + " already exists");
    entry.id = put.record;
    entry.owner = put.patient;
    entry.hospital = patient.entry->hospital;
  } else {
    if (!record)
      return make_error(ErrorCode::kRecordNotFound, "record " + put.record + " does not exist");
    entry = std::move(*record);
    if (entry.owner != put.patient) {
      return make_error(ErrorCode::kRecordNotOwner,
                        put.patient + " does not own record " + put.record);
    }
    if (put.version != entry.latest + 1 || *put.previous != entry.latest_tx) {
      return make_error(ErrorCode::kRecordVersionConflict,
                        "record " + put.record + " is at version " + std::to_string(entry.latest) +
                            "; a new version must be " + std::to_string(entry.latest + 1) +
                            " and link to its tx_id");
    }
  }
  entry.latest = put.version;
  entry.latest_tx = ctx.tx_id;
  return entry;
}

/// The version entry of an accepted record.put.
RecordVersionEntry version_entry(const RecordPutBody& put, ChosenSigners signers,
                                 const BlockContext& ctx) {
  RecordVersionEntry version;
  version.record = put.record;
  version.version = put.version;
  version.tx = ctx.tx_id;
  version.previous = put.previous;
  version.content_type = put.content_type;
  version.envelope_digest = put.envelope_digest;
  version.plaintext_digest = put.plaintext_digest;
  version.envelope = put.envelope;
  version.doctor = signers[0]->principal();
  version.patient = signers[1]->principal();
  version.doctor_cert = signers[0]->fingerprint;
  version.patient_cert = signers[1]->fingerprint;
  version.node_cert = signers[2]->fingerprint;
  version.time_ms = ctx.time_ms;
  return version;
}

/// access.grant's "scope": "all" (an empty list) or 1..kMaxGrantScopeRecords distinct ids.
Result<std::vector<std::string>> read_scope(BodyReader& body) {
  MEDLEDGER_TRY_ASSIGN(const json::value* scope, body.value("scope"));
  std::vector<std::string> out;
  if (scope->is_string() && scope->as_string() == kScopeAll) return out;
  if (!scope->is_array() || scope->as_array().empty() ||
      scope->as_array().size() > kMaxGrantScopeRecords) {
    return body.invalid("scope", "must be \"all\" or an array of 1-" +
                                     std::to_string(kMaxGrantScopeRecords) + " record ids");
  }
  for (const auto& id : scope->as_array()) {
    if (!id.is_string() || !is_record_id(id.as_string()))
      return body.invalid("scope", "must list record ids");
    if (std::find(out.begin(), out.end(), id.as_string()) != out.end())
      return body.invalid("scope", "lists a record twice");
    out.emplace_back(id.as_string());
  }
  return out;
}

}  // namespace

Result<RecordPutBody> read_record_put_body(BodyReader& body, const BlockContext&) {
  RecordPutBody put;
  MEDLEDGER_TRY_ASSIGN(put.record, body.text("record", kMaxRecordIdBytes, false));
  MEDLEDGER_TRY_ASSIGN(const std::int64_t version,
                       body.integer("version", 1, core::kMaxJsonInteger));
  put.version = static_cast<std::uint64_t>(version);
  MEDLEDGER_TRY_ASSIGN(put.patient, body.principal("patient"));
  MEDLEDGER_TRY_ASSIGN(put.content_type, body.text("content_type", kMaxContentTypeBytes, true));
  MEDLEDGER_TRY_ASSIGN(put.envelope_digest, body.digest("envelope_digest"));
  MEDLEDGER_TRY_ASSIGN(put.plaintext_digest, body.digest("plaintext_digest"));
  if (body.has("previous")) {
    MEDLEDGER_TRY_ASSIGN(put.previous, body.digest("previous"));
  }
  if (put.version == 1 && put.previous)
    return body.invalid("previous", "must be absent for version 1");
  if (put.version > 1 && !put.previous)
    return body.invalid("previous", "is required after version 1");
  if (body.has("envelope")) {
    MEDLEDGER_TRY_ASSIGN(const json::value* envelope, body.value("envelope"));
    if (!envelope->is_object()) return body.invalid("envelope", "must be an object");
    put.envelope = envelope->as_object();
  }
  MEDLEDGER_TRY(body.finish());
  return put;
}

Result<Plan> check_record_put(const RecordPutBody& put, ChosenSigners signers, const Transaction&,
                              const StateView& state, const BlockContext& ctx) {
  MEDLEDGER_ASSERT(signers.size() == std::size(kDoctorPatientNode));
  const ResolvedSigner& doctor = *signers[0];
  const ResolvedSigner& patient = *signers[1];
  const ResolvedSigner& node = *signers[2];
  MEDLEDGER_TRY(require_patient(patient, put.patient));
  MEDLEDGER_TRY(require_node_of(node, doctor));
  MEDLEDGER_TRY_ASSIGN(auto record, find_record(state, put.record));
  MEDLEDGER_TRY_ASSIGN(const RecordEntry entry,
                       next_record_entry(put, std::move(record), patient, ctx));
  if (put.envelope) MEDLEDGER_TRY(check_envelope(*put.envelope, put));

  Plan plan;
  plan.push_back({kTableRecords, text_key(put.record), core::canonicalize(record_json(entry))});
  plan.push_back({kTableRecordVersions, numbered_key(put.record, put.version),
                  core::canonicalize(record_version_json(version_entry(put, signers, ctx)))});
  if (put.version == 1)
    plan.push_back({kTableRecordsByPatient, pair_key(put.patient, put.record), "{}"});
  return plan;
}

Result<AccessGrantBody> read_access_grant_body(BodyReader& body, const BlockContext& ctx) {
  AccessGrantBody grant;
  MEDLEDGER_TRY_ASSIGN(grant.patient, body.principal("patient"));
  MEDLEDGER_TRY_ASSIGN(grant.grantee, body.grantee("grantee"));
  MEDLEDGER_TRY_ASSIGN(grant.scope, read_scope(body));
  if (body.has("expires")) {
    MEDLEDGER_TRY_ASSIGN(const std::int64_t expires,
                         body.integer("expires", 0, core::kMaxJsonInteger));
    if (expires <= ctx.time_ms) return body.invalid("expires", "must be after the block time");
    grant.expires_ms = expires;
  }
  if (body.has("wrapped_keys")) {
    MEDLEDGER_TRY_ASSIGN(grant.wrapped_keys, body.objects("wrapped_keys", kMaxWrappedKeys));
  }
  MEDLEDGER_TRY(body.finish());
  return grant;
}

Result<Plan> check_access_grant(const AccessGrantBody& body, ChosenSigners signers,
                                const Transaction&, const StateView& state,
                                const BlockContext& ctx) {
  MEDLEDGER_ASSERT(signers.size() == std::size(kPatientNode));
  MEDLEDGER_TRY(require_patient(*signers[0], body.patient));
  const std::string_view hospital = grantee_hospital(body.grantee);
  MEDLEDGER_TRY_ASSIGN(const auto admitted, find_hospital(state, hospital));
  if (!admitted) {
    return make_error(ErrorCode::kHospitalNotAdmitted,
                      "grantee hospital " + std::string(hospital) + " is not admitted");
  }
  for (const auto& id : body.scope) {
    MEDLEDGER_TRY_ASSIGN(const auto record, find_record(state, id));
    if (!record) return make_error(ErrorCode::kRecordNotFound, "record " + id + " does not exist");
    if (record->owner != body.patient) {
      return make_error(ErrorCode::kRecordNotOwner, body.patient + " does not own record " + id);
    }
  }
  GrantEntry grant;
  grant.patient = body.patient;
  grant.grantee = body.grantee;
  grant.scope = body.scope;
  grant.expires_ms = body.expires_ms;
  grant.wrapped_keys = body.wrapped_keys;
  grant.status = "active";
  grant.granted_at_ms = ctx.time_ms;
  grant.grant_tx = ctx.tx_id;
  Plan plan;
  plan.push_back({kTableGrants, pair_key(grant.patient, grant.grantee),
                  core::canonicalize(grant_json(grant))});
  return plan;
}

Result<AccessRevokeBody> read_access_revoke_body(BodyReader& body, const BlockContext&) {
  AccessRevokeBody revoke;
  MEDLEDGER_TRY_ASSIGN(revoke.patient, body.principal("patient"));
  MEDLEDGER_TRY_ASSIGN(revoke.grantee, body.grantee("grantee"));
  if (body.has("patient_key_version")) {
    MEDLEDGER_TRY_ASSIGN(const std::int64_t version,
                         body.integer("patient_key_version", 1, core::kMaxJsonInteger));
    revoke.patient_key_version = static_cast<std::uint64_t>(version);
    if (body.has("wrapped_keys")) {
      MEDLEDGER_TRY_ASSIGN(revoke.wrapped_keys, body.objects("wrapped_keys", kMaxWrappedKeys));
    }
  } else if (body.has("wrapped_keys")) {
    return body.invalid("wrapped_keys", "needs \"patient_key_version\"");
  }
  MEDLEDGER_TRY(body.finish());
  return revoke;
}

Result<Plan> check_access_revoke(const AccessRevokeBody& body, ChosenSigners signers,
                                 const Transaction&, const StateView& state,
                                 const BlockContext& ctx) {
  MEDLEDGER_ASSERT(signers.size() == std::size(kPatientNode));
  MEDLEDGER_TRY(require_patient(*signers[0], body.patient));
  MEDLEDGER_TRY_ASSIGN(auto grant, find_grant(state, body.patient, body.grantee));
  if (!grant || grant->status != "active") {
    return make_error(ErrorCode::kGrantNotFound,
                      "no active grant of " + body.patient + " to " + body.grantee);
  }
  Plan plan;
  if (body.patient_key_version) {
    const PatientKeyEntry rotated{*body.patient_key_version, body.wrapped_keys, ctx.tx_id};
    MEDLEDGER_TRY_ASSIGN(const auto latest, latest_patient_key(state, body.patient));
    const std::uint64_t last = latest ? latest->version : 0;
    if (rotated.version <= last) {
      return make_error(ErrorCode::kPatientKeyVersionStale,
                        "patient key version " + std::to_string(rotated.version) +
                            " is not above " + std::to_string(last));
    }
    plan.push_back({kTablePatientKeys, numbered_key(body.patient, rotated.version),
                    core::canonicalize(patient_key_json(rotated))});
  }
  GrantEntry updated = std::move(*grant);
  updated.status = "revoked";
  updated.revoked_at_ms = ctx.time_ms;
  updated.revoke_tx = ctx.tx_id;
  plan.push_back({kTableGrants, pair_key(body.patient, body.grantee),
                  core::canonicalize(grant_json(updated))});
  return plan;
}

Result<RecordReadBody> read_record_read_body(BodyReader& body, const BlockContext&) {
  RecordReadBody read;
  MEDLEDGER_TRY_ASSIGN(read.record, body.text("record", kMaxRecordIdBytes, false));
  if (body.has("version")) {
    MEDLEDGER_TRY_ASSIGN(const std::int64_t version,
                         body.integer("version", 1, core::kMaxJsonInteger));
    read.version = static_cast<std::uint64_t>(version);
  }
  MEDLEDGER_TRY_ASSIGN(read.purpose, body.text("purpose", kMaxPurposeBytes, true));
  MEDLEDGER_TRY(body.finish());
  return read;
}

Result<Plan> check_record_read(const RecordReadBody& body, ChosenSigners signers,
                               const Transaction&, const StateView& state,
                               const BlockContext& ctx) {
  MEDLEDGER_ASSERT(signers.size() == std::size(kDoctorNode));
  const ResolvedSigner& doctor = *signers[0];
  const ResolvedSigner& node = *signers[1];
  MEDLEDGER_TRY(require_node_of(node, doctor));
  MEDLEDGER_TRY_ASSIGN(const auto record, find_record(state, body.record));
  if (!record)
    return make_error(ErrorCode::kRecordNotFound, "record " + body.record + " does not exist");
  const std::uint64_t read_version = body.version.value_or(record->latest);
  if (read_version > record->latest) {
    return make_error(ErrorCode::kRecordNotFound,
                      "record " + body.record + " has no version " + std::to_string(read_version));
  }
  MEDLEDGER_TRY_ASSIGN(std::string basis,
                       authorise_read(state, *record, doctor.principal(), ctx.time_ms));

  ReadEntry read;
  read.sequence = ctx.sequence;
  read.tx = ctx.tx_id;
  read.record = body.record;
  read.version = read_version;
  read.patient = record->owner;
  read.doctor = doctor.principal();
  read.doctor_cert = doctor.fingerprint;
  read.node_cert = node.fingerprint;
  read.purpose = body.purpose;
  read.basis = std::move(basis);
  read.time_ms = ctx.time_ms;
  const std::string value = core::canonicalize(read_json(read));
  Plan plan;
  plan.push_back({kTableReadsByRecord, numbered_key(read.record, ctx.sequence), value});
  plan.push_back({kTableReadsByPatient, numbered_key(read.patient, ctx.sequence), value});
  return plan;
}

}  // namespace medledger::ledger::records

namespace medledger::ledger {

namespace {

/// True when a grant's scope covers `record` (empty scope = all records).
bool covers(const GrantEntry& grant, std::string_view record) {
  return grant.scope.empty() ||
         std::find(grant.scope.begin(), grant.scope.end(), record) != grant.scope.end();
}

}  // namespace

core::Result<std::string> authorise_read(const StateView& state, const RecordEntry& record,
                                         std::string_view reader, std::int64_t now_ms) {
  const std::size_t slash = reader.find('/');
  MEDLEDGER_ASSERT(slash != std::string_view::npos);  // callers pass a principal
  const std::string_view reader_hospital = reader.substr(0, slash);
  if (reader_hospital == record.hospital) return std::string("own-hospital");
  // The reader's own grant first, then its hospital's.
  bool expired = false;
  bool revoked = false;
  for (const std::string_view grantee : {reader, reader_hospital}) {
    MEDLEDGER_TRY_ASSIGN(auto grant, find_grant(state, record.owner, grantee));
    if (!grant || !covers(*grant, record.id)) continue;
    if (grant->status != "active") {
      revoked = true;
    } else if (grant->expires_ms && *grant->expires_ms <= now_ms) {
      expired = true;
    } else {
      return "grant:" + std::string(grantee);
    }
  }
  if (expired)
    return core::make_error(core::ErrorCode::kGrantExpired,
                            "the grant covering " + record.id + " has expired");
  if (revoked)
    return core::make_error(core::ErrorCode::kGrantRevoked,
                            "the grant covering " + record.id + " was revoked");
  return core::make_error(
      core::ErrorCode::kReadNotAuthorized,
      std::string(reader) + " is not at the owner's hospital and holds no grant for " + record.id);
}

}  // namespace medledger::ledger

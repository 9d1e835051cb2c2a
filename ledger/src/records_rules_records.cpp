// Rules for records and access: record.put (dual verification), access.grant,
// access.revoke, record.read (docs/contract.md section 3).
#include <algorithm>

#include "medledger/core/assert.h"
#include "medledger/core/canonical_json.h"
#include "records_internal.h"

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

/// Resolves the signers and checks exactly `roles` signed, each certificate valid at the block.
Result<std::vector<const ResolvedSigner*>> signed_by(const Transaction& tx, const StateView& state,
                                                     const BlockContext& ctx,
                                                     const std::vector<Role>& roles,
                                                     std::vector<ResolvedSigner>& storage) {
  auto signers = resolve_signers(tx, state);
  if (!signers) return signers.error();
  storage = std::move(*signers);
  auto anchors = load_trust_anchors(state);
  if (!anchors) return anchors.error();
  return require_roles(storage, roles, *anchors, block_seconds(ctx));
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

Result<RecordPutBody> read_put_body(const Transaction& tx) {
  BodyReader body(tx.body, tx.type);
  RecordPutBody put;
  auto record = body.text("record", kMaxRecordIdBytes, false);
  if (!record) return record.error();
  put.record = std::move(*record);
  auto version = body.integer("version", 1, core::kMaxJsonInteger);
  if (!version) return version.error();
  put.version = static_cast<std::uint64_t>(*version);
  auto patient = body.principal("patient");
  if (!patient) return patient.error();
  put.patient = std::move(*patient);
  auto content_type = body.text("content_type", kMaxContentTypeBytes, true);
  if (!content_type) return content_type.error();
  put.content_type = std::move(*content_type);
  auto envelope_digest = body.digest("envelope_digest");
  if (!envelope_digest) return envelope_digest.error();
  put.envelope_digest = *envelope_digest;
  auto plaintext_digest = body.digest("plaintext_digest");
  if (!plaintext_digest) return plaintext_digest.error();
  put.plaintext_digest = *plaintext_digest;
  if (body.has("previous")) {
    auto previous = body.digest("previous");
    if (!previous) return previous.error();
    put.previous = *previous;
  }
  if (put.version == 1 && put.previous)
    return body.invalid("previous", "must be absent for version 1");
  if (put.version > 1 && !put.previous)
    return body.invalid("previous", "is required after version 1");
  if (body.has("envelope")) {
    auto envelope = body.value("envelope");
    if (!envelope) return envelope.error();
    if (!(*envelope)->is_object()) return body.invalid("envelope", "must be an object");
    put.envelope = (*envelope)->as_object();
  }
  MEDLEDGER_TRY(body.finish());
  return put;
}

}  // namespace

Result<Plan> check_record_put(const Transaction& tx, const StateView& state,
                              const BlockContext& ctx) {
  auto put = read_put_body(tx);
  if (!put) return put.error();
  std::vector<ResolvedSigner> storage;
  auto chosen = signed_by(tx, state, ctx, {Role::kDoctor, Role::kPatient, Role::kNode}, storage);
  if (!chosen) return chosen.error();
  const ResolvedSigner& doctor = *(*chosen)[0];
  const ResolvedSigner& patient = *(*chosen)[1];
  const ResolvedSigner& node = *(*chosen)[2];
  MEDLEDGER_TRY(require_patient(patient, put->patient));
  MEDLEDGER_TRY(require_node_of(node, doctor));

  auto record = find_record(state, put->record);
  if (!record) return record.error();
  RecordEntry entry;
  if (put->version == 1) {
    if (*record)
      return make_error(ErrorCode::kRecordAlreadyExists,
                        "record " + put->record + " already exists");
    entry.id = put->record;
    entry.owner = put->patient;
    entry.hospital = patient.entry->hospital;
  } else {
    if (!*record)
      return make_error(ErrorCode::kRecordNotFound, "record " + put->record + " does not exist");
    entry = std::move(**record);
    if (entry.owner != put->patient) {
      return make_error(ErrorCode::kRecordNotOwner,
                        put->patient + " does not own record " + put->record);
    }
    if (put->version != entry.latest + 1 || *put->previous != entry.latest_tx) {
      return make_error(ErrorCode::kRecordVersionConflict,
                        "record " + put->record + " is at version " + std::to_string(entry.latest) +
                            "; a new version must be " + std::to_string(entry.latest + 1) +
                            " and link to its tx_id");
    }
  }
  if (put->envelope) MEDLEDGER_TRY(check_envelope(*put->envelope, *put));
  entry.latest = put->version;
  entry.latest_tx = ctx.tx_id;

  RecordVersionEntry version;
  version.record = put->record;
  version.version = put->version;
  version.tx = ctx.tx_id;
  version.previous = put->previous;
  version.content_type = put->content_type;
  version.envelope_digest = put->envelope_digest;
  version.plaintext_digest = put->plaintext_digest;
  version.envelope = put->envelope;
  version.doctor = doctor.principal();
  version.patient = patient.principal();
  version.doctor_cert = doctor.fingerprint;
  version.patient_cert = patient.fingerprint;
  version.node_cert = node.fingerprint;
  version.time_ms = ctx.time_ms;

  Plan plan;
  plan.push_back({kTableRecords, text_key(put->record), core::canonicalize(record_json(entry))});
  plan.push_back({kTableRecordVersions, numbered_key(put->record, put->version),
                  core::canonicalize(record_version_json(version))});
  if (put->version == 1)
    plan.push_back({kTableRecordsByPatient, pair_key(put->patient, put->record), "{}"});
  return plan;
}

Result<Plan> check_access_grant(const Transaction& tx, const StateView& state,
                                const BlockContext& ctx) {
  BodyReader body(tx.body, tx.type);
  GrantEntry grant;
  auto patient = body.principal("patient");
  if (!patient) return patient.error();
  grant.patient = std::move(*patient);
  auto grantee = body.grantee("grantee");
  if (!grantee) return grantee.error();
  grant.grantee = std::move(*grantee);
  auto scope = body.value("scope");
  if (!scope) return scope.error();
  if ((*scope)->is_string() && (*scope)->as_string() == kScopeAll) {
    // empty scope list = all
  } else if ((*scope)->is_array() && !(*scope)->as_array().empty() &&
             (*scope)->as_array().size() <= kMaxGrantScopeRecords) {
    for (const auto& id : (*scope)->as_array()) {
      if (!id.is_string() || !is_record_id(id.as_string()))
        return body.invalid("scope", "must list record ids");
      if (std::find(grant.scope.begin(), grant.scope.end(), id.as_string()) != grant.scope.end()) {
        return body.invalid("scope", "lists a record twice");
      }
      grant.scope.emplace_back(id.as_string());
    }
  } else {
    return body.invalid("scope", "must be \"all\" or an array of 1-" +
                                     std::to_string(kMaxGrantScopeRecords) + " record ids");
  }
  if (body.has("expires")) {
    auto expires = body.integer("expires", 0, core::kMaxJsonInteger);
    if (!expires) return expires.error();
    if (*expires <= ctx.time_ms) return body.invalid("expires", "must be after the block time");
    grant.expires_ms = *expires;
  }
  if (body.has("wrapped_keys")) {
    auto keys = body.objects("wrapped_keys", kMaxWrappedKeys);
    if (!keys) return keys.error();
    grant.wrapped_keys = std::move(*keys);
  }
  MEDLEDGER_TRY(body.finish());

  std::vector<ResolvedSigner> storage;
  auto chosen = signed_by(tx, state, ctx, {Role::kPatient, Role::kNode}, storage);
  if (!chosen) return chosen.error();
  MEDLEDGER_TRY(require_patient(*(*chosen)[0], grant.patient));

  const std::string_view hospital = grantee_hospital(grant.grantee);
  auto admitted = find_hospital(state, hospital);
  if (!admitted) return admitted.error();
  if (!*admitted) {
    return make_error(ErrorCode::kHospitalNotAdmitted,
                      "grantee hospital " + std::string(hospital) + " is not admitted");
  }
  for (const auto& id : grant.scope) {
    auto record = find_record(state, id);
    if (!record) return record.error();
    if (!*record) return make_error(ErrorCode::kRecordNotFound, "record " + id + " does not exist");
    if ((*record)->owner != grant.patient) {
      return make_error(ErrorCode::kRecordNotOwner, grant.patient + " does not own record " + id);
    }
  }
  grant.status = "active";
  grant.granted_at_ms = ctx.time_ms;
  grant.grant_tx = ctx.tx_id;
  Plan plan;
  plan.push_back({kTableGrants, pair_key(grant.patient, grant.grantee),
                  core::canonicalize(grant_json(grant))});
  return plan;
}

Result<Plan> check_access_revoke(const Transaction& tx, const StateView& state,
                                 const BlockContext& ctx) {
  BodyReader body(tx.body, tx.type);
  auto patient = body.principal("patient");
  if (!patient) return patient.error();
  auto grantee = body.grantee("grantee");
  if (!grantee) return grantee.error();
  std::optional<PatientKeyEntry> rotated;
  if (body.has("patient_key_version")) {
    auto version = body.integer("patient_key_version", 1, core::kMaxJsonInteger);
    if (!version) return version.error();
    rotated = PatientKeyEntry{static_cast<std::uint64_t>(*version), {}, ctx.tx_id};
    if (body.has("wrapped_keys")) {
      auto keys = body.objects("wrapped_keys", kMaxWrappedKeys);
      if (!keys) return keys.error();
      rotated->wrapped_keys = std::move(*keys);
    }
  } else if (body.has("wrapped_keys")) {
    return body.invalid("wrapped_keys", "needs \"patient_key_version\"");
  }
  MEDLEDGER_TRY(body.finish());

  std::vector<ResolvedSigner> storage;
  auto chosen = signed_by(tx, state, ctx, {Role::kPatient, Role::kNode}, storage);
  if (!chosen) return chosen.error();
  MEDLEDGER_TRY(require_patient(*(*chosen)[0], *patient));

  auto grant = find_grant(state, *patient, *grantee);
  if (!grant) return grant.error();
  if (!*grant || (*grant)->status != "active") {
    return make_error(ErrorCode::kGrantNotFound,
                      "no active grant of " + *patient + " to " + *grantee);
  }
  Plan plan;
  if (rotated) {
    auto latest = latest_patient_key(state, *patient);
    if (!latest) return latest.error();
    const std::uint64_t last = *latest ? (*latest)->version : 0;
    if (rotated->version <= last) {
      return make_error(ErrorCode::kPatientKeyVersionStale,
                        "patient key version " + std::to_string(rotated->version) +
                            " is not above " + std::to_string(last));
    }
    plan.push_back({kTablePatientKeys, numbered_key(*patient, rotated->version),
                    core::canonicalize(patient_key_json(*rotated))});
  }
  GrantEntry updated = std::move(**grant);
  updated.status = "revoked";
  updated.revoked_at_ms = ctx.time_ms;
  updated.revoke_tx = ctx.tx_id;
  plan.push_back(
      {kTableGrants, pair_key(*patient, *grantee), core::canonicalize(grant_json(updated))});
  return plan;
}

Result<Plan> check_record_read(const Transaction& tx, const StateView& state,
                               const BlockContext& ctx) {
  BodyReader body(tx.body, tx.type);
  auto record_id = body.text("record", kMaxRecordIdBytes, false);
  if (!record_id) return record_id.error();
  std::optional<std::uint64_t> version;
  if (body.has("version")) {
    auto v = body.integer("version", 1, core::kMaxJsonInteger);
    if (!v) return v.error();
    version = static_cast<std::uint64_t>(*v);
  }
  auto purpose = body.text("purpose", kMaxPurposeBytes, true);
  if (!purpose) return purpose.error();
  MEDLEDGER_TRY(body.finish());

  std::vector<ResolvedSigner> storage;
  auto chosen = signed_by(tx, state, ctx, {Role::kDoctor, Role::kNode}, storage);
  if (!chosen) return chosen.error();
  const ResolvedSigner& doctor = *(*chosen)[0];
  const ResolvedSigner& node = *(*chosen)[1];
  MEDLEDGER_TRY(require_node_of(node, doctor));

  auto record = find_record(state, *record_id);
  if (!record) return record.error();
  if (!*record)
    return make_error(ErrorCode::kRecordNotFound, "record " + *record_id + " does not exist");
  const std::uint64_t read_version = version.value_or((*record)->latest);
  if (read_version > (*record)->latest) {
    return make_error(ErrorCode::kRecordNotFound,
                      "record " + *record_id + " has no version " + std::to_string(read_version));
  }

  MEDLEDGER_TRY_ASSIGN(std::string basis,
                       authorise_read(state, **record, doctor.principal(), ctx.time_ms));

  ReadEntry read;
  read.sequence = ctx.sequence;
  read.tx = ctx.tx_id;
  read.record = *record_id;
  read.version = read_version;
  read.patient = (*record)->owner;
  read.doctor = doctor.principal();
  read.doctor_cert = doctor.fingerprint;
  read.node_cert = node.fingerprint;
  read.purpose = std::move(*purpose);
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

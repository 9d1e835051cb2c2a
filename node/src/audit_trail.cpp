// AuditExport::walk: the trail an archive and the FHIR form are made of -- every
// logged transaction of a query's records, reads and grants, once, with its proof to
// one anchor (the tip read first, signed as a checkpoint by this node).
#include <map>
#include <set>

#include "medledger/core/error.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/records_state.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/audit_export.h"
#include "node_context.h"

namespace medledger::node {

using core::ErrorCode;

namespace {

bool in_range(const AuditQuery& q, std::int64_t time_ms) {
  return (!q.from_ms || time_ms >= *q.from_ms) && (!q.to_ms || time_ms < *q.to_ms);
}

TrailEntry entry_of(TrailKind kind, std::int64_t time_ms = 0) {
  TrailEntry entry;
  entry.kind = kind;
  entry.time_ms = time_ms;
  return entry;
}

bool covers(const ledger::GrantEntry& grant, const std::optional<std::string>& record) {
  if (!record || grant.scope.empty()) return true;
  for (const auto& id : grant.scope)
    if (id == *record) return true;
  return false;
}

// One walk: the anchor's size, the snapshot, what was emitted.
class Walker {
 public:
  Walker(const ledger::Ledger& ledger, const ledger::StateView& state, const AuditQuery& query,
         const TrailWalk& options, const TrailVisitor& visitor, std::uint64_t size)
      : ledger_(ledger),
        state_(state),
        query_(query),
        options_(options),
        visitor_(visitor),
        size_(size) {}

  // Emits the transaction `tx` (if logged under the anchor and not emitted yet).
  core::Result<void> emit(const core::Digest& tx, TrailEntry entry) {
    MEDLEDGER_TRY_ASSIGN(auto sequence, ledger_.find(tx));
    if (!sequence || *sequence >= size_) return core::success();
    return emit_at(*sequence, std::move(entry));
  }

  core::Result<void> emit_at(std::uint64_t sequence, TrailEntry entry) {
    if (!seen_.insert(sequence).second) return core::success();
    MEDLEDGER_TRY_ASSIGN(auto stored, ledger_.transaction(sequence));
    auto decoded = ledger::decode_transaction(
        stored.wire, {ledger::kMaxTransactionBytesCeiling, ledger::kMaxTransactionSignatures});
    if (!decoded) {
      return core::make_error(ErrorCode::kLedgerCorrupt,
                              "logged transaction " + std::to_string(sequence) +
                                  " does not decode: " + decoded.error().message);
    }
    entry.sequence = sequence;
    entry.result = stored.result;
    entry.tx_id = ledger::tx_id(*decoded);
    if (entry.time_ms == 0) entry.time_ms = decoded->time_ms;
    for (const auto& signature : decoded->signatures) {
      MEDLEDGER_TRY_ASSIGN(auto signer, signer_of(signature.cert_fingerprint));
      if (signer) entry.signers.push_back(std::move(*signer));
    }
    if (options_.proofs) {
      MEDLEDGER_TRY_ASSIGN(entry.proof, ledger_.inclusion_proof(sequence, size_));
    }
    entry.wire = std::move(stored.wire);
    return visitor_.on_entry ? visitor_.on_entry(entry) : core::success();
  }

  core::Result<void> anchors() {
    MEDLEDGER_TRY(emit_at(0, entry_of(TrailKind::kGenesis)));
    MEDLEDGER_TRY_ASSIGN(auto hospitals, ledger::list_hospitals(state_));
    for (const auto& hospital : hospitals) {
      if (hospital.admitted_by == core::Digest{}) continue;  // a founding member
      MEDLEDGER_TRY(emit(hospital.admitted_by, entry_of(TrailKind::kAdmit)));
    }
    return core::success();
  }

  core::Result<void> record(const std::string& id) {
    MEDLEDGER_TRY_ASSIGN(auto record, ledger::find_record(state_, id));
    if (!record || (query_.patient && record->owner != *query_.patient)) return core::success();
    owners_.insert(record->owner);
    for (std::uint64_t v = 1; v <= record->latest; ++v) {
      MEDLEDGER_TRY_ASSIGN(auto version, ledger::find_record_version(state_, id, v));
      if (!version || !in_range(query_, version->time_ms)) continue;
      TrailEntry entry = entry_of(TrailKind::kWrite, version->time_ms);
      entry.record = id;
      entry.version = v;
      entry.patient = record->owner;
      entry.actor = version->doctor;
      MEDLEDGER_TRY(emit(version->tx, std::move(entry)));
    }
    MEDLEDGER_TRY_ASSIGN(auto reads, ledger::reads_of_record(state_, id));
    for (const auto& read : reads) {
      if (!in_range(query_, read.time_ms)) continue;
      TrailEntry entry = entry_of(TrailKind::kRead, read.time_ms);
      entry.record = id;
      entry.version = read.version;
      entry.patient = read.patient;
      entry.actor = read.doctor;
      entry.purpose = read.purpose;
      MEDLEDGER_TRY(emit(read.tx, std::move(entry)));
    }
    return core::success();
  }

  // The grants (and their revocations) of every owner seen, or of every patient when
  // the query names neither a patient nor a record.
  core::Result<void> grants() {
    if (!query_.patient && !query_.record) {
      MEDLEDGER_TRY(state_.scan(ledger::kTableGrants, {}, [&](core::ByteView key, core::ByteView) {
        const std::string text = core::to_string(key);
        owners_.insert(text.substr(0, text.find('\0')));
        return true;
      }));
    }
    if (query_.patient) owners_.insert(*query_.patient);
    for (const auto& owner : owners_) {
      MEDLEDGER_TRY_ASSIGN(auto grants, ledger::patient_grants(state_, owner));
      for (const auto& grant : grants) {
        if (!covers(grant, query_.record)) continue;
        if (in_range(query_, grant.granted_at_ms)) {
          MEDLEDGER_TRY(emit(grant.grant_tx,
                             grant_entry(TrailKind::kGrant, grant.granted_at_ms, owner, grant)));
        }
        if (grant.revoke_tx && in_range(query_, grant.revoked_at_ms)) {
          MEDLEDGER_TRY(emit(*grant.revoke_tx,
                             grant_entry(TrailKind::kRevoke, grant.revoked_at_ms, owner, grant)));
        }
      }
    }
    return core::success();
  }

 private:
  static TrailEntry grant_entry(TrailKind kind, std::int64_t time_ms, const std::string& owner,
                                const ledger::GrantEntry& grant) {
    TrailEntry entry = entry_of(kind, time_ms);
    entry.patient = owner;
    entry.actor = owner;
    entry.grantee = grant.grantee;
    return entry;
  }

  core::Result<std::optional<TrailSigner>> signer_of(const core::Digest& fingerprint) {
    auto cached = signers_.find(fingerprint);
    if (cached != signers_.end()) return cached->second;
    MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_certificate(state_, fingerprint));
    std::optional<TrailSigner> signer;
    if (entry) signer = TrailSigner{fingerprint, entry->role, entry->hospital + "/" + entry->id};
    signers_.emplace(fingerprint, signer);
    return signer;
  }

  const ledger::Ledger& ledger_;
  const ledger::StateView& state_;
  const AuditQuery& query_;
  const TrailWalk& options_;
  const TrailVisitor& visitor_;
  const std::uint64_t size_;
  std::set<std::uint64_t> seen_;
  std::set<std::string> owners_;
  std::map<core::Digest, std::optional<TrailSigner>> signers_;
};

}  // namespace

std::string_view trail_kind_name(TrailKind kind) {
  switch (kind) {
    case TrailKind::kGenesis:
      return "genesis";
    case TrailKind::kAdmit:
      return "admit";
    case TrailKind::kWrite:
      return "write";
    case TrailKind::kRead:
      return "read";
    case TrailKind::kGrant:
      return "grant";
    case TrailKind::kRevoke:
      return "revoke";
  }
  return "unknown";
}

std::optional<TrailKind> trail_kind_of(std::string_view type) {
  if (type == ledger::kTxGenesis) return TrailKind::kGenesis;
  if (type == ledger::kTxHospitalAdmit) return TrailKind::kAdmit;
  if (type == ledger::kTxRecordPut) return TrailKind::kWrite;
  if (type == ledger::kTxRecordRead) return TrailKind::kRead;
  if (type == ledger::kTxAccessGrant) return TrailKind::kGrant;
  if (type == ledger::kTxAccessRevoke) return TrailKind::kRevoke;
  return std::nullopt;
}

core::Result<void> check_audit_query(const AuditQuery& query) {
  for (const auto& [name, value] :
       {std::pair{"from", query.from_ms}, std::pair{"to", query.to_ms}}) {
    if (value && (*value < 0 || *value > kMaxAuditTimeMs)) {
      return core::make_error(ErrorCode::kAuditRangeInvalid,
                              std::string("`") + name + "` (" + std::to_string(*value) +
                                  ") is outside 0.." + std::to_string(kMaxAuditTimeMs) +
                                  " (Unix milliseconds, 1970 to 9999)");
    }
  }
  if (query.from_ms && query.to_ms && *query.from_ms >= *query.to_ms) {
    return core::make_error(ErrorCode::kAuditRangeInvalid,
                            "`from` (" + std::to_string(*query.from_ms) +
                                ") must be before `to` (" + std::to_string(*query.to_ms) + ")");
  }
  if (!query.patient && !query.record && !query.from_ms && !query.to_ms) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "an audit export needs a patient, a record or a time range");
  }
  return core::success();
}

core::Result<void> AuditExport::walk(const AuditQuery& query, const TrailWalk& options,
                                     const TrailVisitor& visitor) const {
  MEDLEDGER_TRY(check_audit_query(query));
  const ledger::Ledger& ledger = node_.ledger.ledger();
  MEDLEDGER_TRY_ASSIGN(auto tip, ledger.tip());
  const auto& header = tip.block.header;
  TrailAnchor anchor;
  anchor.height = header.height;
  anchor.checkpoint = ledger::Checkpoint{ledger.origin(), header.log_size, header.merkle_root};
  anchor.signer_fingerprint = core::sha256(node_.signing_cert.to_der());
  if (options.sign_checkpoint) {
    MEDLEDGER_TRY_ASSIGN(anchor.signed_checkpoint,
                         ledger::checkpoint_at(ledger, header, *node_.node_signer));
  }
  MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
  if (visitor.on_anchor) MEDLEDGER_TRY(visitor.on_anchor(anchor));

  Walker walker(ledger, *state, query, options, visitor, header.log_size);
  if (options.anchors) MEDLEDGER_TRY(walker.anchors());
  if (query.record) {
    MEDLEDGER_TRY(walker.record(*query.record));
  } else if (query.patient) {
    MEDLEDGER_TRY_ASSIGN(auto ids, ledger::patient_records(*state, *query.patient));
    for (const auto& id : ids) MEDLEDGER_TRY(walker.record(id));
  } else {
    // Ids first (a scan's visitor must not read the store again).
    std::vector<std::string> ids;
    MEDLEDGER_TRY(state->scan(ledger::kTableRecords, {}, [&](core::ByteView key, core::ByteView) {
      ids.push_back(core::to_string(key));
      return true;
    }));
    for (const auto& id : ids) MEDLEDGER_TRY(walker.record(id));
  }
  MEDLEDGER_TRY(walker.grants());
  return visitor.on_end ? visitor.on_end(*state) : core::success();
}

}  // namespace medledger::node

// Reading the medical-records contract's state: table names, key layout, and
// typed lookups for node/ (read flows, grants, auditor export). docs/contract.md
// section 2 documents the same layout for readers in other languages.
//
// Every value is canonical JSON (restricted schema); keys are built from ids with
// a 0x00 separator (ids never hold 0x00) and big-endian u64 versions/sequences, so
// a prefix scan returns one person's / record's entries in order.
//
//     auto snapshot = StateSnapshot::open(ledger->store());
//     auto grant = find_grant(*snapshot, "hospital-a/patient-42", "hospital-b");
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/contract.h"
#include "medledger/ledger/store.h"

namespace medledger::ledger {

// Table names (contract-owned; see docs/contract.md section 2).
inline constexpr std::string_view kTableConfig = "config";        // "genesis", "policy"
inline constexpr std::string_view kTableHospitals = "hospitals";  // hospital id -> HospitalEntry
inline constexpr std::string_view kTableCaCerts = "cacerts";      // fingerprint -> {hospital, der}
inline constexpr std::string_view kTableCerts = "certs";          // fingerprint -> CertificateEntry
inline constexpr std::string_view kTablePersons =
    "persons";  // principal 0x00 fingerprint -> {role}
inline constexpr std::string_view kTableRecords = "records";  // record id -> RecordEntry
inline constexpr std::string_view kTableRecordVersions =
    "record.versions";  // record id 0x00 u64 version -> RecordVersionEntry
inline constexpr std::string_view kTableRecordsByPatient =
    "records.by-patient";                                   // principal 0x00 record id -> {}
inline constexpr std::string_view kTableGrants = "grants";  // principal 0x00 grantee -> GrantEntry
inline constexpr std::string_view kTablePatientKeys =
    "patient.keys";  // principal 0x00 u64 version -> {wrapped_keys, tx}
inline constexpr std::string_view kTableReadsByRecord =
    "reads.by-record";  // record id 0x00 u64 sequence -> ReadEntry
inline constexpr std::string_view kTableReadsByPatient =
    "reads.by-patient";  // principal 0x00 u64 sequence -> ReadEntry

struct CertificateEntry {
  core::Digest fingerprint{};
  core::Bytes der;
  std::string role;             // "doctor", "patient", "node", "auditor", "admin"
  std::string id;               // CN
  std::string hospital;         // O
  core::Digest issuer{};        // fingerprint of the issuing CA certificate
  std::int64_t not_before = 0;  // unix seconds
  std::int64_t not_after = 0;
  std::string status;  // "valid" | "revoked"
  std::int64_t registered_at_ms = 0;
  std::int64_t revoked_at_ms = 0;  // 0 unless revoked
  std::string reason;              // RFC 5280 reason name, "" unless revoked
};

struct HospitalEntry {
  std::string id;
  std::vector<core::Digest> ca_certs;  // fingerprints (table cacerts holds the DER)
  std::int64_t admitted_at_ms = 0;
  core::Digest admitted_by{};  // tx_id (zero for genesis members)
};

struct RecordEntry {
  std::string id;
  std::string owner;     // patient principal
  std::string hospital;  // owner's hospital
  std::uint64_t latest = 0;
  core::Digest latest_tx{};
};

struct RecordVersionEntry {
  std::string record;
  std::uint64_t version = 0;
  core::Digest tx{};  // tx_id of the record.put
  std::optional<core::Digest> previous;
  std::string content_type;
  core::Digest envelope_digest{};
  core::Digest plaintext_digest{};
  std::optional<boost::json::object> envelope;  // the sealed record, if it went on the ledger
  std::string doctor;                           // principals of the signers
  std::string patient;
  core::Digest doctor_cert{}, patient_cert{}, node_cert{};
  std::int64_t time_ms = 0;  // block time
};

struct GrantEntry {
  std::string patient;
  std::string grantee;             // hospital id or doctor principal
  std::vector<std::string> scope;  // empty = all records
  std::optional<std::int64_t> expires_ms;
  std::string status;  // "active" | "revoked"
  std::int64_t granted_at_ms = 0;
  core::Digest grant_tx{};
  std::int64_t revoked_at_ms = 0;  // 0 unless revoked
  std::optional<core::Digest> revoke_tx;
  std::vector<boost::json::object> wrapped_keys;
};

struct ReadEntry {
  std::uint64_t sequence = 0;  // log position of the record.read
  core::Digest tx{};
  std::string record;
  std::uint64_t version = 0;
  std::string patient;  // owner
  std::string doctor;   // reader principal
  core::Digest doctor_cert{}, node_cert{};
  std::string purpose;
  std::string basis;         // "own-hospital" | "grant:<grantee>"
  std::int64_t time_ms = 0;  // block time
};

/// A read-only StateView over one LMDB snapshot of the ledger's current state.
class StateSnapshot final : public StateView {
 public:
  /// Begins a read transaction. kLedgerStorage on failure. Cost: a reader slot.
  static core::Result<std::unique_ptr<StateSnapshot>> open(Store& store);
  core::Result<std::optional<core::Bytes>> get(std::string_view table,
                                               core::ByteView key) const override;
  core::Result<void> scan(
      std::string_view table, core::ByteView prefix,
      const std::function<bool(core::ByteView, core::ByteView)>& visit) const override;

 private:
  explicit StateSnapshot(ReadTxn txn) : txn_(std::move(txn)) {}
  ReadTxn txn_;
};

// Lookups: nullopt when absent; kLedgerCorrupt when a stored value does not parse.
// Cost: one B-tree lookup (find_*) or one prefix scan (list_*).
core::Result<std::optional<CertificateEntry>> find_certificate(const StateView& state,
                                                               const core::Digest& fingerprint);
core::Result<std::optional<HospitalEntry>> find_hospital(const StateView& state,
                                                         std::string_view hospital_id);
/// Every admitted hospital in id order.
core::Result<std::vector<HospitalEntry>> list_hospitals(const StateView& state);
/// The certificates (fingerprints) a person holds, in fingerprint order.
core::Result<std::vector<core::Digest>> person_certificates(const StateView& state,
                                                            std::string_view principal);
core::Result<std::optional<RecordEntry>> find_record(const StateView& state,
                                                     std::string_view record_id);
core::Result<std::optional<RecordVersionEntry>> find_record_version(const StateView& state,
                                                                    std::string_view record_id,
                                                                    std::uint64_t version);
/// Record ids owned by a patient, in id order.
core::Result<std::vector<std::string>> patient_records(const StateView& state,
                                                       std::string_view patient);
core::Result<std::optional<GrantEntry>> find_grant(const StateView& state, std::string_view patient,
                                                   std::string_view grantee);
/// Every grant a patient gave (active and revoked), in grantee order.
core::Result<std::vector<GrantEntry>> patient_grants(const StateView& state,
                                                     std::string_view patient);
/// The latest patient-key version recorded by access.revoke (0 if none) and its wrapped keys.
struct PatientKeyEntry {
  std::uint64_t version = 0;
  std::vector<boost::json::object> wrapped_keys;
  core::Digest tx{};
};
core::Result<std::optional<PatientKeyEntry>> latest_patient_key(const StateView& state,
                                                                std::string_view patient);
/// Reads of a record / of a patient's records, in log order.
core::Result<std::vector<ReadEntry>> reads_of_record(const StateView& state,
                                                     std::string_view record_id);
core::Result<std::vector<ReadEntry>> reads_of_patient(const StateView& state,
                                                      std::string_view patient);

/// Why `reader` (a principal "<hospital>/<id>") may read `record` at `now_ms`:
/// "own-hospital" or "grant:<grantee>"; otherwise GRANT_EXPIRED, GRANT_REVOKED or
/// READ_NOT_AUTHORIZED (docs/contract.md, `record.read`). A reader of the record's
/// hospital reads as its own; else the owner's grant to `reader`, then to the reader's
/// hospital, counts when its scope covers the record, it is active and `now_ms` is before
/// its expiry. When none counts: GRANT_EXPIRED if a covering grant expired, else
/// GRANT_REVOKED if one was revoked, else READ_NOT_AUTHORIZED. The contract decides
/// `record.read` with it at the block time; a node checks it before decrypting.
/// Cost: up to two grant lookups.
core::Result<std::string> authorise_read(const StateView& state, const RecordEntry& record,
                                         std::string_view reader, std::int64_t now_ms);

// The JSON of a record version and of a read in the auditor's export (node/, docs/node.md
// "Audit export"): the state entry's members, without the record's `record` and
// `envelope`, with `proof` (the transaction's log entry and inclusion proof) placed as the
// export has it.
boost::json::object audit_record_version_json(const RecordVersionEntry& version,
                                              boost::json::object proof);
boost::json::object audit_read_json(const ReadEntry& read, boost::json::object proof);
/// A certificate in the auditor's export: the state entry's members without the DER,
/// with its `fingerprint` first and `chain_file` (the PEM chain's file name) last.
boost::json::object audit_certificate_json(const CertificateEntry& certificate,
                                           std::string_view chain_file);

}  // namespace medledger::ledger

// RecordsContract: the medical-records contract (docs/architecture.md: identities,
// transactions, dual verification, sharing).
// docs/contract.md is its manual: every body, who signs, the state read and
// written, and every rejection code.
//
//     RecordsContract contract;
//     auto ledger = Ledger::create(dir, make_genesis_document(config), contract, proposer, now);
//     Transaction tx{.type = "record.put", .time_ms = now, .nonce = random16,
//                    .body = make_record_put_body({...})};
//     add_signature(tx, doctor_signer, certificate_fingerprint(doctor_cert));
//     add_signature(tx, patient_signer, certificate_fingerprint(patient_cert));
//     add_signature(tx, node_signer, certificate_fingerprint(node_cert));
//
// Who a signer is comes from the certificate its signature names (by SHA-256 of
// the DER): a role certificate registered with cert.register (state table
// "certs") or an admitted hospital CA certificate (table "cacerts"). Every
// signature of a transaction must name a known certificate and verify over
// tx_id; then the type's rules decide whether the right roles signed.
//
// Certificates are checked with ca::validate_chain at the BLOCK time (ctx.time_ms),
// trust anchors = the admitted hospitals' CA certificates in state; revocation is
// read from state (table "certs", status "revoked"), not from CRLs.
//
// Deterministic: depends only on state, the transaction and the BlockContext.
// Stateless between transactions except a one-entry memo of the last validated
// transaction's writes (keyed by tx_id and sequence), so apply() need not verify
// the signatures a second time; a fresh instance gives the same results (verify).
// Process-wide caches (parsed role certificates; successful chain validations per
// certificate, admitted-CA set and role, used only strictly inside the path's
// validity window) hold nothing a miss would decide differently (docs/contract.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/ca/certificate.h"
#include "medledger/core/bytes.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/contract.h"

namespace medledger::ledger {

/// A transaction's "time" must be within this distance of the block time
/// (either side): 5 minutes, clock skew plus ordering delay; older ones are replays.
inline constexpr std::int64_t kTxTimeWindowMs = 5 * 60 * 1000;
/// Longest record id / grantee / purpose etc. (printable ASCII 0x21-0x7e, as docs/encryption.md).
inline constexpr std::size_t kMaxRecordIdBytes = 128;
/// Longest content type (printable ASCII incl. space).
inline constexpr std::size_t kMaxContentTypeBytes = 255;
/// Longest read purpose (printable ASCII incl. space).
inline constexpr std::size_t kMaxPurposeBytes = 256;
/// Most CA certificates one hospital lists (issuing CA + its root, plus a rollover pair).
inline constexpr std::size_t kMaxHospitalCaCerts = 4;
/// Most hospitals in a consortium (bounds the trust-anchor set built per check).
inline constexpr std::size_t kMaxHospitals = 64;
/// Most record ids in a grant's scope list.
inline constexpr std::size_t kMaxGrantScopeRecords = 256;
/// Most wrapped patient keys one grant / revoke carries (one per reading node).
inline constexpr std::size_t kMaxWrappedKeys = 16;
/// Most certificates one person may hold on the ledger at once (renewals).
inline constexpr std::size_t kMaxCertsPerPerson = 16;

/// Scope value meaning "every record of the patient, present and future".
inline constexpr std::string_view kScopeAll = "all";

/// SHA-256 of a certificate's DER: how transactions and state name certificates.
core::Digest certificate_fingerprint(const ca::Certificate& certificate);

/// A person on the ledger: "<hospital id>/<person id>" (both ca::is_valid_identifier,
/// so the '/' is unambiguous). E.g. "hospital-a/patient-42".
std::string principal(std::string_view hospital_id, std::string_view person_id);

// ---- transaction bodies (docs/contract.md section 3 gives the JSON) ----

/// hospital.admit: signed by one of `ca_certs` (the candidate) + quorum of member CAs.
struct HospitalAdmitBody {
  std::string hospital;                   // new hospital id (ca::is_valid_identifier)
  std::vector<std::string> ca_certs_pem;  // 1..kMaxHospitalCaCerts CA certificates, O = hospital
};
boost::json::object make_hospital_admit_body(const HospitalAdmitBody& body);

/// cert.register {"cert":"<b64url DER>"}: signed by the certificate's issuing CA.
boost::json::object make_cert_register_body(const ca::Certificate& certificate);

/// cert.revoke {"cert":"<b64url fingerprint>","reason":"<RFC 5280 name>"}: by issuing CA or
/// subject.
boost::json::object make_cert_revoke_body(const core::Digest& cert_fingerprint,
                                          std::string_view reason);

/// record.put: signed by doctor + patient (the owner) + node.
struct RecordPutBody {
  std::string record;                    // record id, 1..kMaxRecordIdBytes printable ASCII
  std::uint64_t version = 1;             // 1 for a new record, else latest + 1
  std::string patient;                   // owner principal "<hospital>/<id>" = the patient signer
  std::string content_type;              // e.g. "application/fhir+json"
  core::Digest envelope_digest{};        // SHA-256 of the sealed envelope's canonical JSON
  core::Digest plaintext_digest{};       // SHA-256 of the plaintext payload
  std::optional<core::Digest> previous;  // tx_id of version - 1 (absent for version 1)
  std::optional<boost::json::object>
      envelope;  // the sealed record itself (docs/encryption.md), or absent if stored off-ledger
};
boost::json::object make_record_put_body(const RecordPutBody& body);

/// access.grant: signed by the patient + a node.
struct AccessGrantBody {
  std::string patient;             // principal of the granting patient
  std::string grantee;             // "<hospital id>" or a doctor "<hospital>/<id>"
  std::vector<std::string> scope;  // empty = kScopeAll; else record ids owned by the patient
  std::optional<std::int64_t> expires_ms;  // block time at/after which the grant no longer counts
  std::vector<boost::json::object>
      wrapped_keys;  // patient key wrapped for the grantee's nodes (opaque)
};
boost::json::object make_access_grant_body(const AccessGrantBody& body);

/// access.revoke: signed by the patient + a node. A new patient-key version (the
/// rotation, docs/encryption.md) may ride along: its version must exceed the last one.
struct AccessRevokeBody {
  std::string patient;
  std::string grantee;
  std::optional<std::uint64_t> patient_key_version;  // the rotated key's version
  std::vector<boost::json::object> wrapped_keys;  // the rotated key wrapped for remaining readers
};
boost::json::object make_access_revoke_body(const AccessRevokeBody& body);

/// record.read: signed by the reading doctor + a node of the doctor's hospital.
struct RecordReadBody {
  std::string record;
  std::optional<std::uint64_t> version;  // absent = the latest at the block
  std::string purpose;                   // why (audit), 1..kMaxPurposeBytes
};
boost::json::object make_record_read_body(const RecordReadBody& body);

// ---- the contract's chain-validation cache (process-wide; records_cert_cache.cpp) ----

struct ChainCacheStats {
  std::size_t size = 0;      // positive validations held now
  std::uint64_t hits = 0;    // role-certificate checks answered from the cache
  std::uint64_t misses = 0;  // checks that ran ca::validate_chain
};
/// Counters since start (or the last clear). For tests and benchmarks.
ChainCacheStats chain_cache_stats();
/// Empties the chain-validation cache and zeroes its counters.
void clear_chain_cache();

// ---- the contract ----

class RecordsContract final : public Contract {
 public:
  RecordsContract();
  ~RecordsContract() override;
  RecordsContract(const RecordsContract&) = delete;  // the memo is per instance
  RecordsContract& operator=(const RecordsContract&) = delete;

  std::string_view name() const override { return "records"; }
  /// Checks every rule of docs/contract.md; reads only. Errors: the codes listed
  /// there (kContract* block, kCertificate*, kSignatureInvalid, storage errors).
  /// Cost: one signature verification per signature + one chain validation per
  /// role certificate used (a map lookup when cached) + O(hospitals) anchor
  /// lookups + a few B-tree lookups.
  core::Result<void> validate(const Transaction& tx, const StateView& state,
                              const BlockContext& ctx) override;
  /// Writes the state changes of an accepted transaction (memoized from validate
  /// when ctx matches; otherwise validates again). Cost: a few B-tree inserts.
  core::Result<void> apply(const Transaction& tx, StateWriter& state,
                           const BlockContext& ctx) override;
  /// The node key of an admitted hospital: a registered, unrevoked role "node"
  /// certificate of an admitted hospital, within its validity at `at_ms`, whose key has
  /// this fingerprint (docs/consortium.md, "Membership"). Cost: a lookup when seen
  /// before, else a scan of the certificates.
  core::Result<std::optional<core::Bytes>> member_node_key(const StateView& state,
                                                           const core::Digest& spki_fingerprint,
                                                           std::int64_t at_ms) override;

  struct Memo;

 private:
  std::unique_ptr<Memo> memo_;
};

}  // namespace medledger::ledger

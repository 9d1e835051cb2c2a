// node::Records: storing medical records (sealed under the patient's key,
// signed by doctor and patient, endorsed by the node) and reading them (the grant
// checked on current state, decrypted, audited with record.read before the
// plaintext is handed out). Reached as HospitalNode::records(); docs/node.md
// lists each call's errors. Thread-safe (see hospital_node.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/records_state.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/person_session.h"
#include "medledger/node/signing.h"

namespace medledger::node {

struct NodeContext;
class Custody;
class PatientKeyring;

struct RecordPutRequest {
  std::string record_id;
  std::string doctor;   // principal of the author (enrolled at this node for custodial signing)
  std::string patient;  // principal of the owner (enrolled at this node: its patient key is here)
  std::string content_type = "application/fhir+json";
  core::Bytes payload;
};

struct ReadRequest {
  std::string record_id;
  std::optional<std::uint64_t> version;  // default: the latest
  std::string doctor;                    // principal, enrolled at this node
  std::string purpose;
};

struct RecordRead {
  core::Bytes plaintext;
  std::string content_type;
  std::uint64_t version = 0;
  std::string basis;        // "own-hospital" or "grant:<grantee>"
  ledger::Receipt receipt;  // of the record.read audit entry
};

/// A read the node refused before signing anything (not on the ledger): who, what,
/// why. Handed to NodeOptions::on_refused_read.
struct RefusedRead {
  std::string doctor;  // principal
  std::string record;
  std::string purpose;
  core::Error reason;  // GRANT_REVOKED, GRANT_EXPIRED, READ_NOT_AUTHORIZED, ...
};

/// A read whose record.read audit entry is queued. The plaintext is held here and
/// handed out by wait() only once that entry is durably on the ledger (on failure it
/// is wiped, and the refusal is reported as Records::read would). Move-only; must
/// not outlive the node that made it (the refusal is reported through it).
class PendingRead {
 public:
  PendingRead(RecordRead read, PendingCommit audit,
              std::function<void(const core::Error&)> on_failure)
      : read_(std::move(read)), audit_(std::move(audit)), on_failure_(std::move(on_failure)) {}
  /// What Records::read returns: the decrypted record with the audit entry's receipt.
  core::Result<RecordRead> wait();
  /// Instead of wait(): `done` gets what wait() would return, on the orderer's
  /// writer thread once the audit entry is durable (PendingCommit::then: keep it
  /// short, never block).
  void then(std::function<void(core::Result<RecordRead>)> done);

 private:
  RecordRead read_;
  PendingCommit audit_;
  std::function<void(const core::Error&)> on_failure_;
};

class Records {
 public:
  Records(const NodeContext& node, Custody& custody, PatientKeyring& keys, Signing& signing)
      : node_(node), custody_(custody), keys_(keys), signing_(signing) {}
  Records(const Records&) = delete;
  Records& operator=(const Records&) = delete;

  /// Seals the payload under the patient's current key and builds the record.put
  /// (next version, previous linked). kRecordTooLarge, kNotFound (patient key),
  /// kRecordNotOwner (existing record of another patient).
  core::Result<PreparedTransaction> prepare_put(const RecordPutRequest& request);
  /// prepare_put + custodial signatures of doctor and patient (after their
  /// credentials) + endorsement + submit. Returns the receipt after the durable
  /// commit. Cost: a seal, three token signatures, the contract's verifications,
  /// a share of one block commit (concurrent callers share blocks).
  core::Result<ledger::Receipt> put(const RecordPutRequest& request, const PersonCredential& doctor,
                                    const PersonCredential& patient);
  /// put without waiting for the commit: everything up to the queued
  /// transaction happens here (errors as put); wait() on the result gives
  /// the receipt or the contract's rejection. One caller may keep many writes in
  /// flight this way; they share blocks, so each pays a smaller share of one.
  core::Result<PendingCommit> put_async(const RecordPutRequest& request,
                                        const PersonCredential& doctor,
                                        const PersonCredential& patient);
  /// A record.put (from prepare_put, or built by the client) with the doctor's
  /// and the patient's signatures made on their own devices: each verified
  /// (Signing::add_external_signature's codes), then endorsed and queued. The
  /// node endorses only a version it can serve: the envelope must be in the body
  /// (kInvalidArgument), parse (kMalformedEncoding), hash to `envelope_digest` and
  /// name the body's record, version, patient and content type
  /// (kRecordDigestMismatch), and open under a key of the patient this node holds
  /// to the plaintext whose digest is `plaintext_digest` (kDecryptionFailed,
  /// kRecordDigestMismatch); a body member it reads missing or malformed is
  /// kContractBodyInvalid. Nothing is logged on these refusals. Cost: a decryption.
  core::Result<PendingCommit> submit_signed(
      ledger::Transaction tx, std::span<const ledger::TransactionSignature> signatures);
  /// Checks the grant on current state (refusals: on_refused_read + the code),
  /// checks the doctor's credential, decrypts (kDecryptionFailed if tampered),
  /// appends record.read (doctor + node) and returns the plaintext.
  core::Result<RecordRead> read(const ReadRequest& request, const PersonCredential& doctor);
  /// read without waiting for the audit entry's commit: errors before the
  /// entry is queued come here, the rest from PendingRead::wait.
  core::Result<PendingRead> read_async(const ReadRequest& request, const PersonCredential& doctor);
  /// Records owned by a patient (ids and latest version).
  core::Result<std::vector<ledger::RecordEntry>> list(std::string_view patient) const;
  /// Every version of a record, oldest first. kRecordNotFound.
  core::Result<std::vector<ledger::RecordVersionEntry>> history(std::string_view record_id) const;

 private:
  // On one snapshot: the record, the reading rule, the doctor's credential, the
  // envelope decrypted and its digests checked. Refusals are reported.
  core::Result<RecordRead> decrypt(const ReadRequest& request, const PersonCredential& doctor);
  void refuse(const ReadRequest& request, const core::Error& reason) const;
  // submit_signed's envelope checks: the version `body` puts can be read here.
  core::Result<void> check_servable(const boost::json::object& body);

  const NodeContext& node_;
  Custody& custody_;
  PatientKeyring& keys_;
  Signing& signing_;
};

}  // namespace medledger::node

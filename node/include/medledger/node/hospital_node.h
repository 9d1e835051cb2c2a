// HospitalNode: one hospital's node -- composes its token (keys), its CA, the
// shared consortium ledger and the record encryption into the operations users
// ask for: enrol, store a record (dual verification), grant / revoke, read
// (audited), export for auditors, admit another hospital. docs/node.md is the
// manual (data directory, each operation, error codes). No CLI or HTTP types:
// app/ and api/ call these methods.
//
//     auto config = HospitalNode::provision(dir, pool, {.hospital_id = "hospital-a", ...});
//     auto ledger = ConsortiumLedger::create(ledger_dir, founding_genesis(...), signer);
//     auto node = HospitalNode::open(dir, pool, **ledger);
//     (*node)->register_node_certificates();
//     (*node)->enrol({ca::Role::kDoctor, "dr-1", pin});
//     (*node)->put_record({...}, doctor_pin, patient_pin);
//
// Threading: every public method may be called from any number of threads at
// once (the HTTPS server's workers). What is shared is guarded narrowly: the PIN
// store (one PIN check at a time per node, and flock across processes), the
// person directory's add, the patient-key files' appends, the CA directory
// (issue, revoke, CRL number), the session table and the custodial-signer cache
// each have their own mutex; token signing goes through the thread-safe
// hsm::SessionPool; ledger reads are LMDB snapshots; submissions from concurrent
// callers are batched by the solo orderer into shared blocks (one fsync for all).
// No lock is held across a token call, a scrypt (except inside the PIN store) or
// a commit wait. Conflicts the node does not serialise are the contract's to
// refuse: two concurrent puts of the same record id (one gets
// RECORD_VERSION_CONFLICT), two concurrent revocations of one patient's grants
// (PATIENT_KEY_VERSION_STALE). NodeOptions::on_refused_read must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/ca/authority.h"
#include "medledger/ca/certificate.h"
#include "medledger/ca/profile.h"
#include "medledger/ca/store.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/hsm/key_agreement.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/node_config.h"
#include "medledger/node/patient_key_cache.h"
#include "medledger/node/person_directory.h"
#include "medledger/node/person_session.h"
#include "medledger/node/pin_store.h"
#include "medledger/node/record_envelope.h"

namespace medledger::node {

/// A read the node refused before signing anything (not on the ledger): who, what,
/// why. Handed to NodeOptions::on_refused_read.
struct RefusedRead {
  std::string doctor;  // principal
  std::string record;
  std::string purpose;
  core::Error reason;  // GRANT_REVOKED, GRANT_EXPIRED, READ_NOT_AUTHORIZED, ...
};

struct NodeOptions {
  PinPolicy pin_policy;
  ScryptParams scrypt;  // tests lower the cost; production keeps the default
  /// Called for every refused read; default: one plain-text spdlog line (docs/node.md).
  /// Thread-safe, short, never blocking and never submitting to the ledger: a read
  /// whose audit entry fails is reported from the ledger's writer thread
  /// (PendingRead::then).
  std::function<void(const RefusedRead&)> on_refused_read;
};

/// What provision() is told.
struct NodeSetup {
  std::string hospital_id;
  std::string node_id = std::string(kDefaultNodeId);
  std::filesystem::path ca_dir;      // an initialised ca::CaDirectory whose key is in this token
  std::filesystem::path ledger_dir;  // the consortium ledger (may not exist yet)
  PersonKeyStorage person_keys = PersonKeyStorage::kToken;
  std::string kek_id_hex;  // with kWrapped: the KEK (hsm::create_kek)
  std::size_t max_payload = kDefaultMaxRecordPayload;
};

struct EnrolRequest {
  ca::Role role = ca::Role::kDoctor;  // doctor, patient or auditor
  std::string id;                     // pseudonymous id (ca::is_valid_identifier)
  core::SecretBytes pin;              // kMinPinBytes..kMaxPinBytes
  /// Set: the person keeps their own key (a device) and signs externally; the
  /// node certifies this public key (DER SPKI) and generates none.
  std::optional<core::Bytes> external_public_key;
};

struct Enrolment {
  std::string principal;
  ca::Certificate certificate;
  core::Digest fingerprint{};
  ledger::Receipt receipt;  // of the cert.register
};

struct RecordPutRequest {
  std::string record_id;
  std::string doctor;   // principal of the author (enrolled at this node for custodial signing)
  std::string patient;  // principal of the owner (enrolled at this node: its patient key is here)
  std::string content_type = "application/fhir+json";
  core::Bytes payload;
};

/// A record.put built and sealed, not yet signed: give `tx_id` to external signers.
struct PreparedTransaction {
  ledger::Transaction tx;
  core::Digest tx_id{};
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

/// A read whose record.read audit entry is queued. The plaintext is held here and
/// handed out by wait() only once that entry is durably on the ledger (on failure it
/// is wiped, and the refusal is reported as read_record would). Move-only; must
/// not outlive the node that made it (the refusal is reported through it).
class PendingRead {
 public:
  PendingRead(RecordRead read, PendingCommit audit,
              std::function<void(const core::Error&)> on_failure)
      : read_(std::move(read)), audit_(std::move(audit)), on_failure_(std::move(on_failure)) {}
  /// What read_record returns: the decrypted record with the audit entry's receipt.
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

struct GrantRequest {
  std::string patient;             // principal, enrolled at this node
  std::string grantee;             // hospital id or doctor principal
  std::vector<std::string> scope;  // empty = all records
  std::optional<std::int64_t> expires_ms;
};

struct AuditQuery {
  std::optional<std::string> patient;   // one patient's records and reads
  std::optional<std::int64_t> from_ms;  // time range (block time), inclusive
  std::optional<std::int64_t> to_ms;    // exclusive
};

/// A certificate issued from a CSR by issue_certificate.
struct IssuedCertificate {
  std::string principal;  // "<hospital>/<id>"
  ca::Certificate certificate;
  std::string certificate_pem;
  core::Digest fingerprint{};  // SHA-256 of the DER, as transactions name it
  ledger::Receipt receipt;     // of the cert.register
};

/// A person's signature over a digest (sign_digest_as).
struct DigestSignature {
  core::Bytes
      signature;  // as core::Signer::sign_digest: X9.62 DER (P-256) or 64 raw bytes (Ed25519)
  core::KeyAlgorithm algorithm = core::KeyAlgorithm::kEcdsaP256;
  core::Digest cert_fingerprint{};  // the person's certificate, which verifies it
};

/// The auditor's bundle: JSON plus PEM files (name -> content), docs/node.md.
struct AuditBundle {
  boost::json::object bundle;
  std::vector<std::pair<std::string, std::string>> pem_files;
};

/// The genesis of a new consortium founded by `founder` (its CA chain; its node
/// signing key and `extra_proposers` as proposers). Pure.
ledger::GenesisConfig founding_genesis(std::string consortium, const std::string& hospital_id,
                                       const std::vector<ca::Certificate>& ca_chain,
                                       const core::Signer& node_signer,
                                       const std::vector<const core::Signer*>& extra_proposers,
                                       std::int64_t admit_quorum = 1);

class HospitalNode {
 public:
  /// Creates or completes the data directory: node signing and encryption key
  /// pairs in the token (reused if present), their certificates (role node) from
  /// the CA in `setup.ca_dir`, node.json. Idempotent. Errors: CA (kCaNotInitialized,
  /// CA key missing: kKeyNotFound), token, kIoError. Cost: up to two key
  /// generations and two certificate signatures in the token.
  static core::Result<NodeConfig> provision(const std::filesystem::path& data_dir,
                                            const std::shared_ptr<hsm::SessionPool>& pool,
                                            const NodeSetup& setup);

  /// The node signing key's signer (the proposer a ConsortiumLedger needs).
  /// kKeyNotFound if the key is not in this token.
  static core::Result<std::unique_ptr<hsm::TokenSigner>> signing_key(
      const NodeConfig& config, const std::shared_ptr<hsm::SessionPool>& pool);

  /// Opens a provisioned data directory on `ledger`. kNotFound if not provisioned;
  /// token / CA errors. Cost: a few token attribute reads.
  static core::Result<std::unique_ptr<HospitalNode>> open(const std::filesystem::path& data_dir,
                                                          std::shared_ptr<hsm::SessionPool> pool,
                                                          ConsortiumLedger& ledger,
                                                          NodeOptions options = {});
  ~HospitalNode();
  HospitalNode(const HospitalNode&) = delete;
  HospitalNode& operator=(const HospitalNode&) = delete;

  // ---- consortium ----

  /// cert.register of the node's two certificates (skipping any on the ledger
  /// already). kHospitalNotAdmitted if this hospital is not admitted yet.
  core::Result<void> register_node_certificates();
  /// A hospital.admit for this hospital signed by its CA (the candidate), to be
  /// countersigned by members within the 5-minute window. Cost: one signature.
  core::Result<PreparedTransaction> admission_request();
  /// Adds this (member) hospital's CA signature to `request` and submits it.
  /// Rejections as docs/contract.md (ADMIT_QUORUM_NOT_MET, ...).
  core::Result<ledger::Receipt> countersign_admission(ledger::Transaction request);

  // ---- persons ----

  /// Key in the token (or wrapped), certificate from the CA, cert.register on the
  /// ledger, PIN verifier stored here; a patient also gets a patient key.
  /// kInvalidArgument (id, role, PIN), kAlreadyExists, ledger rejection codes.
  /// Cost: a key generation, a certificate and a ledger signature, one scrypt, a commit.
  core::Result<Enrolment> enrol(const EnrolRequest& request);
  /// The person enrolled here. kNotFound otherwise.
  core::Result<PersonEntry> person(std::string_view principal) const;
  /// Verifies the person's PIN once (scrypt, lockout rules as for any PIN check)
  /// and opens a session: a random 256-bit token (base64url) that stands for the
  /// PIN for `ttl` (at most kMaxSessionTtl) and `signatures` (at most
  /// kMaxSessionSignatures) custodial signatures. Only SHA-256(token) is kept, in memory.
  /// kNotFound, kInvalidArgument (ttl; a person who keeps their own key), PIN codes,
  /// kSessionExhausted (kMaxOpenSessions live). Cost: one scrypt.
  core::Result<PersonSession> open_session(std::string_view principal, const core::SecretBytes& pin,
                                           std::chrono::seconds ttl = kDefaultSessionTtl,
                                           std::uint32_t signatures = kMaxSessionSignatures);
  /// Ends a session now. kPersonSessionInvalid if unknown, closed or expired.
  core::Result<void> close_session(const core::SecretBytes& token);

  /// Checks the credential (a PIN: scrypt + lockout; a session token: its
  /// person, expiry and budget -- one signature spent), then signs tx_id with the
  /// person's custodial key. kNotFound, kPersonPinIncorrect, kPersonLocked,
  /// kPersonSessionInvalid, token errors. Cost: a scrypt (PIN) or a hash (session)
  /// + one token signature.
  core::Result<void> sign_as(ledger::Transaction& tx, std::string_view principal,
                             const PersonCredential& credential);
  /// The same with a PIN.
  core::Result<void> sign_as(ledger::Transaction& tx, std::string_view principal,
                             const core::SecretBytes& pin);
  /// The person's signature over a 32-byte digest with their custodial key, after
  /// the credential ("nodes request signatures": the caller signs its own bytes).
  /// Errors as sign_as. Cost: as sign_as.
  core::Result<DigestSignature> sign_digest_as(std::string_view principal,
                                               const PersonCredential& credential,
                                               const core::Digest& digest);
  core::Result<DigestSignature> sign_digest_as(std::string_view principal,
                                               const core::SecretBytes& pin,
                                               const core::Digest& digest);
  /// Revokes the person's certificate: their PIN record is locked first (no
  /// custodial signature from then on, whatever follows), then cert.revoke signed
  /// by the hospital CA, then the revocation in the CA directory (for crl_pem).
  /// `reason` is an RFC 5280 name (ca::parse_revocation_reason) other than
  /// removeFromCRL. kNotFound (not enrolled here), kInvalidArgument (reason),
  /// kCertAlreadyRevoked (on the ledger already: the PIN and CA directory are still
  /// brought in line), ledger codes. Cost: a PIN file write, a token signature, a commit.
  core::Result<ledger::Receipt> revoke_person(std::string_view principal, std::string_view reason);
  /// Revokes a certificate this hospital's CA issued, named by its fingerprint (as
  /// issue_certificate and enrol return it): one issued from a CSR (an admin's,
  /// an auditor's), or an enrolled person's (then as revoke_person). cert.revoke
  /// signed by the hospital CA, then the CA directory (for crl_pem). kNotFound
  /// (not on the ledger), kRevokeNotAuthorized (another hospital's),
  /// kInvalidArgument (reason; this node's own certificates), kCertAlreadyRevoked,
  /// ledger codes. Cost: a token signature and a commit.
  core::Result<ledger::Receipt> revoke_certificate(const core::Digest& fingerprint,
                                                   std::string_view reason);
  /// Issues a certificate for a PKCS#10 CSR (PEM or DER) with the hospital CA and
  /// registers it on the ledger (cert.register, which the contract accepts for
  /// doctor, patient, auditor and admin certificates). The key stays with its
  /// owner: nobody is enrolled here (no PIN, no custodial key); the owner signs
  /// externally. kInvalidArgument (role node -- node certificates come from
  /// provision -- or a bad / reserved id), kCsrInvalid, kCsrSignatureInvalid,
  /// kProfileViolation, ledger codes (PERSON_CERT_LIMIT, ...). Cost: a CSR check,
  /// two token signatures (certificate, transaction), a commit.
  core::Result<IssuedCertificate> issue_certificate(std::string_view csr_pem, ca::Role role,
                                                    std::string_view id);
  /// Adds a signature made elsewhere (the person's own device) after checking it
  /// verifies over tx_id under the certificate it names, registered on the ledger:
  /// kCertNotOnLedger, kSignatureInvalid, kUnsupportedAlgorithm.
  core::Result<void> add_external_signature(ledger::Transaction& tx,
                                            const ledger::TransactionSignature& signature);
  /// Node endorsement, then submit; the receipt if accepted, else the rejection
  /// code as the error (the transaction is logged with it).
  core::Result<ledger::Receipt> endorse_and_submit(ledger::Transaction tx);
  /// The same without waiting for the commit: endorses, queues and returns the
  /// pending commit (PendingCommit::wait gives the receipt or the rejection).
  core::Result<PendingCommit> endorse_and_submit_async(ledger::Transaction tx);

  // ---- records ----

  /// Seals the payload under the patient's current key and builds the record.put
  /// (next version, previous linked). kRecordTooLarge, kNotFound (patient key),
  /// kRecordNotOwner (existing record of another patient).
  core::Result<PreparedTransaction> prepare_record_put(const RecordPutRequest& request);
  /// prepare + custodial signatures of doctor and patient (after their
  /// credentials) + endorsement + submit. Returns the receipt after the durable
  /// commit. Cost: a seal, three token signatures, the contract's verifications,
  /// a share of one block commit (concurrent callers share blocks).
  core::Result<ledger::Receipt> put_record(const RecordPutRequest& request,
                                           const PersonCredential& doctor,
                                           const PersonCredential& patient);
  core::Result<ledger::Receipt> put_record(const RecordPutRequest& request,
                                           const core::SecretBytes& doctor_pin,
                                           const core::SecretBytes& patient_pin);
  /// put_record without waiting for the commit: everything up to the queued
  /// transaction happens here (errors as put_record); wait() on the result gives
  /// the receipt or the contract's rejection. One caller may keep many writes in
  /// flight this way; they share blocks, so each pays a smaller share of one.
  core::Result<PendingCommit> put_record_async(const RecordPutRequest& request,
                                               const PersonCredential& doctor,
                                               const PersonCredential& patient);
  /// Checks the grant on current state (refusals: on_refused_read + the code),
  /// checks the doctor's credential, decrypts (kDecryptionFailed if tampered),
  /// appends record.read (doctor + node) and returns the plaintext.
  core::Result<RecordRead> read_record(const ReadRequest& request, const PersonCredential& doctor);
  core::Result<RecordRead> read_record(const ReadRequest& request,
                                       const core::SecretBytes& doctor_pin);
  /// read_record without waiting for the audit entry's commit: errors before the
  /// entry is queued come here, the rest from PendingRead::wait.
  core::Result<PendingRead> read_record_async(const ReadRequest& request,
                                              const PersonCredential& doctor);
  /// Records owned by a patient (ids and latest version).
  core::Result<std::vector<ledger::RecordEntry>> list_records(std::string_view patient) const;
  /// Every version of a record, oldest first. kRecordNotFound.
  core::Result<std::vector<ledger::RecordVersionEntry>> record_history(
      std::string_view record_id) const;

  // ---- sharing ----

  /// access.grant signed by the patient (after the PIN) + node, carrying the
  /// patient key wrapped for every node encryption key of the grantee's hospital
  /// registered on the ledger (kNotFound if it has none).
  core::Result<ledger::Receipt> grant_access(const GrantRequest& request,
                                             const PersonCredential& patient);
  core::Result<ledger::Receipt> grant_access(const GrantRequest& request,
                                             const core::SecretBytes& patient_pin);
  /// grant_access up to the queued transaction: errors before it is queued come
  /// here, the commit's outcome from PendingCommit::wait / then.
  core::Result<PendingCommit> grant_access_async(const GrantRequest& request,
                                                 const PersonCredential& patient);
  /// access.revoke signed by the patient + node; rotates the patient key (new
  /// version wrapped for this hospital's nodes and the remaining grantees).
  core::Result<ledger::Receipt> revoke_access(std::string_view patient, std::string_view grantee,
                                              const PersonCredential& credential);
  core::Result<ledger::Receipt> revoke_access(std::string_view patient, std::string_view grantee,
                                              const core::SecretBytes& patient_pin);

  // ---- audit ----

  /// Records' metadata, every read, the certificates involved with chains and
  /// status, inclusion proofs to the current tip. kInvalidArgument without a
  /// patient or a range. Cost: prefix scans + O(log n) reads per proof.
  core::Result<AuditBundle> export_audit(const AuditQuery& query) const;

  // ---- CA ----

  /// The CRL (PEM) signed by the hospital CA, listing every certificate it issued
  /// that is revoked on the ledger (cert.revoke by the CA or the subject, from any
  /// node) or in its CA directory. The last CRL is returned again (same number)
  /// while it lists the same revocations and is in the first half of its validity;
  /// otherwise a new one takes the next CRL number. kIoError (CA index), token
  /// errors. Cost: a scan of the ledger's certs table; when re-issued, one token
  /// signature and one CA index write.
  core::Result<std::string> crl_pem();

  /// Counters of the in-memory patient-key cache (patient_key_cache.h). For tests and benchmarks.
  PatientKeyCacheStats patient_key_cache_stats() const { return patient_key_cache_.stats(); }

  const NodeConfig& config() const { return config_; }
  std::string node_principal() const;
  ConsortiumLedger& consortium() { return ledger_; }
  const ca::Certificate& signing_certificate() const { return signing_cert_; }
  const ca::Certificate& encryption_certificate() const { return encryption_cert_; }

 private:
  struct Keys;
  HospitalNode(std::filesystem::path dir, NodeConfig config, std::shared_ptr<hsm::SessionPool> pool,
               ConsortiumLedger& ledger, NodeOptions options, ca::Certificate signing_cert,
               ca::Certificate encryption_cert);
  std::int64_t now_ms() const;
  ledger::Transaction new_transaction(std::string_view type, boost::json::object body) const;
  core::Result<ledger::Receipt> submit_ca_signed(ledger::Transaction tx, std::string_view what);
  // An enrolled person's PIN locked and sessions closed, then revoke_issued.
  core::Result<ledger::Receipt> revoke_enrolled(const PersonEntry& person,
                                                const ca::Certificate& cert,
                                                ca::RevocationReason reason);
  // cert.revoke of `cert` (CA-signed), then its serial in the CA directory.
  core::Result<ledger::Receipt> revoke_issued(const ca::Certificate& cert,
                                              ca::RevocationReason reason,
                                              const std::string& principal);
  /// A person's custodial signer and certificate fingerprint, cached per principal.
  struct CustodialKey {
    std::shared_ptr<core::Signer> signer;  // thread-safe: signs through the SessionPool
    core::Digest fingerprint{};
  };
  core::Result<std::shared_ptr<const CustodialKey>> custodial_key(std::string_view principal);
  core::Result<std::shared_ptr<core::Signer>> person_signer(const PersonEntry& person);
  core::Result<void> check_pin(std::string_view principal, const core::SecretBytes& pin);
  core::Result<void> check_credential(std::string_view principal,
                                      const PersonCredential& credential);
  // sign_as / endorse_and_submit_async for a caller holding id = tx_id(tx).
  core::Result<void> sign_as(ledger::Transaction& tx, const core::Digest& id,
                             std::string_view principal, const PersonCredential& credential);
  core::Result<PendingCommit> endorse_and_submit_async(ledger::Transaction tx,
                                                       const core::Digest& id);
  core::Result<PatientKey> current_patient_key(std::string_view patient);
  core::Result<void> store_patient_key(const PatientKey& key);
  core::Result<std::vector<boost::json::object>> wrap_for_hospital(
      const ledger::StateView& state, std::string_view hospital_id,
      const std::vector<const PatientKey*>& keys);
  core::Result<PatientKey> find_reading_key(const ledger::StateView& state,
                                            const ledger::RecordEntry& record,
                                            std::uint64_t key_version, std::string_view basis);
  core::Result<std::string> authorise_read(const ledger::StateView& state,
                                           const ledger::RecordEntry& record,
                                           std::string_view doctor) const;
  void refuse(const ReadRequest& request, const core::Error& reason) const;

  std::filesystem::path dir_;
  NodeConfig config_;
  std::shared_ptr<hsm::SessionPool> pool_;
  ConsortiumLedger& ledger_;
  NodeOptions options_;
  std::unique_ptr<Keys> keys_;
  ca::Certificate signing_cert_;
  ca::Certificate encryption_cert_;
  std::unique_ptr<PinStore> pins_;
  PersonDirectory persons_;
  PersonSessionTable sessions_;
  std::mutex custodial_mutex_;
  std::map<std::string, std::shared_ptr<const CustodialKey>, std::less<>> custodial_keys_;
  // The public key (SPKI) of each registered certificate add_external_signature has
  // seen, by fingerprint: a certificate's DER (hence its key) never changes and a
  // registration is never removed, so no ledger read or X.509 parse per signature.
  std::mutex external_keys_mutex_;
  std::map<core::Digest, core::Bytes> external_keys_;  // at most kMaxCachedCustodialKeys
  std::mutex patient_keys_mutex_;                      // a patient-key file is read-modify-write
  PatientKeyCache patient_key_cache_;  // unwrapped current keys: no token ECDH per seal
  struct EnrolmentUndo;  // what a failed enrol() takes back (hospital_node_persons.cpp)
  std::mutex enrolling_mutex_;
  std::set<std::string, std::less<>>
      enrolling_;        // principals being enrolled now (no double enrolment)
  std::mutex ca_mutex_;  // the CA directory's index is read-modify-write: one issuer at a time
  /// The last CRL crl_pem() issued (guarded by ca_mutex_).
  struct CachedCrl {
    std::string revocations;  // serial:revoked_at:reason; of every entry, in serial order
    std::string pem;
    std::time_t issued_at = 0;
    std::time_t reissue_at = 0;  // half of the validity
  };
  std::optional<CachedCrl> crl_cache_;
};

}  // namespace medledger::node

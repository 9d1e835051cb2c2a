// HospitalNode: one hospital's node -- composes its token (keys), its CA, the
// shared consortium ledger and the record encryption into the operations users
// ask for, one class per concept, each with its own header:
//
//   persons()  Persons       enrol, find, revoke (persons.h)
//   signing()  Signing       sessions, custodial and external signatures, endorsement (signing.h)
//   records()  Records       store (dual verification), read (audited), list, history (records.h)
//   sharing()  Sharing       grants and revocations with key rotation (sharing.h)
//   audit()    AuditExport   the auditor's bundle (audit_export.h)
//   ca()       CaOperations  certificates from CSRs, revocation, CRL, admission (ca_operations.h)
//
// docs/node.md is the manual (data directory, each operation, error codes). No
// CLI or HTTP types: app/ and api/ call these classes.
//
//     auto config = HospitalNode::provision(dir, pool, {.hospital_id = "hospital-a", ...});
//     auto ledger = ConsortiumLedger::create(ledger_dir, founding_genesis(...), signer);
//     auto node = HospitalNode::open(dir, pool, **ledger);
//     (*node)->ca().register_node_certificates();
//     (*node)->persons().enrol({ca::Role::kDoctor, "dr-1", pin});
//     (*node)->records().put({...}, PersonCredential::pin(doctor_pin.clone()),
//                            PersonCredential::pin(patient_pin.clone()));
//
// Threading: every public method of these classes may be called from any number
// of threads at once (the HTTPS server's workers). What is shared is guarded
// narrowly: the PIN store (one PIN check at a time per node, and flock across
// processes), the person directory's add and the principals being enrolled, the
// patient-key files' appends, the CA directory (issue, revoke, CRL number), the
// session table, the custodial-signer cache and the external-key cache each have
// their own mutex; token signing goes through the thread-safe hsm::SessionPool;
// ledger reads are LMDB snapshots; submissions from concurrent callers are
// batched by the solo orderer into shared blocks (one fsync for all). No lock is
// held across a token call, a scrypt (except inside the PIN store) or a commit
// wait. Conflicts the node does not serialise are the contract's to refuse: two
// concurrent puts of the same record id (one gets RECORD_VERSION_CONFLICT), two
// concurrent revocations of one patient's grants (PATIENT_KEY_VERSION_STALE).
// NodeOptions::on_refused_read must be thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "medledger/ca/certificate.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/genesis.h"
#include "medledger/node/audit_export.h"
#include "medledger/node/ca_operations.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/node_config.h"
#include "medledger/node/patient_key_cache.h"
#include "medledger/node/persons.h"
#include "medledger/node/pin_store.h"
#include "medledger/node/records.h"
#include "medledger/node/sharing.h"
#include "medledger/node/signing.h"

namespace medledger::hsm {
class SessionPool;
class TokenSigner;
}  // namespace medledger::hsm

namespace medledger::node {

struct NodeContext;
class Custody;
class HospitalCa;
class PatientKeyring;
class PreparedTransactions;

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

  Persons& persons() { return persons_; }
  Signing& signing() { return signing_; }
  Records& records() { return records_; }
  Sharing& sharing() { return sharing_; }
  const AuditExport& audit() const { return audit_; }
  CaOperations& ca() { return ca_; }

  const NodeConfig& config() const;
  std::string node_principal() const;
  ConsortiumLedger& consortium();
  const ca::Certificate& signing_certificate() const;
  /// Counters of the in-memory patient-key cache (patient_key_cache.h). For tests and benchmarks.
  PatientKeyCacheStats patient_key_cache_stats() const;

 private:
  HospitalNode(std::unique_ptr<NodeContext> context, std::unique_ptr<HospitalCa> ca,
               std::unique_ptr<PinStore> pins);

  // The shared parts first: the concept classes below hold references to them.
  std::unique_ptr<NodeContext> context_;
  std::unique_ptr<HospitalCa> hospital_ca_;
  std::unique_ptr<Custody> custody_;
  std::unique_ptr<PatientKeyring> patient_keys_;
  std::unique_ptr<PreparedTransactions> prepared_;  // grants/revocations awaiting signatures
  Persons persons_;
  Signing signing_;
  Records records_;
  Sharing sharing_;
  AuditExport audit_;
  CaOperations ca_;
};

}  // namespace medledger::node

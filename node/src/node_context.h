// Internal to the HospitalNode sources: what its concept classes (persons,
// signing, records, sharing, audit export, CA operations) share -- the node's
// identity, its token keys, the ledger and the persons enrolled here -- and small
// helpers. Built once by HospitalNode::open; read-only afterwards except through
// members that are thread-safe themselves (the session pool, the ledger, the
// person directory).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/ca/certificate.h"
#include "medledger/core/result.h"
#include "medledger/hsm/key_agreement.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/hsm/wrapped_key.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/hospital_node.h"
#include "medledger/node/node_config.h"
#include "medledger/node/patient_key.h"
#include "medledger/node/person_directory.h"

namespace medledger::node {

struct NodeContext {
  std::filesystem::path dir;
  NodeConfig config;
  std::shared_ptr<hsm::SessionPool> pool;
  ConsortiumLedger& ledger;
  NodeOptions options;
  std::unique_ptr<hsm::TokenSigner> node_signer;
  std::unique_ptr<hsm::TokenKeyAgreement> encryption;
  std::unique_ptr<hsm::WrappedKeyStore> wrapped;  // kWrapped person keys only
  ca::Certificate signing_cert;
  ca::Certificate encryption_cert;
  PersonDirectory persons;

  std::int64_t now_ms() const;
  std::string node_principal() const;
  /// A transaction of `type` with the time now and a fresh random nonce.
  ledger::Transaction new_transaction(std::string_view type, boost::json::object body) const;
  /// Adds the node's endorsement (over `id` = tx_id(tx)) and queues the transaction.
  core::Result<PendingCommit> endorse_and_submit_async(ledger::Transaction tx,
                                                       const core::Digest& id) const;
  /// The person enrolled here as `role` (`what` names it: "a patient"):
  /// kNotFound, kCertificateWrongRole.
  core::Result<PersonEntry> enrolled_as(std::string_view principal, ca::Role role,
                                        std::string_view what) const;
  /// A read-only snapshot of the ledger state.
  core::Result<std::unique_ptr<ledger::StateSnapshot>> snapshot() const;
};

namespace detail {

/// The hospital part of a principal ("hospital-a/dr-1" -> "hospital-a"); a bare
/// hospital id is returned as is.
inline std::string_view hospital_of(std::string_view principal_or_hospital) {
  auto slash = principal_or_hospital.find('/');
  return slash == std::string_view::npos ? principal_or_hospital
                                         : principal_or_hospital.substr(0, slash);
}

/// Token key labels: one namespace per use, so `key list` shows what each key is.
inline std::string node_signing_label(std::string_view node_id) {
  return "medledger-node-sign:" + std::string(node_id);
}
inline std::string node_encryption_label(std::string_view node_id) {
  return "medledger-node-enc:" + std::string(node_id);
}
inline std::string person_key_label(std::string_view principal) {
  return "medledger-person:" + std::string(principal);
}

/// The patient's keys kept by this node (<dir>/patient-keys/<h>.json), each
/// wrapped for this node's encryption key, oldest first; empty if none.
core::Result<std::vector<WrappedPatientKey>> load_patient_key_file(
    const std::filesystem::path& data_dir, std::string_view patient);
/// Appends `wrapped` to that file (atomically). kIoError.
core::Result<void> append_patient_key_file(const std::filesystem::path& data_dir,
                                           const WrappedPatientKey& wrapped);
/// Deletes a patient's key file (a failed enrolment's undo). kIoError; absent is ok.
core::Result<void> remove_patient_key_file(const std::filesystem::path& data_dir,
                                           std::string_view patient);

}  // namespace detail
}  // namespace medledger::node

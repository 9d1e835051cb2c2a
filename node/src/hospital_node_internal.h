// Internal to the HospitalNode sources: the token keys a node holds open, and
// small helpers shared by the operation files.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <filesystem>

#include "medledger/ca/authority.h"
#include "medledger/ca/store.h"
#include "medledger/hsm/key_agreement.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/hsm/wrapped_key.h"
#include "medledger/node/hospital_node.h"
#include "medledger/node/patient_key.h"

namespace medledger::node {

struct HospitalNode::Keys {
  std::unique_ptr<hsm::TokenSigner> node_signer;
  std::unique_ptr<hsm::TokenKeyAgreement> encryption;
  std::unique_ptr<hsm::TokenSigner> ca_signer;  // outlives `authority`
  std::optional<ca::CaDirectory> ca_store;
  std::optional<ca::CertificateAuthority> authority;
  std::unique_ptr<hsm::WrappedKeyStore> wrapped;  // kWrapped person keys only
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

// node::Sharing: a patient's grants and revocations. access.grant carries the
// patient's keys wrapped for the grantee hospital's nodes; access.revoke rotates
// the patient key so later records are sealed under a version the revoked
// grantee never receives. Reached as HospitalNode::sharing(); docs/node.md lists
// each call's errors. Thread-safe (see hospital_node.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/core/result.h"
#include "medledger/ledger/receipt.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/person_session.h"

namespace medledger::node {

struct NodeContext;
class Custody;
class PatientKeyring;

struct GrantRequest {
  std::string patient;             // principal, enrolled at this node
  std::string grantee;             // hospital id or doctor principal
  std::vector<std::string> scope;  // empty = all records
  std::optional<std::int64_t> expires_ms;
};

class Sharing {
 public:
  Sharing(const NodeContext& node, Custody& custody, PatientKeyring& keys)
      : node_(node), custody_(custody), keys_(keys) {}
  Sharing(const Sharing&) = delete;
  Sharing& operator=(const Sharing&) = delete;

  /// access.grant signed by the patient (after the credential) + node, carrying
  /// the patient key wrapped for every node encryption key of the grantee's
  /// hospital registered on the ledger (kNotFound if it has none).
  core::Result<ledger::Receipt> grant(const GrantRequest& request, const PersonCredential& patient);
  /// grant up to the queued transaction: errors before it is queued come
  /// here, the commit's outcome from PendingCommit::wait / then.
  core::Result<PendingCommit> grant_async(const GrantRequest& request,
                                          const PersonCredential& patient);
  /// access.revoke signed by the patient + node; rotates the patient key (new
  /// version wrapped for this hospital's nodes and the remaining grantees).
  /// kGrantNotFound without an active grant. Synchronous: the new key is stored
  /// here only after the commit.
  core::Result<ledger::Receipt> revoke(std::string_view patient, std::string_view grantee,
                                       const PersonCredential& patient_credential);

 private:
  const NodeContext& node_;
  Custody& custody_;
  PatientKeyring& keys_;
};

}  // namespace medledger::node

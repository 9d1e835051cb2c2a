// node::AuditExport: what an auditor checks offline -- the records' metadata,
// every read, the certificates involved (status, chains as PEM files) and an
// RFC 9162 inclusion proof of every transaction to the signed tip block. Reached
// as HospitalNode::audit(); the JSON bundle's format is in docs/node.md, the tar
// archive and the FHIR AuditEvent form in docs/audit.md. Read-only and
// thread-safe (one ledger snapshot per export).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/ca/certificate.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/checkpoint.h"
#include "medledger/ledger/merkle.h"

namespace medledger::ledger {
class StateView;
}

namespace medledger::node {

struct NodeContext;

struct AuditQuery {
  std::optional<std::string> patient;   // one patient's records, reads and grants
  std::optional<std::int64_t> from_ms;  // time range (block time), inclusive
  std::optional<std::int64_t> to_ms;    // exclusive
  std::optional<std::string> record =
      std::nullopt;  // one record (and its owner's grants covering it)
};

/// Latest time a query may name: 9999-12-31T23:59:59.999Z in Unix milliseconds.
inline constexpr std::int64_t kMaxAuditTimeMs = 253402300799999;

/// kAuditRangeInvalid for a time before 1970 or after kMaxAuditTimeMs, or `from`
/// not before `to`; kInvalidArgument with neither a patient, a record nor a range.
core::Result<void> check_audit_query(const AuditQuery& query);

/// What one entry of the trail is.
enum class TrailKind { kGenesis, kAdmit, kWrite, kRead, kGrant, kRevoke };
/// "genesis", "admit", "write", "read", "grant", "revoke".
std::string_view trail_kind_name(TrailKind kind);
/// The kind of a transaction type (genesis, hospital.admit, record.put, record.read,
/// access.grant, access.revoke); nullopt for the others.
std::optional<TrailKind> trail_kind_of(std::string_view transaction_type);

/// A signer of a trail entry, from the ledger's certs table (CA signers of genesis and
/// admissions are not there and are not listed).
struct TrailSigner {
  core::Digest fingerprint{};
  std::string role;       // doctor, patient, node, ...
  std::string principal;  // "<hospital>/<id>"
};

/// One logged transaction of the trail with its inclusion proof to the anchor.
struct TrailEntry {
  TrailKind kind = TrailKind::kWrite;
  std::uint64_t sequence = 0;
  std::uint16_t result = 0;
  std::string wire;                       // the transaction as logged
  std::vector<ledger::MerkleHash> proof;  // empty when walked without proofs
  core::Digest tx_id{};
  std::int64_t time_ms = 0;          // block time (transaction time for genesis)
  std::string record;                // write, read
  std::uint64_t version = 0;         // write, read
  std::string patient;               // write, read (owner), grant, revoke
  std::string actor;                 // doctor (write, read), patient (grant, revoke)
  std::string grantee;               // grant, revoke
  std::string purpose;               // read
  std::vector<TrailSigner> signers;  // in the transaction's signature order
};

/// The statement every proof of a walk leads to: a checkpoint of the tip, signed by
/// this node's key (absent when the walk was asked not to sign).
struct TrailAnchor {
  std::uint64_t height = 0;
  ledger::Checkpoint checkpoint;
  std::optional<ledger::SignedCheckpoint> signed_checkpoint;
  core::Digest signer_fingerprint{};  // this node's signing certificate
};

struct TrailWalk {
  bool proofs = true;           // compute each entry's inclusion proof
  bool sign_checkpoint = true;  // one token signature per walk
  bool anchors = true;          // include genesis and hospital admissions
};

/// What a walk calls: the anchor first, then each entry, then `on_end` with the walk's
/// ledger snapshot (to look up certificates). Any error stops the walk.
struct TrailVisitor {
  std::function<core::Result<void>(const TrailAnchor&)> on_anchor;
  std::function<core::Result<void>(const TrailEntry&)> on_entry;
  std::function<core::Result<void>(const ledger::StateView&)> on_end;
};

/// Receives an export's bytes in order; an error stops the export.
using ByteSink = std::function<core::Result<void>(std::string_view bytes)>;

/// The certificate `fingerprint` (on the ledger) and its issuing hospital's CA
/// certificates, leaf first: the issuing CA, then the others. nullopt when unknown.
core::Result<std::optional<std::vector<ca::Certificate>>> certificate_chain(
    const ledger::StateView& state, const core::Digest& fingerprint);

/// The auditor's bundle: JSON plus PEM files (name -> content), docs/node.md.
struct AuditBundle {
  boost::json::object bundle;
  std::vector<std::pair<std::string, std::string>> pem_files;
};

class AuditExport {
 public:
  explicit AuditExport(const NodeContext& node) : node_(node) {}

  /// Records' metadata, every read, the certificates involved with chains and
  /// status, inclusion proofs to the current tip. kInvalidArgument without a
  /// patient or a range. Cost: prefix scans + O(log n) reads per proof.
  core::Result<AuditBundle> export_bundle(const AuditQuery& query) const;

  /// The trail of `query` (writes, reads, grants and grant revocations in range; with
  /// `walk.anchors` the genesis and every hospital admission) under the tip read first,
  /// each logged transaction once. Errors: check_audit_query's, ledger and token errors.
  /// Cost: prefix scans, one transaction read per entry, O(log n) reads per proof.
  core::Result<void> walk(const AuditQuery& query, const TrailWalk& walk,
                          const TrailVisitor& visitor) const;

  /// The self-verifying tar archive of `query` (docs/audit.md) written to `sink` as it
  /// is made; `crls` are (hospital id, PEM CRL) pairs to include. kExportTooLarge once
  /// more than `max_bytes` would be written (0: no limit); walk's errors. Returns the
  /// number of trail entries.
  core::Result<std::uint64_t> export_archive(
      const AuditQuery& query, const std::vector<std::pair<std::string, std::string>>& crls,
      std::uint64_t max_bytes, const ByteSink& sink) const;

  /// The trail as a FHIR R4 Bundle (type collection) of IHE BALP AuditEvents
  /// (docs/audit.md), JSON written to `sink` entry by entry. kExportTooLarge past
  /// `max_bytes` (0: no limit); walk's errors. Returns the number of events.
  core::Result<std::uint64_t> export_fhir(const AuditQuery& query, std::uint64_t max_bytes,
                                          const ByteSink& sink) const;

 private:
  const NodeContext& node_;
};

}  // namespace medledger::node

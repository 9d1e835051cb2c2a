// The auditor's self-verifying archive (docs/audit.md): made through a HospitalNode
// (which adds its hospital's CRL), checked offline with public keys only.
//
//     write_audit_archive(node, {.patient = "hospital-a/pat-1"}, 0, sink);
//     auto report = verify_audit_archive(tar_bytes);  // kBundleMismatch names the part
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/core/result.h"
#include "medledger/node/audit_export.h"

namespace medledger::node {

class HospitalNode;

/// The directory every member of the archive is under.
inline constexpr std::string_view kAuditArchiveRoot = "audit-bundle/";

/// AuditExport::export_archive with this hospital's current CRL (CaOperations::crl_pem,
/// called here only). Errors: export_archive's, the CRL's (token, kIoError).
core::Result<std::uint64_t> write_audit_archive(HospitalNode& node, const AuditQuery& query,
                                                std::uint64_t max_bytes, const ByteSink& sink);

/// What verify_audit_archive checked.
struct ArchiveReport {
  std::uint64_t entries = 0;  // trail entries whose proofs lead to the checkpoint
  std::uint64_t chains = 0;   // certificate chains (PEM and PKCS#7) to the anchors
  std::uint64_t crls = 0;     // CRLs signed by an anchor
  std::uint64_t checkpoint_size = 0;
  std::string origin;
  std::vector<std::string> revoked;  // "<fingerprint hex> (<hospital> CRL)" for listed leaves
};

/// Checks an archive with nothing but its content: the tar structure, VERIFY.md and
/// verify_proofs.py as this version writes them, every trail entry (canonical JSON, its
/// kind and result name, its inclusion proof to the checkpoint), the checkpoint's
/// signature by the certificate it names and the files derived from it, the anchors
/// (the hospital CA certificates in the proven genesis and admissions), every chain
/// (PEM and PKCS#7, fingerprint = name) to an anchor, every CRL's signature by an
/// anchor. kBundleMismatch naming the first member (and what) that does not match.
/// CPU only.
core::Result<ArchiveReport> verify_audit_archive(std::string_view tar);

/// The text of VERIFY.md and verify_proofs.py as archives carry them.
std::string_view audit_verify_md();
std::string_view audit_verify_script();

}  // namespace medledger::node

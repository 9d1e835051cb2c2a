// AuditExport::export_archive: the self-verifying tar archive (docs/audit.md). Each
// trail entry is its own member, written to the sink as the walk reaches it, so an
// export holds one entry, the set of signer fingerprints and the anchors in memory.
#include <set>

#include "audit_tar.h"
#include "medledger/ca/export.h"
#include "medledger/core/canonical_json.h"
#include "medledger/core/error.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/audit_bundle.h"
#include "medledger/node/hospital_node.h"
#include "node_context.h"

namespace medledger::node {

namespace json = boost::json;

namespace {

std::string member(std::string_view path) {
  return std::string(kAuditArchiveRoot) + std::string(path);
}

std::string trail_name(std::uint64_t sequence) {
  std::string digits = std::to_string(sequence);
  return "trail/" + std::string(20 - digits.size(), '0') + digits + ".json";
}

std::string trail_member_json(const TrailEntry& entry) {
  json::array proof;
  for (const auto& hash : entry.proof) proof.emplace_back(core::base64url_encode(hash));
  return core::canonicalize(json::object{{"inclusion_proof", std::move(proof)},
                                         {"kind", trail_kind_name(entry.kind)},
                                         {"result", static_cast<std::int64_t>(entry.result)},
                                         {"result_name", ledger::result_name(entry.result)},
                                         {"sequence", static_cast<std::int64_t>(entry.sequence)},
                                         {"transaction", entry.wire}}) +
         "\n";
}

}  // namespace

core::Result<std::uint64_t> AuditExport::export_archive(
    const AuditQuery& query, const std::vector<std::pair<std::string, std::string>>& crls,
    std::uint64_t max_bytes, const ByteSink& sink) const {
  MEDLEDGER_TRY(check_audit_query(query));
  detail::TarWriter tar(sink, max_bytes, node_.now_ms() / 1000);
  MEDLEDGER_TRY(tar.add(member("VERIFY.md"), audit_verify_md()));
  MEDLEDGER_TRY(tar.add(member("verify_proofs.py"), audit_verify_script()));
  std::set<core::Digest> signers;
  core::Digest checkpoint_signer{};
  std::string anchors;
  std::uint64_t entries = 0;
  TrailVisitor visitor;
  visitor.on_anchor = [&](const TrailAnchor& anchor) -> core::Result<void> {
    const auto& note = *anchor.signed_checkpoint;
    checkpoint_signer = anchor.signer_fingerprint;
    signers.insert(checkpoint_signer);
    MEDLEDGER_TRY(tar.add(member("checkpoint.txt"), ledger::format_checkpoint(note)));
    MEDLEDGER_TRY(tar.add(member("checkpoint/body.txt"), ledger::checkpoint_body(note.checkpoint)));
    return tar.add(member("checkpoint/signature.der"), core::to_string(note.signature));
  };
  visitor.on_entry = [&](const TrailEntry& entry) -> core::Result<void> {
    ++entries;
    for (const auto& signer : entry.signers) signers.insert(signer.fingerprint);
    if (entry.kind == TrailKind::kGenesis || entry.kind == TrailKind::kAdmit) {
      auto tx = ledger::decode_transaction(
          entry.wire, {ledger::kMaxTransactionBytesCeiling, ledger::kMaxTransactionSignatures});
      if (!tx) return tx.error();
      MEDLEDGER_TRY_ASSIGN(auto pems, detail::anchor_pems(*tx));
      anchors += pems;
    }
    return tar.add(member(trail_name(entry.sequence)), trail_member_json(entry));
  };
  visitor.on_end = [&](const ledger::StateView& state) -> core::Result<void> {
    MEDLEDGER_TRY(tar.add(member("anchors.pem"), anchors));
    for (const auto& fingerprint : signers) {
      MEDLEDGER_TRY_ASSIGN(auto chain, certificate_chain(state, fingerprint));
      if (!chain) continue;
      const std::string name = "chains/" + core::hex_encode(fingerprint);
      MEDLEDGER_TRY_ASSIGN(auto p7b, ca::pkcs7_certs_only_der(*chain));
      const std::string pem = ca::pem_bundle(*chain);
      MEDLEDGER_TRY(tar.add(member(name + ".pem"), pem));
      MEDLEDGER_TRY(tar.add(member(name + ".p7b"), core::to_string(p7b)));
      if (fingerprint == checkpoint_signer)
        MEDLEDGER_TRY(tar.add(member("checkpoint/signer.pem"), pem));
    }
    for (const auto& [hospital, crl] : crls)
      MEDLEDGER_TRY(tar.add(member("crl/" + hospital + ".crl.pem"), crl));
    return core::success();
  };
  MEDLEDGER_TRY(walk(query, TrailWalk{}, visitor));
  MEDLEDGER_TRY(tar.finish());
  return entries;
}

core::Result<std::uint64_t> write_audit_archive(HospitalNode& node, const AuditQuery& query,
                                                std::uint64_t max_bytes, const ByteSink& sink) {
  MEDLEDGER_TRY(check_audit_query(query));
  // The one place an export asks for the CRL: whatever crl_pem() serves (cached or
  // fresh) is what the archive carries.
  MEDLEDGER_TRY_ASSIGN(auto crl, node.ca().crl_pem());
  return node.audit().export_archive(query, {{node.config().hospital_id, std::move(crl)}},
                                     max_bytes, sink);
}

}  // namespace medledger::node

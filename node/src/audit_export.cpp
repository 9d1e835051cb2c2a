// node::AuditExport: the auditor's bundle -- records' metadata, reads,
// certificates with their chains, inclusion proofs to the tip read first.
#include "medledger/node/audit_export.h"

#include <set>
#include <system_error>

#include <boost/json.hpp>

#include "medledger/ca/certificate.h"
#include "medledger/core/error.h"
#include "medledger/ledger/block.h"
#include "medledger/ledger/records_state.h"
#include "node_context.h"

namespace medledger::node {

using core::ErrorCode;
namespace json = boost::json;

namespace {

constexpr std::string_view kAuditFormat = "medledger-audit-v1";

bool in_range(const AuditQuery& q, std::int64_t time_ms) {
  return (!q.from_ms || time_ms >= *q.from_ms) && (!q.to_ms || time_ms < *q.to_ms);
}

// A CA certificate of the cacerts table; nullopt when absent.
core::Result<std::optional<ca::Certificate>> ca_certificate(const ledger::StateView& state,
                                                            const core::Digest& fp) {
  MEDLEDGER_TRY_ASSIGN(auto value,
                       state.get(ledger::kTableCaCerts, core::ByteView(fp.data(), fp.size())));
  if (!value) return std::optional<ca::Certificate>();
  std::error_code ec;
  json::value parsed = json::parse(core::to_string(*value), ec);
  const json::value* der =
      (!ec && parsed.is_object()) ? parsed.as_object().if_contains("der") : nullptr;
  if (der == nullptr || !der->is_string())
    return core::make_error(ErrorCode::kLedgerCorrupt, "a cacerts entry is damaged");
  MEDLEDGER_TRY_ASSIGN(auto bytes, core::base64url_decode(std::string_view(der->as_string())));
  MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_der(bytes));
  return std::optional<ca::Certificate>(std::move(cert));
}

// Collects certificates by fingerprint and writes each one's chain as PEM.
class CertificateCollector {
 public:
  explicit CertificateCollector(const ledger::StateView& state) : state_(state) {}
  void note(const core::Digest& fp) { wanted_.insert(fp); }

  core::Result<void> finish(json::array& out,
                            std::vector<std::pair<std::string, std::string>>& pems) {
    for (const auto& fp : wanted_) {
      MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_certificate(state_, fp));
      if (!entry) continue;
      MEDLEDGER_TRY_ASSIGN(auto chain, chain_pem(*entry));
      std::string file = core::hex_encode(core::ByteView(fp.data(), 16)) + "-chain.pem";
      out.push_back(ledger::audit_certificate_json(*entry, file));
      pems.emplace_back(std::move(file), std::move(chain));
    }
    return core::success();
  }

 private:
  core::Result<std::string> chain_pem(const ledger::CertificateEntry& c) {
    MEDLEDGER_TRY_ASSIGN(auto chain, certificate_chain(state_, c.fingerprint));
    std::string pem;
    if (chain)
      for (const auto& certificate : *chain) pem += certificate.to_pem();
    return pem;
  }

  const ledger::StateView& state_;
  std::set<core::Digest> wanted_;
};

// One export: the tip read first, a snapshot, and what has been collected.
class Export {
 public:
  Export(const ledger::Ledger& ledger, const AuditQuery& query, std::uint64_t size,
         const ledger::StateView& state)
      : ledger_(ledger), query_(query), size_(size), state_(state), certs_(state) {}

  // The versions and reads of one record in range; the record's entry if any.
  core::Result<void> add_record(const std::string& id) {
    MEDLEDGER_TRY_ASSIGN(auto record, ledger::find_record(state_, id));
    if (!record || (query_.patient && record->owner != *query_.patient)) return core::success();
    json::array versions;
    for (std::uint64_t v = 1; v <= record->latest; ++v) {
      MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_record_version(state_, id, v));
      if (!entry || !in_range(query_, entry->time_ms)) continue;
      MEDLEDGER_TRY_ASSIGN(auto proof, proof_of(entry->tx));
      if (!proof) continue;
      for (const auto* fp : {&entry->doctor_cert, &entry->patient_cert, &entry->node_cert})
        certs_.note(*fp);
      versions.push_back(ledger::audit_record_version_json(*entry, std::move(*proof)));
    }
    const std::size_t reads_before = reads_.size();
    MEDLEDGER_TRY_ASSIGN(auto record_reads, ledger::reads_of_record(state_, id));
    for (const auto& r : record_reads) {
      if (!in_range(query_, r.time_ms)) continue;
      MEDLEDGER_TRY_ASSIGN(auto proof, proof_of(r.tx));
      if (!proof) continue;
      certs_.note(r.doctor_cert);
      certs_.note(r.node_cert);
      reads_.push_back(ledger::audit_read_json(r, std::move(*proof)));
    }
    if (versions.empty() && reads_.size() == reads_before) return core::success();
    records_.push_back(json::object{{"record", id},
                                    {"owner", record->owner},
                                    {"hospital", record->hospital},
                                    {"latest", static_cast<std::int64_t>(record->latest)},
                                    {"versions", std::move(versions)}});
    return core::success();
  }

  core::Result<AuditBundle> finish(json::object anchor) {
    AuditBundle out;
    json::array certificates;
    MEDLEDGER_TRY(certs_.finish(certificates, out.pem_files));
    json::object q;
    if (query_.patient) q["patient"] = *query_.patient;
    if (query_.record) q["record"] = *query_.record;
    if (query_.from_ms) q["from"] = *query_.from_ms;
    if (query_.to_ms) q["to"] = *query_.to_ms;
    out.bundle = json::object{
        {"format", std::string(kAuditFormat)}, {"query", std::move(q)},
        {"anchor", std::move(anchor)},         {"records", std::move(records_)},
        {"reads", std::move(reads_)},          {"certificates", std::move(certificates)}};
    return out;
  }

 private:
  // The log entry of a transaction and its inclusion proof in the tree of the
  // tip read first; nullopt for an entry not under that tip (left for the next
  // export: its proof would need a later tree).
  core::Result<std::optional<json::object>> proof_of(const core::Digest& tx) const {
    MEDLEDGER_TRY_ASSIGN(auto sequence, ledger_.find(tx));
    if (!sequence || *sequence >= size_) return std::optional<json::object>();
    MEDLEDGER_TRY_ASSIGN(auto entry, entry_at(*sequence));
    return std::optional<json::object>(std::move(entry));
  }

 public:
  // The log entry at `sequence` (below the anchor's size) with its inclusion proof.
  core::Result<json::object> entry_at(std::uint64_t sequence) const {
    MEDLEDGER_TRY_ASSIGN(auto stored, ledger_.transaction(sequence));
    MEDLEDGER_TRY_ASSIGN(auto path, ledger_.inclusion_proof(sequence, size_));
    json::array hashes;
    for (const auto& h : path) hashes.push_back(json::string(core::base64url_encode(h)));
    return json::object{{"sequence", static_cast<std::int64_t>(sequence)},
                        {"result", static_cast<std::int64_t>(stored.result)},
                        {"result_name", ledger::result_name(stored.result)},
                        {"transaction", stored.wire},
                        {"inclusion_proof", std::move(hashes)}};
  }

 private:
  const ledger::Ledger& ledger_;
  const AuditQuery& query_;
  const std::uint64_t size_;
  const ledger::StateView& state_;
  CertificateCollector certs_;
  json::array records_;
  json::array reads_;
};

}  // namespace

// The leaf, its issuing CA, then the rest of the issuing hospital's CA
// certificates (its root above an intermediate).
core::Result<std::optional<std::vector<ca::Certificate>>> certificate_chain(
    const ledger::StateView& state, const core::Digest& fingerprint) {
  using Chain = std::optional<std::vector<ca::Certificate>>;
  MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_certificate(state, fingerprint));
  if (!entry) return Chain();
  MEDLEDGER_TRY_ASSIGN(auto leaf, ca::Certificate::from_der(entry->der));
  std::vector<ca::Certificate> chain{std::move(leaf)};
  MEDLEDGER_TRY_ASSIGN(auto issuer, ca_certificate(state, entry->issuer));
  if (issuer) chain.push_back(std::move(*issuer));
  MEDLEDGER_TRY_ASSIGN(auto hospital, ledger::find_hospital(state, entry->hospital));
  if (hospital) {
    for (const auto& ca_fp : hospital->ca_certs) {
      if (ca_fp == entry->issuer) continue;
      MEDLEDGER_TRY_ASSIGN(auto more, ca_certificate(state, ca_fp));
      if (more) chain.push_back(std::move(*more));
    }
  }
  return Chain(std::move(chain));
}

core::Result<AuditBundle> AuditExport::export_bundle(const AuditQuery& query) const {
  MEDLEDGER_TRY(check_audit_query(query));
  const ledger::Ledger& ledger = node_.ledger.ledger();
  // Proofs are to the tip read before the snapshot.
  MEDLEDGER_TRY_ASSIGN(auto tip, ledger.tip());
  const auto& header = tip.block.header;
  MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
  std::vector<std::string> record_ids;
  if (query.record) {
    record_ids.push_back(*query.record);
  } else if (query.patient) {
    MEDLEDGER_TRY_ASSIGN(record_ids, ledger::patient_records(*state, *query.patient));
  } else {
    MEDLEDGER_TRY(state->scan(ledger::kTableRecords, {}, [&](core::ByteView key, core::ByteView) {
      record_ids.push_back(core::to_string(key));
      return true;
    }));
  }
  Export out(ledger, query, header.log_size, *state);
  for (const auto& id : record_ids) MEDLEDGER_TRY(out.add_record(id));
  // The genesis transaction, proved under the anchor's root, names the proposer keys
  // (genesis.proposers) one of which signed the anchor's header: an auditor checks
  // that signature with nothing but the bundle.
  MEDLEDGER_TRY_ASSIGN(auto genesis, out.entry_at(0));
  json::array proposers;
  for (const auto& spki : ledger.proposer_keys())
    proposers.push_back(json::string(core::base64url_encode(spki)));
  return out.finish(json::object{{"height", static_cast<std::int64_t>(header.height)},
                                 {"log_size", static_cast<std::int64_t>(header.log_size)},
                                 {"merkle_root", core::base64url_encode(header.merkle_root)},
                                 {"block_header", tip.block.header_json},
                                 {"origin", ledger.origin()},
                                 {"genesis", std::move(genesis)},
                                 {"proposer_keys", std::move(proposers)}});
}

}  // namespace medledger::node

// HospitalNode::export_audit: what an auditor checks offline -- the records'
// metadata, every read, the certificates involved (status, chains as PEM files)
// and an RFC 9162 inclusion proof of every transaction to the signed tip block.
#include <map>
#include <set>
#include <system_error>

#include <boost/json.hpp>

#include "hospital_node_internal.h"
#include "medledger/core/error.h"
#include "medledger/ledger/block.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node {

using core::ErrorCode;
namespace json = boost::json;

namespace {

constexpr std::string_view kAuditFormat = "medledger-audit-v1";

std::string b64(const core::Digest& d) { return core::base64url_encode(d); }

bool in_range(const AuditQuery& q, std::int64_t time_ms) {
  return (!q.from_ms || time_ms >= *q.from_ms) && (!q.to_ms || time_ms < *q.to_ms);
}

// The log entry of a transaction and its inclusion proof in the tree of `size`.
core::Result<json::object> proof_of(const ledger::Ledger& ledger, const core::Digest& tx,
                                    std::uint64_t size) {
  auto sequence = ledger.find(tx);
  if (!sequence) return sequence.error();
  if (!*sequence)
    return core::make_error(ErrorCode::kLedgerCorrupt, "state names a transaction not in the log");
  auto stored = ledger.transaction(**sequence);
  if (!stored) return stored.error();
  auto path = ledger.inclusion_proof(**sequence, size);
  if (!path) return path.error();
  json::array hashes;
  for (const auto& h : *path) hashes.push_back(json::string(b64(h)));
  return json::object{{"sequence", static_cast<std::int64_t>(**sequence)},
                      {"result", static_cast<std::int64_t>(stored->result)},
                      {"result_name", ledger::result_name(stored->result)},
                      {"transaction", stored->wire},
                      {"inclusion_proof", std::move(hashes)}};
}

// Collects certificates by fingerprint and writes each one's chain as PEM.
class CertificateCollector {
 public:
  explicit CertificateCollector(const ledger::StateView& state) : state_(state) {}
  void note(const core::Digest& fp) { wanted_.insert(fp); }

  core::Result<void> finish(json::array& out,
                            std::vector<std::pair<std::string, std::string>>& pems) {
    for (const auto& fp : wanted_) {
      auto entry = ledger::find_certificate(state_, fp);
      if (!entry) return entry.error();
      if (!*entry) continue;
      const auto& c = **entry;
      auto leaf = ca::Certificate::from_der(c.der);
      if (!leaf) return leaf.error();
      std::string chain = leaf->to_pem();
      auto issuer = ca_pem(c.issuer);
      if (!issuer) return issuer.error();
      chain += *issuer;
      // The rest of the issuing hospital's CA certificates (its root above an intermediate).
      auto hospital = ledger::find_hospital(state_, c.hospital);
      if (!hospital) return hospital.error();
      if (*hospital) {
        for (const auto& ca_fp : (*hospital)->ca_certs) {
          if (ca_fp == c.issuer) continue;
          auto more = ca_pem(ca_fp);
          if (!more) return more.error();
          chain += *more;
        }
      }
      std::string file = core::hex_encode(core::ByteView(fp.data(), 16)) + "-chain.pem";
      pems.emplace_back(file, chain);
      json::object o{{"fingerprint", b64(fp)},
                     {"role", c.role},
                     {"id", c.id},
                     {"hospital", c.hospital},
                     {"issuer", b64(c.issuer)},
                     {"not_before", c.not_before},
                     {"not_after", c.not_after},
                     {"status", c.status},
                     {"registered_at", c.registered_at_ms},
                     {"revoked_at", c.revoked_at_ms},
                     {"reason", c.reason},
                     {"chain_file", file}};
      out.push_back(std::move(o));
    }
    return core::success();
  }

 private:
  core::Result<std::string> ca_pem(const core::Digest& fp) {
    auto value = state_.get(ledger::kTableCaCerts, core::ByteView(fp.data(), fp.size()));
    if (!value) return value.error();
    if (!*value) return std::string();
    std::error_code ec;
    json::value parsed = json::parse(core::to_string(**value), ec);
    const json::value* der =
        (!ec && parsed.is_object()) ? parsed.as_object().if_contains("der") : nullptr;
    if (der == nullptr || !der->is_string())
      return core::make_error(ErrorCode::kLedgerCorrupt, "a cacerts entry is damaged");
    auto bytes = core::base64url_decode(std::string_view(der->as_string()));
    if (!bytes) return bytes.error();
    auto cert = ca::Certificate::from_der(*bytes);
    if (!cert) return cert.error();
    return cert->to_pem();
  }

  const ledger::StateView& state_;
  std::set<core::Digest> wanted_;
};

}  // namespace

core::Result<AuditBundle> HospitalNode::export_audit(const AuditQuery& query) const {
  if (!query.patient && !query.from_ms && !query.to_ms) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "an audit export needs a patient or a time range");
  }
  const ledger::Ledger& ledger = ledger_.ledger();
  auto tip = ledger.tip();
  if (!tip) return tip.error();
  const std::uint64_t size = tip->block.header.log_size;
  auto state = ledger::StateSnapshot::open(ledger.store());
  if (!state) return state.error();
  // Proofs are to the tip read before the snapshot: entries newer than the tip
  // are left for the next export (their proof would need a later tree).
  auto before_tip = [&](const core::Digest& tx) -> core::Result<bool> {
    auto sequence = ledger.find(tx);
    if (!sequence) return sequence.error();
    return *sequence && **sequence < size;
  };

  std::vector<std::string> record_ids;
  if (query.patient) {
    auto ids = ledger::patient_records(**state, *query.patient);
    if (!ids) return ids.error();
    record_ids = std::move(*ids);
  } else {
    MEDLEDGER_TRY(
        (*state)->scan(ledger::kTableRecords, {}, [&](core::ByteView key, core::ByteView) {
          record_ids.push_back(core::to_string(key));
          return true;
        }));
  }

  CertificateCollector certs(**state);
  json::array records;
  json::array reads;
  for (const auto& id : record_ids) {
    auto record = ledger::find_record(**state, id);
    if (!record) return record.error();
    if (!*record) continue;
    json::array versions;
    for (std::uint64_t v = 1; v <= (*record)->latest; ++v) {
      auto entry = ledger::find_record_version(**state, id, v);
      if (!entry) return entry.error();
      if (!*entry || !in_range(query, (*entry)->time_ms)) continue;
      auto included = before_tip((*entry)->tx);
      if (!included) return included.error();
      if (!*included) continue;
      const auto& e = **entry;
      auto proof = proof_of(ledger, e.tx, size);
      if (!proof) return proof.error();
      for (const auto* fp : {&e.doctor_cert, &e.patient_cert, &e.node_cert}) certs.note(*fp);
      json::object o{{"version", static_cast<std::int64_t>(e.version)},
                     {"tx", b64(e.tx)},
                     {"time", e.time_ms},
                     {"content_type", e.content_type},
                     {"doctor", e.doctor},
                     {"patient", e.patient},
                     {"doctor_cert", b64(e.doctor_cert)},
                     {"patient_cert", b64(e.patient_cert)},
                     {"node_cert", b64(e.node_cert)},
                     {"envelope_digest", b64(e.envelope_digest)},
                     {"plaintext_digest", b64(e.plaintext_digest)},
                     {"proof", std::move(*proof)}};
      if (e.previous) o["previous"] = b64(*e.previous);
      versions.push_back(std::move(o));
    }
    auto record_reads = ledger::reads_of_record(**state, id);
    if (!record_reads) return record_reads.error();
    const std::size_t reads_before = reads.size();
    for (const auto& r : *record_reads) {
      if (!in_range(query, r.time_ms)) continue;
      auto included = before_tip(r.tx);
      if (!included) return included.error();
      if (!*included) continue;
      auto proof = proof_of(ledger, r.tx, size);
      if (!proof) return proof.error();
      certs.note(r.doctor_cert);
      certs.note(r.node_cert);
      reads.push_back(json::object{{"sequence", static_cast<std::int64_t>(r.sequence)},
                                   {"tx", b64(r.tx)},
                                   {"record", r.record},
                                   {"version", static_cast<std::int64_t>(r.version)},
                                   {"patient", r.patient},
                                   {"doctor", r.doctor},
                                   {"doctor_cert", b64(r.doctor_cert)},
                                   {"node_cert", b64(r.node_cert)},
                                   {"purpose", r.purpose},
                                   {"basis", r.basis},
                                   {"time", r.time_ms},
                                   {"proof", std::move(*proof)}});
    }
    if (versions.empty() && reads.size() == reads_before) continue;  // nothing of it in range
    records.push_back(json::object{{"record", id},
                                   {"owner", (*record)->owner},
                                   {"hospital", (*record)->hospital},
                                   {"latest", static_cast<std::int64_t>((*record)->latest)},
                                   {"versions", std::move(versions)}});
  }

  AuditBundle out;
  json::array certificates;
  MEDLEDGER_TRY(certs.finish(certificates, out.pem_files));
  json::object q;
  if (query.patient) q["patient"] = *query.patient;
  if (query.from_ms) q["from"] = *query.from_ms;
  if (query.to_ms) q["to"] = *query.to_ms;
  const auto& header = tip->block.header;
  out.bundle =
      json::object{{"format", std::string(kAuditFormat)},
                   {"query", std::move(q)},
                   {"anchor", json::object{{"height", static_cast<std::int64_t>(header.height)},
                                           {"log_size", static_cast<std::int64_t>(size)},
                                           {"merkle_root", b64(header.merkle_root)},
                                           {"block_header", tip->block.header_json},
                                           {"origin", ledger.origin()}}},
                   {"records", std::move(records)},
                   {"reads", std::move(reads)},
                   {"certificates", std::move(certificates)}};
  return out;
}

}  // namespace medledger::node

// The hospital CA as a node holds it: issuing, CA-signed ledger steps, revocation
// (ledger + CA directory) and the CRL built from ledger state.
#include "hospital_ca.h"

#include <map>

#include "custody.h"
#include "medledger/ca/limits.h"
#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/hsm/key_store.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"
#include "node_context.h"

namespace medledger::node {

using core::ErrorCode;

namespace {

// Every certificate this CA issued that the ledger says is revoked, by serial
// (one entry each, in a stable order).
core::Result<std::map<std::string, ca::RevokedEntry>> revoked_on_ledger(
    const NodeContext& node, const core::Digest& issuer) {
  std::map<std::string, ca::RevokedEntry> revoked;
  MEDLEDGER_TRY_ASSIGN(auto state, node.snapshot());
  std::vector<core::Digest> fingerprints;
  MEDLEDGER_TRY(state->scan(ledger::kTableCerts, {}, [&](core::ByteView key, core::ByteView) {
    core::Digest fp{};
    if (key.size() == fp.size()) {
      std::copy(key.begin(), key.end(), fp.begin());
      fingerprints.push_back(fp);
    }
    return true;
  }));
  for (const auto& fp : fingerprints) {
    MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_certificate(*state, fp));
    if (!entry || entry->issuer != issuer || entry->status != "revoked") continue;
    MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_der(entry->der));
    auto reason = ca::parse_revocation_reason(entry->reason);
    ca::RevokedEntry item;
    item.serial_hex = cert.serial_hex();
    item.revoked_at = static_cast<std::time_t>(entry->revoked_at_ms / 1000);
    item.reason = reason ? *reason : ca::RevocationReason::kUnspecified;
    revoked.emplace(item.serial_hex, item);
  }
  return revoked;
}

}  // namespace

core::Result<std::unique_ptr<HospitalCa>> HospitalCa::open(
    const std::filesystem::path& ca_dir, const std::shared_ptr<hsm::SessionPool>& pool) {
  MEDLEDGER_TRY_ASSIGN(auto store, ca::CaDirectory::open(ca_dir));
  auto key_id = core::hex_decode(store.settings().key_id_hex);
  if (!key_id)
    return core::make_error(ErrorCode::kConfigInvalid, "CA settings hold a malformed key id");
  hsm::KeyStore keys(pool);
  MEDLEDGER_TRY_ASSIGN(std::unique_ptr<hsm::TokenSigner> signer, keys.signer(*key_id));
  const auto& chain = store.chain();
  MEDLEDGER_TRY_ASSIGN(
      auto authority,
      ca::CertificateAuthority::open(*signer, chain.front(),
                                     std::vector<ca::Certificate>(chain.begin() + 1, chain.end())));
  return std::make_unique<HospitalCa>(std::move(signer), std::move(store), std::move(authority));
}

HospitalCa::HospitalCa(std::unique_ptr<hsm::TokenSigner> signer, ca::CaDirectory store,
                       ca::CertificateAuthority authority)
    : signer_(std::move(signer)), store_(std::move(store)), authority_(std::move(authority)) {}

core::Result<ca::Certificate> HospitalCa::issue_for_key(core::ByteView spki,
                                                        const ca::IssueRequest& request) {
  std::lock_guard<std::mutex> guard(mutex_);
  MEDLEDGER_TRY_ASSIGN(auto cert, authority_.issue_for_key(spki, request, std::time(nullptr)));
  MEDLEDGER_TRY(store_.record_issued(cert, request.role));
  return cert;
}

core::Result<ca::Certificate> HospitalCa::issue(const ca::CertificateRequest& csr,
                                                const ca::IssueRequest& request) {
  std::lock_guard<std::mutex> guard(mutex_);
  MEDLEDGER_TRY_ASSIGN(auto cert, authority_.issue(csr, request, std::time(nullptr)));
  MEDLEDGER_TRY(store_.record_issued(cert, request.role));
  return cert;
}

core::Result<void> HospitalCa::sign(ledger::Transaction& tx) const {
  return ledger::add_signature(tx, *signer_, ledger::certificate_fingerprint(chain().front()));
}

core::Result<ledger::Receipt> HospitalCa::submit(const NodeContext& node, ledger::Transaction tx,
                                                 std::string_view what) const {
  MEDLEDGER_TRY(sign(tx));
  return accepted_or_error(node.ledger.submit(tx), what);
}

core::Result<ledger::Receipt> HospitalCa::register_certificate(const NodeContext& node,
                                                               const ca::Certificate& cert,
                                                               std::string_view what) const {
  return submit(
      node, node.new_transaction(ledger::kTxCertRegister, ledger::make_cert_register_body(cert)),
      what);
}

core::Result<ledger::Receipt> HospitalCa::revoke(const NodeContext& node,
                                                 const ca::Certificate& cert,
                                                 ca::RevocationReason reason,
                                                 const std::string& principal) {
  auto receipt = submit(
      node,
      node.new_transaction(ledger::kTxCertRevoke,
                           ledger::make_cert_revoke_body(ledger::certificate_fingerprint(cert),
                                                         ca::revocation_reason_name(reason))),
      "cert.revoke of " + principal);
  // Already revoked on the ledger: the CA directory (the CRL) is still brought in line.
  if (!receipt && receipt.error().code != ErrorCode::kCertAlreadyRevoked) return receipt.error();
  auto marked = mark_revoked(cert.serial_hex(), reason);
  if (!marked && marked.error().code != ErrorCode::kAlreadyExists) return marked.error();
  return receipt;
}

core::Result<void> HospitalCa::mark_revoked(const std::string& serial_hex,
                                            ca::RevocationReason reason) {
  std::lock_guard<std::mutex> guard(mutex_);
  return store_.mark_revoked({serial_hex, std::time(nullptr), reason});
}

core::Result<std::string> HospitalCa::crl_pem(const NodeContext& node) {
  MEDLEDGER_TRY_ASSIGN(auto revoked,
                       revoked_on_ledger(node, ledger::certificate_fingerprint(chain().front())));
  std::lock_guard<std::mutex> guard(mutex_);
  MEDLEDGER_TRY_ASSIGN(auto records, store_.records());
  // Revoked in the CA directory only (e.g. a TLS certificate never on the ledger).
  for (const auto& entry : ca::revoked_entries(records)) revoked.emplace(entry.serial_hex, entry);
  std::vector<ca::RevokedEntry> entries;
  std::string revocations;  // what the CRL lists, to tell whether the cached one still says it
  for (auto& [serial, entry] : revoked) {
    revocations += serial + ':' + std::to_string(entry.revoked_at) + ':' +
                   std::to_string(static_cast<int>(entry.reason)) + ';';
    entries.push_back(std::move(entry));
  }
  const std::time_t now = std::time(nullptr);
  // The same CRL again while it lists the same revocations and is in the first half
  // of its validity: a GET of the CRL costs no token signature and no CRL number.
  if (crl_cache_ && crl_cache_->revocations == revocations && now >= crl_cache_->issued_at &&
      now < crl_cache_->reissue_at) {
    return crl_cache_->pem;
  }
  MEDLEDGER_TRY_ASSIGN(auto number, store_.next_crl_number());
  MEDLEDGER_TRY_ASSIGN(auto crl,
                       authority_.make_crl(entries, number, now, ca::kDefaultCrlValidityDays));
  const std::time_t validity = static_cast<std::time_t>(ca::kDefaultCrlValidityDays) * 86400;
  crl_cache_ = CachedCrl{std::move(revocations), crl.to_pem(), now, now + validity / 2};
  MEDLEDGER_ASSERT(crl_cache_->issued_at < crl_cache_->reissue_at);
  return crl_cache_->pem;
}

core::Result<ca::RevocationReason> final_revocation_reason(std::string_view reason) {
  MEDLEDGER_TRY_ASSIGN(auto parsed, ca::parse_revocation_reason(reason));
  if (parsed == ca::RevocationReason::kRemoveFromCrl) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "removeFromCRL is no revocation: ledger revocation is final");
  }
  return parsed;
}

core::Result<ledger::Receipt> revoke_enrolled(const NodeContext& node, Custody& custody,
                                              HospitalCa& ca, const PersonEntry& person,
                                              const ca::Certificate& cert,
                                              ca::RevocationReason reason) {
  MEDLEDGER_TRY(custody.lock(person.principal));
  return ca.revoke(node, cert, reason, person.principal);
}

}  // namespace medledger::node

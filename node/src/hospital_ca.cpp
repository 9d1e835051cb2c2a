// The hospital CA as a node holds it: issuing, CA-signed ledger steps, revocation
// (ledger + CA directory) and the CRL built from ledger state.
#include "hospital_ca.h"

#include <algorithm>
#include <map>

#include "custody.h"
#include "medledger/ca/limits.h"
#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/hsm/key_store.h"
#include "medledger/node/ca_operations.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"
#include "node_context.h"

namespace medledger::node {

using core::ErrorCode;

namespace {

// Ledger state is re-read at most this often for OCSP when blocks keep coming
// (each re-read scans the certs table); issuance and revocation here mark it stale.
constexpr std::chrono::seconds kStatusRecheck{1};

// Same serials, times and reasons, in the same order (both sorted by serial).
bool same_entries(const std::vector<ca::RevokedEntry>& a, const std::vector<ca::RevokedEntry>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.serial_hex == y.serial_hex && x.revoked_at == y.revoked_at && x.reason == y.reason;
  });
}

// Serial order as X509_CRL_sort leaves a CRL: by the INTEGER's value.
bool serial_less(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

}  // namespace

core::Result<std::map<std::string, ca::OcspCertStatus>> ledger_certificate_statuses(
    const ledger::StateView& state, const core::Digest& issuer) {
  std::vector<core::Digest> fingerprints;
  MEDLEDGER_TRY(state.scan(ledger::kTableCerts, {}, [&](core::ByteView key, core::ByteView) {
    core::Digest fp{};
    if (key.size() == fp.size()) {
      std::copy(key.begin(), key.end(), fp.begin());
      fingerprints.push_back(fp);
    }
    return true;
  }));
  std::map<std::string, ca::OcspCertStatus> out;
  for (const auto& fp : fingerprints) {
    MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_certificate(state, fp));
    if (!entry || entry->issuer != issuer) continue;
    MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_der(entry->der));
    ca::OcspCertStatus status;
    status.kind = ca::OcspCertStatus::Kind::kGood;
    if (entry->status == "revoked") {
      auto reason = ca::parse_revocation_reason(entry->reason);
      status.kind = ca::OcspCertStatus::Kind::kRevoked;
      status.revoked_at = static_cast<std::time_t>(entry->revoked_at_ms / 1000);
      status.reason = reason ? *reason : ca::RevocationReason::kUnspecified;
    }
    out[cert.serial_hex()] = status;
  }
  return out;
}

std::vector<ca::RevokedEntry> crl_entries(
    const std::map<std::string, ca::OcspCertStatus>& statuses) {
  std::vector<ca::RevokedEntry> entries;
  for (const auto& [serial, status] : statuses) {
    if (status.kind != ca::OcspCertStatus::Kind::kRevoked) continue;
    entries.push_back({serial, status.revoked_at, status.reason});
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return serial_less(a.serial_hex, b.serial_hex); });
  return entries;
}

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
  auto opened =
      std::make_unique<HospitalCa>(std::move(signer), std::move(store), std::move(authority));
  MEDLEDGER_TRY(opened->open_revocation(pool));
  return opened;
}

HospitalCa::HospitalCa(std::unique_ptr<hsm::TokenSigner> signer, ca::CaDirectory store,
                       ca::CertificateAuthority authority)
    : signer_(std::move(signer)), store_(std::move(store)), authority_(std::move(authority)) {}

core::Result<ca::Certificate> HospitalCa::issue_for_key(core::ByteView spki,
                                                        const ca::IssueRequest& request) {
  std::lock_guard<std::mutex> guard(mutex_);
  MEDLEDGER_TRY_ASSIGN(auto cert, authority_.issue_for_key(spki, request, std::time(nullptr)));
  MEDLEDGER_TRY(store_.record_issued(cert, request.role));
  view_stale_ = true;
  return cert;
}

core::Result<ca::Certificate> HospitalCa::issue(const ca::CertificateRequest& csr,
                                                const ca::IssueRequest& request) {
  std::lock_guard<std::mutex> guard(mutex_);
  MEDLEDGER_TRY_ASSIGN(auto cert, authority_.issue(csr, request, std::time(nullptr)));
  MEDLEDGER_TRY(store_.record_issued(cert, request.role));
  view_stale_ = true;
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
  // A revocation that committed publishes a new CRL now; should signing fail, the
  // next CRL request signs it (current_crl compares with the ledger).
  (void)current_crl(node);
  return receipt;
}

core::Result<void> HospitalCa::mark_revoked(const std::string& serial_hex,
                                            ca::RevocationReason reason) {
  std::lock_guard<std::mutex> guard(mutex_);
  view_stale_ = true;
  return store_.mark_revoked({serial_hex, std::time(nullptr), reason});
}

core::Result<void> HospitalCa::refresh_view_locked(const NodeContext& node, bool eager) {
  MEDLEDGER_TRY_ASSIGN(auto tip, node.ledger.ledger().tip());
  const auto now = std::chrono::steady_clock::now();
  if (view_ && !view_stale_ && view_->height == tip.block.header.height) return core::success();
  if (view_ && !view_stale_ && !eager && now - view_->read_at < kStatusRecheck)
    return core::success();
  StatusView view;
  view.height = tip.block.header.height;
  view.read_at = now;
  {
    MEDLEDGER_TRY_ASSIGN(auto state, node.snapshot());
    MEDLEDGER_TRY_ASSIGN(
        view.by_serial,
        ledger_certificate_statuses(*state, ledger::certificate_fingerprint(chain().front())));
  }
  MEDLEDGER_TRY_ASSIGN(auto records, store_.records());
  // The CA directory adds what never reached the ledger (TLS certificates) and
  // revocations made offline (`medledger ca revoke`); the ledger's word comes first.
  for (const auto& record : records) {
    ca::OcspCertStatus status;
    status.kind = ca::OcspCertStatus::Kind::kGood;
    if (record.revocation) {
      status.kind = ca::OcspCertStatus::Kind::kRevoked;
      status.revoked_at = record.revocation->revoked_at;
      status.reason = record.revocation->reason;
    }
    auto [at, added] = view.by_serial.emplace(record.serial_hex, status);
    if (!added && at->second.kind == ca::OcspCertStatus::Kind::kGood &&
        status.kind == ca::OcspCertStatus::Kind::kRevoked) {
      at->second = status;
    }
  }
  view_ = std::move(view);
  view_stale_ = false;
  return core::success();
}

core::Result<ca::Crl> HospitalCa::current_crl(const NodeContext& node) {
  std::lock_guard<std::mutex> guard(mutex_);
  MEDLEDGER_TRY(refresh_view_locked(node, true));
  const std::vector<ca::RevokedEntry> entries = crl_entries(view_->by_serial);
  if (!crl_loaded_) {
    MEDLEDGER_TRY_ASSIGN(crl_, store_.current_crl());
    crl_loaded_ = true;
  }
  const ca::RevocationSettings& settings = store_.settings().revocation;
  const std::time_t now = std::time(nullptr);
  const std::time_t refresh = static_cast<std::time_t>(settings.crl_refresh_hours) * 3600;
  // The published CRL again while it says the same and is not near its nextUpdate:
  // a GET of the CRL costs no token signature and no CRL number.
  if (crl_ && crl_->next_update() && now >= crl_->this_update() &&
      now < *crl_->next_update() - refresh && same_entries(crl_->entries(), entries)) {
    return *crl_;
  }
  MEDLEDGER_TRY_ASSIGN(auto number, store_.next_crl_number());
  MEDLEDGER_TRY_ASSIGN(auto crl,
                       authority_.make_crl_until(
                           entries, number, now,
                           now + static_cast<std::time_t>(settings.crl_validity_hours) * 3600));
  MEDLEDGER_TRY(store_.save_crl(crl));
  MEDLEDGER_ASSERT(!crl_ || crl_->number() < crl.number());  // RFC 5280 5.2.3
  crl_ = crl;
  return crl;
}

bool HospitalCa::serves(const ca::OcspRequest& request) const {
  return request.issued_by(chain().front());
}

core::Result<core::Bytes> HospitalCa::ocsp_response(const NodeContext& node,
                                                    const ca::OcspRequest& request) {
  if (!serves(request)) {
    return core::make_error(ErrorCode::kOcspIssuerUnknown,
                            "the OCSP request names a certificate another CA issued");
  }
  std::vector<ca::OcspCertStatus> statuses(request.size());
  {
    std::lock_guard<std::mutex> guard(mutex_);
    MEDLEDGER_TRY(refresh_view_locked(node, false));
    for (std::size_t i = 0; i < request.size(); ++i) {
      auto found = view_->by_serial.find(request.serial_hex(i));
      if (found != view_->by_serial.end()) statuses[i] = found->second;  // else unknown
    }
  }
  const std::time_t now = std::time(nullptr);
  const ca::OcspResponder* responder = &*ca_responder_;
  if (delegate_ && now >= delegate_->responder().not_before() &&
      now < delegate_->responder().not_after()) {
    responder = &*delegate_;
  }
  const long validity = static_cast<long>(store_.settings().revocation.ocsp_validity_minutes) * 60;
  return responder->respond(request, statuses, now, validity);
}

core::Result<void> HospitalCa::open_revocation(const std::shared_ptr<hsm::SessionPool>& pool) {
  const ca::RevocationSettings& settings = store_.settings().revocation;
  MEDLEDGER_TRY(authority_.set_publication_points({settings.ocsp_url, settings.crl_url}));
  MEDLEDGER_TRY_ASSIGN(auto by_ca,
                       ca::OcspResponder::open(*signer_, chain().front(), chain().front()));
  ca_responder_ = std::move(by_ca);
  if (settings.ocsp_responder_key_id_hex.empty()) return core::success();
  MEDLEDGER_TRY_ASSIGN(auto cert, store_.responder_certificate());
  if (!cert) {
    return core::make_error(ErrorCode::kConfigInvalid,
                            "ca.json names an OCSP responder key but " + store_.path().string() +
                                "/ocsp-responder.pem is missing (`medledger ca ocsp-responder`)");
  }
  auto key_id = core::hex_decode(settings.ocsp_responder_key_id_hex);
  MEDLEDGER_ASSERT(key_id.ok());  // check_revocation_settings checked it
  hsm::KeyStore keys(pool);
  MEDLEDGER_TRY_ASSIGN(responder_signer_, keys.signer(*key_id));
  MEDLEDGER_TRY_ASSIGN(auto delegate,
                       ca::OcspResponder::open(*responder_signer_, *cert, chain().front()));
  delegate_ = std::move(delegate);
  return core::success();
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

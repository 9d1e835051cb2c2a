#include "medledger/api/ledger_trust.h"

#include "medledger/api/logging.h"

#include <algorithm>

#include "medledger/core/canonical_json.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"

namespace medledger::api {

namespace {
using core::ErrorCode;

// Transactions that change who may connect; a conservative text match on the
// wire bytes (a false positive only costs a rebuild).
constexpr std::string_view kTrustChangingTypes[] = {ledger::kTxHospitalAdmit,
                                                    ledger::kTxCertRevoke};

core::Result<ca::Certificate> read_ca_certificate(const ledger::StateView& state,
                                                  const core::Digest& fingerprint) {
  MEDLEDGER_TRY_ASSIGN(auto raw, state.get(ledger::kTableCaCerts,
                                           core::ByteView(fingerprint.data(), fingerprint.size())));
  if (!raw)
    return core::make_error(ErrorCode::kLedgerCorrupt,
                            "state: an admitted CA certificate is missing");
  auto value = core::parse_restricted_json(
      std::string_view(reinterpret_cast<const char*>(raw->data()), raw->size()));
  if (!value || !value->is_object() || !value->as_object().contains("der") ||
      !value->as_object().at("der").is_string()) {
    return core::make_error(ErrorCode::kLedgerCorrupt, "state: bad cacerts entry");
  }
  auto der = core::base64url_decode(std::string_view(value->as_object().at("der").as_string()));
  if (!der) return core::make_error(ErrorCode::kLedgerCorrupt, "state: bad cacerts DER");
  return ca::Certificate::from_der(*der);
}
}  // namespace

LedgerTrust::LedgerTrust(ledger::Ledger& ledger, std::shared_ptr<const TrustSnapshot> extra)
    : ledger_(ledger), extra_(std::move(extra)) {}

void LedgerTrust::set_extra(std::shared_ptr<const TrustSnapshot> extra) {
  std::lock_guard lock(mutex_);
  extra_ = std::move(extra);
  stale_ = true;  // rebuilt by the next current()
}

core::Result<std::shared_ptr<const TrustSnapshot>> LedgerTrust::rebuild(std::uint64_t generation) {
  auto out = std::make_shared<TrustSnapshot>();
  std::shared_ptr<const TrustSnapshot> extra = extra_;
  if (extra) {
    out->anchors = extra->anchors;
    out->crls = extra->crls;
  }
  MEDLEDGER_TRY_ASSIGN(auto state, ledger::StateSnapshot::open(ledger_.store()));
  MEDLEDGER_TRY_ASSIGN(auto hospitals, ledger::list_hospitals(*state));
  for (const auto& hospital : hospitals) {
    for (const auto& fingerprint : hospital.ca_certs) {
      MEDLEDGER_TRY_ASSIGN(auto cert, read_ca_certificate(*state, fingerprint));
      if (cert.is_self_signed())
        out->anchors.roots.push_back(cert);
      else
        out->anchors.intermediates.push_back(cert);
    }
  }
  out->is_revoked = [ledger = &ledger_](const core::Digest& fingerprint) {
    return revoked_on_ledger(*ledger, fingerprint);
  };
  out->generation = generation;
  return std::shared_ptr<const TrustSnapshot>(std::move(out));
}

bool LedgerTrust::trust_may_have_changed(std::uint64_t from, std::uint64_t to) const {
  if (to < from || to - from > kMaxTrustScanTransactions) return true;
  bool changed = false;
  std::uint64_t seen = from;
  auto scanned =
      ledger_.scan_log(from, to, [&](std::uint64_t sequence, std::uint16_t, std::string_view wire) {
        seen = sequence + 1;
        for (auto type : kTrustChangingTypes) {
          if (wire.find(type) != std::string_view::npos) changed = true;
        }
        return !changed;
      });
  if (!scanned || changed) return true;
  return seen != to;  // the log ended early: unknowable, assume changed
}

std::shared_ptr<const TrustSnapshot> LedgerTrust::current() {
  // Nothing committed since the last look (LMDB's last transaction id, read from
  // the meta page without a transaction): the trust in force stands.
  const std::uint64_t committed = ledger_.store().last_committed_txn();
  {
    std::lock_guard lock(mutex_);
    if (snapshot_ && !stale_ && committed == seen_committed_txn_) return snapshot_;
  }
  auto tip = ledger_.tip();
  std::lock_guard lock(mutex_);
  // The ledger could not be read: the trust in force stands (the files' trust until a first build).
  auto unchanged = [this](const core::Error& error, const char* message) {
    log_event(LogLevel::kError, "trust",
              {{"error", core::error_code_name(error.code)}, {"message", message}});
    return !snapshot_ && extra_ ? extra_ : snapshot_;
  };
  if (!tip) return unchanged(tip.error(), "ledger tip unreadable; trust unchanged");
  const auto& header = tip->block.header;
  // The same tip, or an older one (another thread read a newer tip after this one
  // and has looked at it already): nothing new to look at.
  if (snapshot_ && !stale_ && header.height <= seen_height_) return snapshot_;
  if (!snapshot_ || stale_ || trust_may_have_changed(seen_log_size_, header.log_size)) {
    auto rebuilt = rebuild(generation_ + 1);
    if (!rebuilt) {
      return unchanged(rebuilt.error(), "ledger trust not rebuilt; previous trust in force");
    }
    ++generation_;
    snapshot_ = std::move(*rebuilt);
    stale_ = false;
    log_event(
        LogLevel::kInfo, "trust",
        {{"generation", generation_},
         {"height", header.height},
         {"anchors", snapshot_->anchors.roots.size() + snapshot_->anchors.intermediates.size()}});
  }
  seen_height_ = header.height;
  seen_log_size_ = header.log_size;
  seen_committed_txn_ = committed;  // the tip read after `committed`: at least as new
  return snapshot_;
}

core::Result<bool> revoked_on_ledger(ledger::Ledger& ledger, const core::Digest& fingerprint) {
  MEDLEDGER_TRY_ASSIGN(auto state, ledger::StateSnapshot::open(ledger.store()));
  MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_certificate(*state, fingerprint));
  return entry.has_value() && entry->status == "revoked";
}

}  // namespace medledger::api

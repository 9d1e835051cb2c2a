// LedgerTrust: client-certificate trust read from the consortium ledger's state.
//
// Anchors are the admitted hospitals' CA certificates (state table "cacerts"),
// revocation is the ledger's (a cert.revoke sets the certificate's state entry to
// "revoked"), plus optional extra anchors and CRLs from files ([tls] client_ca,
// client_crls) for infrastructure clients that are not on the ledger.
//
//     auto trust = std::make_shared<LedgerTrust>(ledger, extra_from_files);
//     ChainValidatingAuthenticator auth([trust] { return trust->current(); });
//
// Cost: current() compares LMDB's last committed transaction id (a meta-page read)
// with the one it last saw and returns at once when nothing was written; else it
// reads the chain tip (one LMDB read transaction); only when the height changed
// does it look at the new transactions (one cursor pass, no decoding), and only when one of them is
// a hospital.admit or cert.revoke (or too many arrived to look at) does it rebuild the anchors and
// bump the generation, so keep-alive connections re-authenticate after trust really changed.
// Revocation is looked up per authentication (one B-tree lookup per certificate).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "medledger/api/client_auth.h"
#include "medledger/ledger/ledger.h"

namespace medledger::api {

/// Most new transactions current() reads to decide whether trust changed; beyond
/// that it rebuilds the anchors without looking (a rebuild is O(hospitals)).
inline constexpr std::uint64_t kMaxTrustScanTransactions = 4096;

class LedgerTrust {
 public:
  /// `ledger` must outlive this object; `extra` may be null (no file trust).
  LedgerTrust(ledger::Ledger& ledger, std::shared_ptr<const TrustSnapshot> extra);

  /// The trust in force now (thread-safe). If the ledger cannot be read, the last
  /// snapshot stays in force (the error is logged); before any, one with the
  /// extra anchors only (ledger CAs untrusted until the ledger reads again).
  std::shared_ptr<const TrustSnapshot> current();

  /// Replaces the extra (file) anchors and CRLs, e.g. after the files changed; the
  /// next current() rebuilds with them under a new generation, so keep-alive
  /// connections authenticate again. Thread-safe; `extra` may be null.
  void set_extra(std::shared_ptr<const TrustSnapshot> extra);

  /// Builds a snapshot from the ledger state now: anchors of every admitted
  /// hospital, the extra anchors and CRLs, and the ledger revocation check.
  /// kLedgerStorage / kLedgerCorrupt. Cost: O(hospitals) reads and DER parses.
  core::Result<std::shared_ptr<const TrustSnapshot>> rebuild(std::uint64_t generation);

 private:
  // True if a transaction in [from, to) of the log may change trust (or unknowable).
  bool trust_may_have_changed(std::uint64_t from, std::uint64_t to) const;

  ledger::Ledger& ledger_;
  std::shared_ptr<const TrustSnapshot> extra_;
  std::mutex mutex_;
  std::shared_ptr<const TrustSnapshot> snapshot_;
  std::uint64_t seen_height_ = 0;
  std::uint64_t seen_log_size_ = 0;
  std::uint64_t seen_committed_txn_ = 0;
  bool stale_ = false;  // set_extra: rebuild at the next current()
  std::uint64_t generation_ = 0;
};

/// Whether the certificate with this SHA-256 fingerprint is revoked on the
/// ledger (state table "certs"): false if absent or valid. kLedgerStorage /
/// kLedgerCorrupt. Cost: one read transaction and one B-tree lookup.
core::Result<bool> revoked_on_ledger(ledger::Ledger& ledger, const core::Digest& fingerprint);

}  // namespace medledger::api

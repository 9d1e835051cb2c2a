// node::Signing: sessions, custodial signatures (through Custody), external
// signatures checked against the ledger, the node's endorsement.
#include "medledger/node/signing.h"

#include "custody.h"
#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/ledger/records_state.h"
#include "node_context.h"

namespace medledger::node {

using core::ErrorCode;

core::Result<PersonSession> Signing::open_session(std::string_view principal,
                                                  const core::SecretBytes& pin,
                                                  std::chrono::seconds ttl,
                                                  std::uint32_t signatures) {
  return custody_.open_session(principal, pin, ttl, signatures);
}

core::Result<void> Signing::close_session(const core::SecretBytes& token) {
  return custody_.close_session(token);
}

core::Result<void> Signing::sign(ledger::Transaction& tx, std::string_view principal,
                                 const PersonCredential& credential) {
  return custody_.sign(tx, ledger::tx_id(tx), principal, credential);
}

core::Result<DigestSignature> Signing::sign_digest(std::string_view principal,
                                                   const PersonCredential& credential,
                                                   const core::Digest& digest) {
  MEDLEDGER_TRY_ASSIGN(auto key, custody_.key(principal));
  MEDLEDGER_TRY(custody_.check(principal, credential));
  MEDLEDGER_TRY_ASSIGN(auto signature, key->signer->sign_digest(digest));
  return DigestSignature{std::move(signature), key->signer->algorithm(), key->fingerprint};
}

core::Result<core::Bytes> Signing::registered_key(const core::Digest& fingerprint) {
  {
    std::lock_guard<std::mutex> guard(external_keys_mutex_);
    if (auto it = external_keys_.find(fingerprint); it != external_keys_.end()) return it->second;
  }
  MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
  MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_certificate(*state, fingerprint));
  if (!entry) {
    return core::make_error(ErrorCode::kCertNotOnLedger,
                            "the signature names a certificate the ledger does not hold");
  }
  MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_der(entry->der));
  core::Bytes spki = cert.public_key_spki();
  std::lock_guard<std::mutex> guard(external_keys_mutex_);
  if (external_keys_.size() >= kMaxCachedCustodialKeys)
    external_keys_.clear();  // rare: start over, stay bounded
  external_keys_.emplace(fingerprint, spki);
  MEDLEDGER_ASSERT(external_keys_.size() <= kMaxCachedCustodialKeys);
  return spki;
}

core::Result<void> Signing::add_external_signature(ledger::Transaction& tx,
                                                   const ledger::TransactionSignature& signature) {
  for (const auto& existing : tx.signatures) {
    if (existing.cert_fingerprint == signature.cert_fingerprint) {
      // As the codec refuses a transaction naming one certificate twice (docs/transactions.md).
      return core::make_error(ErrorCode::kTxMalformed, "this certificate has signed already");
    }
  }
  MEDLEDGER_TRY_ASSIGN(auto spki, registered_key(signature.cert_fingerprint));
  tx.signatures.push_back(signature);
  auto verified = ledger::verify_signature(tx, tx.signatures.size() - 1, spki);
  if (!verified) {
    tx.signatures.pop_back();
    return verified.error();
  }
  return core::success();
}

core::Result<ledger::Receipt> Signing::endorse_and_submit(ledger::Transaction tx) {
  MEDLEDGER_TRY_ASSIGN(auto pending, endorse_and_submit_async(std::move(tx)));
  return pending.wait();
}

core::Result<PendingCommit> Signing::endorse_and_submit_async(ledger::Transaction tx) {
  const core::Digest id = ledger::tx_id(tx);
  return node_.endorse_and_submit_async(std::move(tx), id);
}

}  // namespace medledger::node

// NodeContext: the transaction helpers every concept class of a node shares.
#include "node_context.h"

#include <openssl/rand.h>

#include <chrono>
#include <cstdlib>

#include "medledger/core/error.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node {

std::int64_t NodeContext::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NodeContext::node_principal() const {
  return ledger::principal(config.hospital_id, config.node_id);
}

ledger::Transaction NodeContext::new_transaction(std::string_view type,
                                                 boost::json::object body) const {
  ledger::Transaction tx;
  tx.type = std::string(type);
  tx.time_ms = now_ms();
  tx.nonce.resize(ledger::kMinNonceBytes);
  if (RAND_bytes(tx.nonce.data(), static_cast<int>(tx.nonce.size())) != 1)
    std::abort();  // CSPRNG failure: no safe way on
  tx.body = std::move(body);
  return tx;
}

core::Result<PendingCommit> NodeContext::endorse_and_submit_async(ledger::Transaction tx,
                                                                  const core::Digest& id) const {
  MEDLEDGER_TRY(
      ledger::add_signature(tx, id, *node_signer, ledger::certificate_fingerprint(signing_cert)));
  std::string what = tx.type;
  return ledger.submit_pending(tx, std::move(what));
}

core::Result<PersonEntry> NodeContext::enrolled_as(std::string_view principal, ca::Role role,
                                                   std::string_view what) const {
  MEDLEDGER_TRY_ASSIGN(auto person, persons.find(principal));
  if (person.role != role) {
    return core::make_error(core::ErrorCode::kCertificateWrongRole,
                            std::string(principal) + " is not " + std::string(what));
  }
  return person;
}

core::Result<std::unique_ptr<ledger::StateSnapshot>> NodeContext::snapshot() const {
  return ledger::StateSnapshot::open(ledger.ledger().store());
}

}  // namespace medledger::node

// Transactions (ledger/transaction.h): the wire form every client, peer and etcd value
// carries, and its signature set. A transaction that decodes must re-encode to the same
// bytes (one meaning, one encoding), pass check_transaction, and have each of its
// signatures checked against both a P-256 and an Ed25519 key without crashing.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/transaction.h"

using namespace medledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  auto tx = ledger::decode_transaction(text);
  if (!tx) return 0;
  MEDLEDGER_ASSERT(ledger::check_transaction(*tx).ok());
  MEDLEDGER_ASSERT(ledger::encode_transaction(*tx) == text);
  auto pending = ledger::prepare_transaction(std::string(text));
  MEDLEDGER_ASSERT(pending.ok() && pending->id == ledger::tx_id(*tx));
  for (std::size_t i = 0; i < tx->signatures.size(); ++i) {
    (void)ledger::verify_signature(*tx, i, fuzz::p256_signer().public_key_spki());
    (void)ledger::verify_signature(*tx, i, fuzz::ed25519_signer().public_key_spki());
  }
  return 0;
}

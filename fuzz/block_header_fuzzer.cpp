// Block headers (ledger/block.h) as stored and as received inside replicated blocks.
// A header that decodes must re-encode to the same bytes; its signature is checked
// against the fixed P-256 and Ed25519 keys (the seeds are signed by the P-256 one).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/block.h"

using namespace medledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  auto header = ledger::decode_header(text);
  if (!header) return 0;
  MEDLEDGER_ASSERT(ledger::encode_header(*header) == text);
  (void)ledger::block_hash(*header);
  (void)ledger::verify_header_signature(*header, fuzz::p256_signer().public_key_spki());
  (void)ledger::verify_header_signature(*header, fuzz::ed25519_signer().public_key_spki());
  return 0;
}

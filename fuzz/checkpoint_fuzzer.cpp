// Checkpoints (ledger/checkpoint.h): signed notes a client or auditor receives. A note
// that parses must format back to the same bytes and is checked against the fixed keys.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/checkpoint.h"

using namespace medledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  auto note = ledger::parse_checkpoint(text);
  if (!note) return 0;
  MEDLEDGER_ASSERT(ledger::format_checkpoint(*note) == text);
  (void)ledger::verify_checkpoint(*note, fuzz::p256_signer().public_key_spki());
  (void)ledger::verify_checkpoint(*note, fuzz::ed25519_signer().public_key_spki());
  return 0;
}

// Receipts (ledger/receipt.h) with their inclusion proofs and checkpoints, as a client
// keeps and re-checks them. Input: the receipt JSON, a NUL, the wire transaction it
// claims. A receipt that decodes re-encodes to a text that decodes to the same encoding,
// and verify_receipt runs over whatever proof it carries.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/receipt.h"

using namespace medledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [json, wire] = fuzz::split_at_nul(fuzz::as_text(data, size));
  auto receipt = ledger::decode_receipt(json);
  if (!receipt) return 0;
  const std::string encoded = ledger::encode_receipt(*receipt);
  auto again = ledger::decode_receipt(encoded);
  MEDLEDGER_ASSERT(again.ok() && ledger::encode_receipt(*again) == encoded);
  (void)ledger::verify_receipt(*receipt, wire, fuzz::p256_signer().public_key_spki());
  return 0;
}

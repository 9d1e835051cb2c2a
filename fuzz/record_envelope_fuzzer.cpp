// Record envelopes and wrapped patient keys (node/record_envelope.h, node/patient_key.h):
// the JSON a node reads back from the ledger and from other nodes' grants. Both parsers
// run on every input; what parses must survive its own round trip, and a sealed record
// is opened with a fixed patient key (the AES-GCM checks and the size limits).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "medledger/core/assert.h"
#include "medledger/node/patient_key.h"
#include "medledger/node/record_envelope.h"

using namespace medledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  if (auto sealed = node::SealedRecord::from_json_text(text)) {
    auto again = node::SealedRecord::from_json_text(sealed->to_json_text());
    MEDLEDGER_ASSERT(again.ok() && again->digest() == sealed->digest());
    node::PatientKey key{sealed->context.patient_id, sealed->patient_key_version,
                         core::SecretBytes(core::Bytes(node::kPatientKeySize, 0x5a))};
    (void)node::open_record(*sealed, key);
  }
  if (auto wrapped = node::WrappedPatientKey::from_json_text(text)) {
    auto again = node::WrappedPatientKey::from_json_text(wrapped->to_json_text());
    MEDLEDGER_ASSERT(again.ok() && again->to_json_text() == wrapped->to_json_text());
  }
  return 0;
}

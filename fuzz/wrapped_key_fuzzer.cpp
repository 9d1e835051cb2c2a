// Wrapped-key blobs (hsm/wrapped_key.h) as read back from person files. A version 2
// blob that decodes must re-encode to the same bytes; version 1 blobs re-encode as 2.
#include <cstddef>
#include <cstdint>

#include "medledger/core/assert.h"
#include "medledger/hsm/wrapped_key.h"

using namespace medledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const core::ByteView blob(data, size);
  auto key = hsm::decode_wrapped_key(blob);
  if (!key) return 0;
  const core::Bytes encoded = hsm::encode_wrapped_key(*key);
  if (size > 4 && data[4] == hsm::kWrappedKeyVersion)
    MEDLEDGER_ASSERT(core::Bytes(blob.begin(), blob.end()) == encoded);
  MEDLEDGER_ASSERT(hsm::decode_wrapped_key(encoded).ok());
  return 0;
}

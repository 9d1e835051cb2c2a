// Canonical JSON (core/canonical_json.h): the strict parser every ledger format goes
// through. Whatever parses must canonicalize to a text that parses again to the same
// canonical bytes, and is_canonical_json must agree.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "medledger/core/assert.h"
#include "medledger/core/canonical_json.h"

using namespace medledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = core::parse_restricted_json(text);
  const bool canonical = core::is_canonical_json(text);
  if (!parsed) {
    MEDLEDGER_ASSERT(!canonical);
    return 0;
  }
  MEDLEDGER_ASSERT(core::check_restricted_schema(*parsed).ok());
  const std::string once = core::canonicalize(*parsed);
  MEDLEDGER_ASSERT(canonical == (once == text));
  auto again = core::canonicalize_json_text(once);
  MEDLEDGER_ASSERT(again.ok() && *again == once);
  MEDLEDGER_ASSERT(core::is_canonical_json(once));
  return 0;
}

// Revocation reasons (RFC 5280 section 5.3.1 CRLReason) and revoked entries.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include "medledger/core/result.h"

namespace medledger::ca {

/// RFC 5280 CRLReason codes (value 7 is unused in the RFC).
enum class RevocationReason : int {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kCaCompromise = 2,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
  kCertificateHold = 6,
  kRemoveFromCrl = 8,
  kPrivilegeWithdrawn = 9,
  kAaCompromise = 10,
};

/// "unspecified", "keyCompromise", ... (the RFC 5280 / openssl ca names).
std::string_view revocation_reason_name(RevocationReason reason);
/// Inverse of revocation_reason_name, case-insensitive; kInvalidArgument otherwise.
core::Result<RevocationReason> parse_revocation_reason(std::string_view name);

struct RevokedEntry {
  std::string serial_hex;  // as Certificate::serial_hex
  std::time_t revoked_at = 0;
  RevocationReason reason = RevocationReason::kUnspecified;
};

}  // namespace medledger::ca

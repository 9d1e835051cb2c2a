#include "medledger/ca/revocation.h"

#include <array>
#include <strings.h>

namespace medledger::ca {

namespace {
struct ReasonName {
  RevocationReason reason;
  std::string_view name;
};
constexpr std::array<ReasonName, 10> kReasons{{
    {RevocationReason::kUnspecified, "unspecified"},
    {RevocationReason::kKeyCompromise, "keyCompromise"},
    {RevocationReason::kCaCompromise, "cACompromise"},
    {RevocationReason::kAffiliationChanged, "affiliationChanged"},
    {RevocationReason::kSuperseded, "superseded"},
    {RevocationReason::kCessationOfOperation, "cessationOfOperation"},
    {RevocationReason::kCertificateHold, "certificateHold"},
    {RevocationReason::kRemoveFromCrl, "removeFromCRL"},
    {RevocationReason::kPrivilegeWithdrawn, "privilegeWithdrawn"},
    {RevocationReason::kAaCompromise, "aACompromise"},
}};
}  // namespace

std::string_view revocation_reason_name(RevocationReason reason) {
  for (const auto& entry : kReasons) {
    if (entry.reason == reason) return entry.name;
  }
  return "unspecified";
}

core::Result<RevocationReason> parse_revocation_reason(std::string_view name) {
  for (const auto& entry : kReasons) {
    if (entry.name.size() == name.size() &&
        strncasecmp(entry.name.data(), name.data(), name.size()) == 0) {
      return entry.reason;
    }
  }
  return core::make_error(
      core::ErrorCode::kInvalidArgument,
      "unknown revocation reason '" + std::string(name) +
          "' (unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, "
          "cessationOfOperation, certificateHold, removeFromCRL, privilegeWithdrawn, "
          "aACompromise)");
}

}  // namespace medledger::ca

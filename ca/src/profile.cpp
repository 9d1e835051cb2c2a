#include "medledger/ca/profile.h"

#include <array>

#include "medledger/ca/limits.h"
#include "medledger/core/assert.h"

namespace medledger::ca {

namespace {
// The CA's policy (docs/ca.md). Persons may hold Ed25519 keys; nodes are TLS
// servers and keep P-256 for interoperability. Validities follow the rotation
// each role can bear: patients rarely re-enrol, nodes and privileged staff often.
constexpr std::array<Profile, 5> kProfiles{{
    //  role            ed25519 default max  server keyAgr commit SANs
    {Role::kDoctor, true, 365, 730, false, false, true, false},
    {Role::kPatient, true, 730, 1825, false, false, true, false},
    {Role::kNode, false, 365, 398, true, true, false, true},
    {Role::kAuditor, true, 180, 365, false, false, false, false},
    {Role::kAdmin, true, 180, 365, false, false, false, false},
}};

constexpr std::array<std::string_view, 5> kRoleNames{"doctor", "patient", "node", "auditor",
                                                     "admin"};

// The combinations the issuing code relies on: rows in Role order (profile_for
// indexes by role); a validity a default request can get; keyAgreement only for
// P-256 keys (Ed25519 cannot do ECDH); serverAuth and SANs go together (a TLS
// server is named by its SANs) and only on P-256.
constexpr bool profiles_consistent() {
  for (std::size_t i = 0; i < kProfiles.size(); ++i) {
    const Profile& p = kProfiles[i];
    if (static_cast<std::size_t>(p.role) != i) return false;
    if (p.default_validity_days <= 0 || p.default_validity_days > p.max_validity_days) return false;
    if (p.key_agreement && p.allows_ed25519) return false;
    if (p.server_auth != p.allows_subject_alt_names) return false;
    if (p.server_auth && p.allows_ed25519) return false;
  }
  return true;
}
static_assert(profiles_consistent(), "the profile table breaks an invariant of issue.cpp");

std::size_t role_index(Role role) {
  const auto index = static_cast<std::size_t>(role);
  MEDLEDGER_ASSERT(index < kRoleNames.size());  // a Role made from an unchecked integer
  return index;
}
}  // namespace

std::string_view role_name(Role role) { return kRoleNames[role_index(role)]; }

core::Result<Role> parse_role(std::string_view name) {
  for (std::size_t i = 0; i < kRoleNames.size(); ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return core::make_error(
      core::ErrorCode::kInvalidArgument,
      "unknown role '" + std::string(name) + "' (doctor, patient, node, auditor, admin)");
}

const Profile& profile_for(Role role) { return kProfiles[role_index(role)]; }
std::span<const Profile> all_profiles() { return kProfiles; }

bool is_valid_identifier(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(id.front())) return false;
  for (char c : id) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace medledger::ca

// Roles and the certificate profile of each: which keys, how long, which uses.
//
// The profile table is the CA's policy. A request outside it is refused with
// kProfileViolation, never silently adjusted (docs/ca.md lists the table).
#pragma once

#include <span>
#include <string_view>

#include "medledger/core/result.h"
#include "medledger/core/signer.h"

namespace medledger::ca {

/// The role a certificate grants; written in the subject's OU.
enum class Role { kDoctor, kPatient, kNode, kAuditor, kAdmin };

/// "doctor", "patient", "node", "auditor", "admin".
std::string_view role_name(Role role);
/// Inverse of role_name; kInvalidArgument for anything else (case-sensitive).
core::Result<Role> parse_role(std::string_view name);

struct Profile {
  Role role;
  bool allows_ed25519;            // P-256 is allowed for every role
  int default_validity_days;      // used when the request names no validity
  int max_validity_days;          // a request beyond this is a kProfileViolation
  bool server_auth;               // extendedKeyUsage serverAuth besides clientAuth
  bool key_agreement;             // keyUsage keyAgreement (ECDH for TLS / record keys)
  bool content_commitment;        // keyUsage nonRepudiation: the holder signs records
  bool allows_subject_alt_names;  // DNS / IP SANs copied from the CSR
};

/// The profile of `role` (static table, never fails).
const Profile& profile_for(Role role);
/// All profiles in Role order.
std::span<const Profile> all_profiles();

/// True if `id` may be a pseudonymous id or hospital id: 1..kMaxIdLength of
/// [A-Za-z0-9._-], starting with a letter or digit.
bool is_valid_identifier(std::string_view id);

}  // namespace medledger::ca

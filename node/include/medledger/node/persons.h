// node::Persons: the doctors, patients and auditors enrolled at a HospitalNode --
// enrolment (key, certificate, cert.register, PIN verifier, patient key), lookup
// and revocation. Reached as HospitalNode::persons(); docs/node.md lists each
// call's errors. Thread-safe (see hospital_node.h).
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "medledger/ca/certificate.h"
#include "medledger/ca/profile.h"
#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/receipt.h"
#include "medledger/node/person_directory.h"

namespace medledger::node {

struct NodeContext;
class Custody;
class HospitalCa;
class PatientKeyring;

struct EnrolRequest {
  ca::Role role = ca::Role::kDoctor;  // doctor, patient or auditor
  std::string id;                     // pseudonymous id (ca::is_valid_identifier)
  core::SecretBytes pin;              // kMinPinBytes..kMaxPinBytes; may be empty with a public key
  /// Set: the person keeps their own key (a device) and signs externally; the
  /// node certifies this public key (DER SPKI) and generates none. Such a person
  /// needs no PIN (the node never signs for them): with an empty `pin` none is
  /// stored; a PIN given anyway is kept but opens nothing.
  std::optional<core::Bytes> external_public_key;
};

struct Enrolment {
  std::string principal;
  ca::Certificate certificate;
  core::Digest fingerprint{};
  ledger::Receipt receipt;  // of the cert.register
};

class Persons {
 public:
  Persons(NodeContext& node, Custody& custody, PatientKeyring& keys, HospitalCa& ca)
      : node_(node), custody_(custody), keys_(keys), ca_(ca) {}
  Persons(const Persons&) = delete;
  Persons& operator=(const Persons&) = delete;

  /// Key in the token (or wrapped), certificate from the CA, cert.register on the
  /// ledger, PIN verifier stored here; a patient also gets a patient key.
  /// kInvalidArgument (id, role, PIN), kAlreadyExists, ledger rejection codes.
  /// Cost: a key generation, a certificate and a ledger signature, one scrypt, a commit.
  core::Result<Enrolment> enrol(const EnrolRequest& request);
  /// The person enrolled here. kNotFound otherwise.
  core::Result<PersonEntry> find(std::string_view principal) const;
  /// Revokes the person's certificate: their PIN record is locked first (no
  /// custodial signature from then on, whatever follows), then cert.revoke signed
  /// by the hospital CA, then the revocation in the CA directory (for crl_pem).
  /// `reason` is an RFC 5280 name (ca::parse_revocation_reason) other than
  /// removeFromCRL. kNotFound (not enrolled here), kInvalidArgument (reason),
  /// kCertAlreadyRevoked (on the ledger already: the PIN and CA directory are still
  /// brought in line), ledger codes. Cost: a PIN file write, a token signature, a commit.
  core::Result<ledger::Receipt> revoke(std::string_view principal, std::string_view reason);

 private:
  struct Undo;
  struct Claim;
  // The person's key: the external one, a wrapped one or one made in the token.
  core::Result<core::Bytes> make_key(const EnrolRequest& request, PersonEntry& person);

  NodeContext& node_;  // not const: enrolment adds to its person directory
  Custody& custody_;
  PatientKeyring& keys_;
  HospitalCa& ca_;
  std::mutex enrolling_mutex_;
  std::set<std::string, std::less<>> enrolling_;  // principals being enrolled now
};

}  // namespace medledger::node

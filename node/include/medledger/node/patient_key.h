// The per-patient key and its wrapping for each node that may read
// (docs/architecture.md). Formats and the reasons for each choice: docs/encryption.md.
//
// A patient key is 32 random bytes with a version; a revocation rotates it (a new
// version) so later records are sealed under a key the revoked grantee never got.
// It travels only wrapped for one recipient node's encryption key:
//
//   writer:  ephemeral P-256 key e (software);  Z = ECDH(e, recipient)
//   reader:  Z = ECDH(recipient private key in its token, e_pub)
//   both:    K = HKDF-SHA256(IKM = Z, salt = e_pub point, info = context), 32 bytes
//            ciphertext = AES-256-GCM(K, random nonce, AAD = context, patient key)
//   context = LP("medledger-patient-key-v1") || LP(patient_id) || U64(key_version)
//             || LP(SHA-256(recipient SPKI DER))
//
//     auto key = generate_patient_key("patient-42");
//     auto wrapped = wrap_patient_key_for(node_b_spki, *key);          // no token needed
//     auto same = unwrap_patient_key(node_b_token_key, *wrapped);      // one ECDH in B's token
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"

// Declared only: this header (and the record headers that include it) stays free
// of the token's PKCS#11 headers.
namespace medledger::hsm {
class KeyAgreement;
}  // namespace medledger::hsm

namespace medledger::node {

/// The "format" value of a wrapped patient key (and the first context field).
inline constexpr std::string_view kWrappedPatientKeyFormat = "medledger-patient-key-v1";

struct PatientKey {
  std::string patient_id;     // 1..kMaxIdentifierBytes printable ASCII
  std::uint64_t version = 0;  // 1..kMaxVersion; +1 on each rotation
  core::SecretBytes key;      // kPatientKeySize bytes
};

/// A fresh patient key: kPatientKeySize bytes from the CSPRNG. kInvalidArgument for a
/// bad patient id or version. CPU only.
core::Result<PatientKey> generate_patient_key(std::string patient_id, std::uint64_t version = 1);

/// The next version of `current` with fresh random bytes (after a revocation).
/// kInvalidArgument if the version would pass kMaxVersion.
core::Result<PatientKey> rotate_patient_key(const PatientKey& current);

/// A patient key wrapped for one recipient node (all byte fields raw here,
/// base64url in JSON).
struct WrappedPatientKey {
  std::string patient_id;
  std::uint64_t key_version = 0;
  core::Bytes recipient;         // SHA-256 of the recipient's encryption SPKI DER (32 bytes)
  core::Bytes ephemeral_public;  // uncompressed P-256 point, 65 bytes
  core::Bytes nonce;             // 12 bytes
  core::Bytes ciphertext;        // 32-byte key + 16-byte tag

  /// The JSON object of docs/encryption.md (restricted schema: canonicalize() applies).
  boost::json::object to_json() const;
  /// Parses and checks every field's presence, type and size; unknown members are
  /// rejected. kMalformedEncoding on any deviation.
  static core::Result<WrappedPatientKey> from_json(const boost::json::object& object);
  /// Canonical JSON text (RFC 8785) of to_json().
  std::string to_json_text() const;
  /// parse_restricted_json (at most kMaxWrappedPatientKeyJson bytes) then from_json.
  static core::Result<WrappedPatientKey> from_json_text(std::string_view text);
};

/// Wraps `key` for the node whose encryption public key is `recipient_spki` (DER
/// SPKI, P-256): a fresh ephemeral key per call, so two wraps differ. Errors:
/// kMalformedEncoding / kUnsupportedAlgorithm for a bad recipient key,
/// kInvalidArgument for a malformed PatientKey. Cost: one keygen + one ECDH in software.
core::Result<WrappedPatientKey> wrap_patient_key_for(core::ByteView recipient_spki,
                                                     const PatientKey& key);

/// Unwraps with the recipient's key agreement key (normally the token's).
/// kDecryptionFailed if the blob names another recipient key, or if the
/// ciphertext, nonce, ephemeral key or any bound field (patient id, version) was
/// altered; kMalformedEncoding for a wrong-sized field or an ephemeral point not on
/// the curve. Cost: one ECDH by `recipient` (a token round trip) + HKDF + AES-GCM.
core::Result<PatientKey> unwrap_patient_key(hsm::KeyAgreement& recipient,
                                            const WrappedPatientKey& wrapped);

}  // namespace medledger::node

#include "medledger/node/patient_key.h"

#include "crypto_primitives.h"
#include "json_fields.h"
#include "medledger/core/canonical_json.h"
#include "medledger/core/signer.h"
#include "medledger/hsm/public_key.h"
#include "medledger/node/limits.h"
#include "medledger/node/software_key_agreement.h"

namespace medledger::node {

namespace {
using core::ErrorCode;

constexpr std::size_t kFingerprintSize = core::kSha256Size;
constexpr std::size_t kWrappedKeyCiphertextSize = kPatientKeySize + kGcmTagSize;

// The bytes bound into both HKDF info and the AES-GCM AAD (docs/encryption.md).
core::Bytes wrap_context(std::string_view patient_id, std::uint64_t version,
                         core::ByteView recipient) {
  detail::ContextBytes context;
  context.field(kWrappedPatientKeyFormat).field(patient_id).integer(version).field(recipient);
  return context.bytes();
}

core::Result<core::SecretBytes> key_encryption_key(const core::SecretBytes& shared_secret,
                                                   core::ByteView ephemeral_point,
                                                   core::ByteView context) {
  return detail::hkdf_sha256(shared_secret.view(), ephemeral_point, context, kAesKeySize);
}

core::Result<void> check_patient_key(const PatientKey& key) {
  MEDLEDGER_TRY(detail::require_identifier("a patient id", key.patient_id));
  MEDLEDGER_TRY(detail::require_version("a patient key version", key.version));
  if (key.key.size() != kPatientKeySize) {
    return core::make_error(ErrorCode::kInvalidArgument, "a patient key must be 32 bytes");
  }
  return core::success();
}
}  // namespace

core::Result<PatientKey> generate_patient_key(std::string patient_id, std::uint64_t version) {
  MEDLEDGER_TRY(detail::require_identifier("a patient id", patient_id));
  MEDLEDGER_TRY(detail::require_version("a patient key version", version));
  MEDLEDGER_TRY_ASSIGN(auto bytes, detail::random_secret(kPatientKeySize));
  return PatientKey{std::move(patient_id), version, std::move(bytes)};
}

core::Result<PatientKey> rotate_patient_key(const PatientKey& current) {
  MEDLEDGER_TRY(check_patient_key(current));
  if (current.version >= kMaxVersion) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "the patient key version cannot grow further");
  }
  return generate_patient_key(current.patient_id, current.version + 1);
}

boost::json::object WrappedPatientKey::to_json() const {
  boost::json::object out;
  out["format"] = kWrappedPatientKeyFormat;
  out["patient_id"] = patient_id;
  out["key_version"] = static_cast<std::int64_t>(key_version);
  out["recipient"] = core::base64url_encode(recipient);
  out["ephemeral_public_key"] = core::base64url_encode(ephemeral_public);
  out["nonce"] = core::base64url_encode(nonce);
  out["ciphertext"] = core::base64url_encode(ciphertext);
  return out;
}

std::string WrappedPatientKey::to_json_text() const { return core::canonicalize(to_json()); }

core::Result<WrappedPatientKey> WrappedPatientKey::from_json(const boost::json::object& object) {
  MEDLEDGER_TRY(detail::require_exactly(object,
                                        {"format", "patient_id", "key_version", "recipient",
                                         "ephemeral_public_key", "nonce", "ciphertext"},
                                        "a wrapped patient key"));
  MEDLEDGER_TRY_ASSIGN(auto format, detail::string_field(object, "format"));
  if (format != kWrappedPatientKeyFormat) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "not a " + std::string(kWrappedPatientKeyFormat) + " object");
  }
  WrappedPatientKey out;
  auto patient_id = detail::string_field(object, "patient_id");
  if (!patient_id) return patient_id.error();
  if (!detail::valid_identifier(*patient_id)) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "field 'patient_id' is not a valid identifier");
  }
  out.patient_id = std::move(*patient_id);
  MEDLEDGER_TRY_ASSIGN(auto version, detail::integer_field(object, "key_version"));
  if (!detail::valid_version(version)) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "field 'key_version' must be at least 1");
  }
  out.key_version = version;
  auto recipient = detail::bytes_field(object, "recipient", kFingerprintSize);
  if (!recipient) return recipient.error();
  out.recipient = std::move(*recipient);
  MEDLEDGER_TRY_ASSIGN(auto ephemeral,
                       detail::bytes_field(object, "ephemeral_public_key", hsm::kP256PointSize));
  out.ephemeral_public = std::move(ephemeral);
  auto nonce = detail::bytes_field(object, "nonce", kGcmNonceSize);
  if (!nonce) return nonce.error();
  out.nonce = std::move(*nonce);
  auto ciphertext = detail::bytes_field(object, "ciphertext", kWrappedKeyCiphertextSize);
  if (!ciphertext) return ciphertext.error();
  out.ciphertext = std::move(*ciphertext);
  return out;
}

core::Result<WrappedPatientKey> WrappedPatientKey::from_json_text(std::string_view text) {
  MEDLEDGER_TRY_ASSIGN(auto value, core::parse_restricted_json(text, kMaxWrappedPatientKeyJson));
  if (!value.is_object())
    return core::make_error(ErrorCode::kMalformedEncoding, "a wrapped patient key is an object");
  return from_json(value.get_object());
}

core::Result<WrappedPatientKey> wrap_patient_key_for(core::ByteView recipient_spki,
                                                     const PatientKey& key) {
  MEDLEDGER_TRY(check_patient_key(key));
  // Parse first: a bad recipient key fails before any key material is made.
  MEDLEDGER_TRY_ASSIGN(auto recipient_point, hsm::p256_point_from_spki(recipient_spki));

  MEDLEDGER_TRY_ASSIGN(auto ephemeral, SoftwareKeyAgreement::generate());
  MEDLEDGER_TRY_ASSIGN(auto shared, ephemeral->derive_shared_secret(recipient_spki));

  WrappedPatientKey out;
  out.patient_id = key.patient_id;
  out.key_version = key.version;
  out.recipient = core::to_bytes(core::public_key_fingerprint(recipient_spki));
  out.ephemeral_public = ephemeral->public_point();
  const core::Bytes context = wrap_context(out.patient_id, out.key_version, out.recipient);
  MEDLEDGER_TRY_ASSIGN(auto kek, key_encryption_key(shared, out.ephemeral_public, context));
  auto nonce = detail::random_bytes(kGcmNonceSize);
  if (!nonce) return nonce.error();
  out.nonce = std::move(*nonce);
  auto ciphertext = detail::aes256gcm_seal(kek, out.nonce, context, key.key.view());
  if (!ciphertext) return ciphertext.error();
  out.ciphertext = std::move(*ciphertext);
  return out;
}

core::Result<PatientKey> unwrap_patient_key(hsm::KeyAgreement& recipient,
                                            const WrappedPatientKey& wrapped) {
  if (wrapped.recipient.size() != kFingerprintSize ||
      wrapped.ephemeral_public.size() != hsm::kP256PointSize ||
      wrapped.nonce.size() != kGcmNonceSize ||
      wrapped.ciphertext.size() != kWrappedKeyCiphertextSize ||
      !detail::valid_identifier(wrapped.patient_id) ||
      !detail::valid_version(wrapped.key_version)) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "a wrapped patient key field has the wrong size or form");
  }
  const core::Digest own = core::public_key_fingerprint(recipient.public_key_spki());
  if (!core::constant_time_equal(own, wrapped.recipient)) {
    return core::make_error(ErrorCode::kDecryptionFailed,
                            "the patient key is wrapped for another node's key (recipient " +
                                core::hex_encode(wrapped.recipient) + ", ours " +
                                core::hex_encode(own) + ")");
  }
  // An ephemeral point off the curve is a tampered blob, like any other altered byte.
  auto ephemeral_spki =
      hsm::spki_from_ec_point(core::KeyAlgorithm::kEcdsaP256, wrapped.ephemeral_public);
  if (!ephemeral_spki) {
    return core::make_error(ErrorCode::kDecryptionFailed,
                            "the ephemeral key of the wrapped patient key is not a P-256 point");
  }
  auto shared = recipient.derive_shared_secret(*ephemeral_spki);
  if (!shared) {
    if (shared.error().code == ErrorCode::kMalformedEncoding) {
      return core::make_error(ErrorCode::kDecryptionFailed,
                              "the ephemeral key of the wrapped patient key is not a P-256 point");
    }
    return shared.error();
  }
  const core::Bytes context =
      wrap_context(wrapped.patient_id, wrapped.key_version, wrapped.recipient);
  MEDLEDGER_TRY_ASSIGN(auto kek, key_encryption_key(*shared, wrapped.ephemeral_public, context));
  auto key = detail::aes256gcm_open_secret(kek, wrapped.nonce, context, wrapped.ciphertext);
  if (!key) {
    return core::make_error(ErrorCode::kDecryptionFailed,
                            "the wrapped patient key does not decrypt: " + key.error().message);
  }
  return PatientKey{wrapped.patient_id, wrapped.key_version, std::move(*key)};
}

}  // namespace medledger::node

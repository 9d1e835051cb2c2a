#include "medledger/node/record_envelope.h"

#include <algorithm>

#include "crypto_primitives.h"
#include "json_fields.h"
#include "medledger/core/assert.h"
#include "medledger/core/canonical_json.h"

namespace medledger::node {

namespace {
using core::ErrorCode;

constexpr std::size_t kWrappedDataKeySize = kAesKeySize + kGcmTagSize;

std::size_t payload_limit(const RecordLimits& limits) {
  return std::min(limits.max_payload, kMaxRecordPayloadCeiling);
}

core::Bytes record_aad(const RecordContext& context, std::uint64_t patient_key_version) {
  detail::ContextBytes aad;
  aad.field(kSealedRecordFormat)
      .field(context.patient_id)
      .field(context.record_id)
      .integer(context.version)
      .field(context.content_type)
      .integer(patient_key_version);
  return aad.bytes();
}

core::Bytes data_key_aad(const RecordContext& context, std::uint64_t patient_key_version) {
  detail::ContextBytes aad;
  aad.field(kDataKeyContextLabel)
      .field(context.patient_id)
      .field(context.record_id)
      .integer(context.version)
      .integer(patient_key_version);
  return aad.bytes();
}

core::Result<void> check_context(const RecordContext& context) {
  MEDLEDGER_TRY(detail::require_identifier("a patient id", context.patient_id));
  MEDLEDGER_TRY(detail::require_identifier("a record id", context.record_id));
  MEDLEDGER_TRY(detail::require_version("a record version", context.version));
  if (!detail::valid_content_type(context.content_type)) {
    return core::make_error(ErrorCode::kInvalidArgument, "a content type must be 1-" +
                                                             std::to_string(kMaxContentTypeBytes) +
                                                             " printable ASCII characters");
  }
  return core::success();
}

core::Error too_large(std::size_t size, std::size_t limit) {
  return core::make_error(
      ErrorCode::kRecordTooLarge,
      "the payload is " + std::to_string(size) + " bytes; the limit is " + std::to_string(limit));
}
}  // namespace

boost::json::object SealedRecord::to_json() const {
  boost::json::object out;
  out["format"] = kSealedRecordFormat;
  out["patient_id"] = context.patient_id;
  out["record_id"] = context.record_id;
  out["version"] = static_cast<std::int64_t>(context.version);
  out["content_type"] = context.content_type;
  out["patient_key_version"] = static_cast<std::int64_t>(patient_key_version);
  out["data_key_nonce"] = core::base64url_encode(data_key_nonce);
  out["wrapped_data_key"] = core::base64url_encode(wrapped_data_key);
  out["nonce"] = core::base64url_encode(nonce);
  out["ciphertext"] = core::base64url_encode(ciphertext);
  return out;
}

std::string SealedRecord::to_json_text() const { return core::canonicalize(to_json()); }

core::Digest SealedRecord::digest() const { return sealed_record_digest(to_json()); }

core::Digest sealed_record_digest(const boost::json::object& envelope) {
  return core::sha256(core::to_bytes(core::canonicalize(envelope)));
}

core::Result<SealedRecord> SealedRecord::from_json(const boost::json::object& object) {
  MEDLEDGER_TRY(detail::require_exactly(
      object,
      {"format", "patient_id", "record_id", "version", "content_type", "patient_key_version",
       "data_key_nonce", "wrapped_data_key", "nonce", "ciphertext"},
      "a sealed record"));
  MEDLEDGER_TRY_ASSIGN(auto format, detail::string_field(object, "format"));
  if (format != kSealedRecordFormat) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "not a " + std::string(kSealedRecordFormat) + " object");
  }
  SealedRecord out;
  MEDLEDGER_TRY_ASSIGN(auto patient_id, detail::string_field(object, "patient_id"));
  MEDLEDGER_TRY_ASSIGN(auto record_id, detail::string_field(object, "record_id"));
  MEDLEDGER_TRY_ASSIGN(auto version, detail::integer_field(object, "version"));
  MEDLEDGER_TRY_ASSIGN(auto content_type, detail::string_field(object, "content_type"));
  out.context =
      RecordContext{std::move(patient_id), std::move(record_id), version, std::move(content_type)};
  if (auto valid = check_context(out.context); !valid) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "sealed record: " + valid.error().message);
  }
  MEDLEDGER_TRY_ASSIGN(auto key_version, detail::integer_field(object, "patient_key_version"));
  if (!detail::valid_version(key_version)) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "field 'patient_key_version' must be at least 1");
  }
  out.patient_key_version = key_version;
  auto data_key_nonce = detail::bytes_field(object, "data_key_nonce", kGcmNonceSize);
  if (!data_key_nonce) return data_key_nonce.error();
  out.data_key_nonce = std::move(*data_key_nonce);
  MEDLEDGER_TRY_ASSIGN(auto wrapped,
                       detail::bytes_field(object, "wrapped_data_key", kWrappedDataKeySize));
  out.wrapped_data_key = std::move(wrapped);
  auto nonce = detail::bytes_field(object, "nonce", kGcmNonceSize);
  if (!nonce) return nonce.error();
  out.nonce = std::move(*nonce);
  MEDLEDGER_TRY_ASSIGN(auto text, detail::string_field(object, "ciphertext"));
  const std::size_t max_ciphertext = kMaxRecordPayloadCeiling + kGcmTagSize;
  if (text.size() > (max_ciphertext * 4 + 2) / 3)
    return too_large(text.size() * 3 / 4, kMaxRecordPayloadCeiling);
  auto ciphertext = detail::bytes_field(object, "ciphertext", kGcmTagSize, max_ciphertext);
  if (!ciphertext) return ciphertext.error();
  out.ciphertext = std::move(*ciphertext);
  return out;
}

core::Result<SealedRecord> SealedRecord::from_json_text(std::string_view text) {
  if (text.size() > kMaxSealedRecordJson) {
    return core::make_error(
        ErrorCode::kRecordTooLarge,
        "a sealed record over " + std::to_string(kMaxSealedRecordJson) + " bytes of JSON");
  }
  MEDLEDGER_TRY_ASSIGN(auto value, core::parse_restricted_json(text, kMaxSealedRecordJson));
  if (!value.is_object())
    return core::make_error(ErrorCode::kMalformedEncoding, "a sealed record is an object");
  return from_json(value.get_object());
}

core::Result<SealedRecord> seal_record(const RecordContext& context, core::ByteView payload,
                                       const PatientKey& patient_key, const RecordLimits& limits) {
  MEDLEDGER_TRY(check_context(context));
  if (payload.size() > payload_limit(limits))
    return too_large(payload.size(), payload_limit(limits));
  if (patient_key.patient_id != context.patient_id || patient_key.key.size() != kPatientKeySize ||
      !detail::valid_version(patient_key.version)) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "the patient key is not a key of patient '" + context.patient_id + "'");
  }
  SealedRecord out;
  out.context = context;
  out.patient_key_version = patient_key.version;

  MEDLEDGER_TRY_ASSIGN(auto data_key, detail::random_secret(kAesKeySize));
  auto nonce = detail::random_bytes(kGcmNonceSize);
  if (!nonce) return nonce.error();
  out.nonce = std::move(*nonce);
  auto ciphertext = detail::aes256gcm_seal(data_key, out.nonce,
                                           record_aad(context, out.patient_key_version), payload);
  if (!ciphertext) return ciphertext.error();
  out.ciphertext = std::move(*ciphertext);

  auto data_key_nonce = detail::random_bytes(kGcmNonceSize);
  if (!data_key_nonce) return data_key_nonce.error();
  out.data_key_nonce = std::move(*data_key_nonce);
  auto wrapped =
      detail::aes256gcm_seal(patient_key.key, out.data_key_nonce,
                             data_key_aad(context, out.patient_key_version), data_key.view());
  if (!wrapped) return wrapped.error();
  out.wrapped_data_key = std::move(*wrapped);
  // The sizes open_record and from_json insist on.
  MEDLEDGER_ASSERT(out.ciphertext.size() == payload.size() + kGcmTagSize);
  MEDLEDGER_ASSERT(out.wrapped_data_key.size() == kWrappedDataKeySize);
  MEDLEDGER_ASSERT(out.nonce.size() == kGcmNonceSize && out.data_key_nonce.size() == kGcmNonceSize);
  return out;
}

core::Result<core::Bytes> open_record(const SealedRecord& sealed, const PatientKey& patient_key,
                                      const RecordLimits& limits) {
  if (auto valid = check_context(sealed.context); !valid) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "sealed record: " + valid.error().message);
  }
  if (sealed.nonce.size() != kGcmNonceSize || sealed.data_key_nonce.size() != kGcmNonceSize ||
      sealed.wrapped_data_key.size() != kWrappedDataKeySize ||
      sealed.ciphertext.size() < kGcmTagSize) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "a sealed record field has the wrong size");
  }
  const std::size_t payload_size = sealed.ciphertext.size() - kGcmTagSize;
  if (payload_size > payload_limit(limits)) return too_large(payload_size, payload_limit(limits));
  if (patient_key.patient_id != sealed.context.patient_id ||
      patient_key.version != sealed.patient_key_version) {
    return core::make_error(
        ErrorCode::kDecryptionFailed,
        "the record is sealed under version " + std::to_string(sealed.patient_key_version) +
            " of patient '" + sealed.context.patient_id + "''s key; this node holds version " +
            std::to_string(patient_key.version) + " of '" + patient_key.patient_id + "'");
  }
  if (patient_key.key.size() != kPatientKeySize) {
    return core::make_error(ErrorCode::kInvalidArgument, "a patient key must be 32 bytes");
  }
  auto data_key = detail::aes256gcm_open_secret(
      patient_key.key, sealed.data_key_nonce,
      data_key_aad(sealed.context, sealed.patient_key_version), sealed.wrapped_data_key);
  if (!data_key) {
    return core::make_error(ErrorCode::kDecryptionFailed,
                            "the data key does not unwrap: " + data_key.error().message);
  }
  return detail::aes256gcm_open(*data_key, sealed.nonce,
                                record_aad(sealed.context, sealed.patient_key_version),
                                sealed.ciphertext);
}

}  // namespace medledger::node

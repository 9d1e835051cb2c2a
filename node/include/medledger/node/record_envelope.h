// Sealed records: a payload encrypted with AES-256-GCM under a fresh per-record
// data key, the data key wrapped under the patient key (docs/architecture.md).
// Exact formats and the reasons for them: docs/encryption.md.
//
//   data key D: 32 random bytes, one per record version, never reused
//   ciphertext         = AES-256-GCM(D, random nonce, AAD = record context, payload)
//   wrapped_data_key   = AES-256-GCM(patient key, random nonce, AAD = data-key context, D)
//   record context   = LP("medledger-record-v1") || LP(patient_id) || LP(record_id)
//                      || U64(version) || LP(content_type) || U64(patient_key_version)
//   data-key context = LP("medledger-data-key-v1") || LP(patient_id) || LP(record_id)
//                      || U64(version) || U64(patient_key_version)
//
// Binding the record id, version, content type, patient and key version into the
// AAD means a ciphertext or wrapped data key moved to another record (or relabelled)
// no longer decrypts.
//
//     auto sealed = seal_record({"patient-42", "rec-1", 1, "application/fhir+json"}, fhir,
//     patient_key); auto text = sealed->to_json_text(); auto plain =
//     open_record(*SealedRecord::from_json_text(text), patient_key);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/node/limits.h"
#include "medledger/node/patient_key.h"

namespace medledger::node {

/// The "format" value of a sealed record (and the first field of its AAD).
inline constexpr std::string_view kSealedRecordFormat = "medledger-record-v1";
/// The first field of the data-key AAD.
inline constexpr std::string_view kDataKeyContextLabel = "medledger-data-key-v1";

/// Which record version this is; all of it is bound into the AAD.
struct RecordContext {
  std::string patient_id;     // the owner; 1..kMaxIdentifierBytes printable ASCII
  std::string record_id;      // 1..kMaxIdentifierBytes printable ASCII
  std::uint64_t version = 1;  // 1..kMaxVersion
  std::string content_type;   // e.g. "application/fhir+json"; 1..kMaxContentTypeBytes
};

/// Size limits a node's config may set; each is clamped to its ceiling.
struct RecordLimits {
  std::size_t max_payload = kDefaultMaxRecordPayload;  // clamped to kMaxRecordPayloadCeiling
};

struct SealedRecord {
  RecordContext context;
  std::uint64_t patient_key_version = 0;
  core::Bytes data_key_nonce;    // 12 bytes
  core::Bytes wrapped_data_key;  // 32 + 16 bytes
  core::Bytes nonce;             // 12 bytes
  core::Bytes ciphertext;        // payload + 16-byte tag

  /// The JSON object of docs/encryption.md (restricted schema).
  boost::json::object to_json() const;
  /// Checks presence, type and size of every member; unknown members rejected.
  /// kMalformedEncoding on any deviation; kRecordTooLarge if the ciphertext
  /// exceeds the payload ceiling.
  static core::Result<SealedRecord> from_json(const boost::json::object& object);
  /// Canonical JSON text (RFC 8785) of to_json().
  std::string to_json_text() const;
  /// parse_restricted_json (at most kMaxSealedRecordJson bytes) then from_json.
  static core::Result<SealedRecord> from_json_text(std::string_view text);

  /// SHA-256 of the canonical JSON text: what a ledger entry can anchor.
  core::Digest digest() const;
};

/// SHA-256 of an envelope object's canonical JSON text: SealedRecord::digest() of
/// the record `envelope` encodes, for a caller that holds the object already.
core::Digest sealed_record_digest(const boost::json::object& envelope);

/// Encrypts `payload` under a fresh data key and wraps that key under
/// `patient_key`. kInvalidArgument for a bad context or a patient key of another
/// patient; kRecordTooLarge if the payload exceeds limits.max_payload (clamped to
/// the ceiling). Cost: two AES-GCM passes in software, O(payload).
core::Result<SealedRecord> seal_record(const RecordContext& context, core::ByteView payload,
                                       const PatientKey& patient_key,
                                       const RecordLimits& limits = {});

/// Unwraps the data key with `patient_key` and decrypts. kDecryptionFailed if any
/// byte of the ciphertext, nonces, wrapped data key or bound context was altered,
/// or `patient_key` is not the key (patient and version) it was sealed under;
/// kRecordTooLarge over the limit. Cost: two AES-GCM passes, O(payload).
core::Result<core::Bytes> open_record(const SealedRecord& sealed, const PatientKey& patient_key,
                                      const RecordLimits& limits = {});

}  // namespace medledger::node

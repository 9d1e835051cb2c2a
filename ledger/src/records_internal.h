// Internal pieces of the medical-records contract: body reading, the write plan,
// state keys and entry (de)serialization, and signer resolution. Shared by
// records_contract.cpp (dispatch), records_rules_*.cpp (one file per group of
// types), records_state.cpp (lookups) and records_signers.cpp; the table of types
// and their rules is transaction_types.h.
#pragma once

#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "medledger/ca/certificate.h"
#include "medledger/ca/profile.h"
#include "medledger/ca/validation.h"
#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/ledger/contract.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"

namespace medledger::ledger::records {

namespace json = boost::json;

/// One state write an accepted transaction makes; validate builds them, apply writes them.
struct Write {
  std::string_view table;  // one of the kTable* constants (static storage)
  core::Bytes key;
  std::string value;  // canonical JSON
};
using Plan = std::vector<Write>;

/// Block time in seconds (for certificate validity), rounded down.
std::time_t block_seconds(const BlockContext& ctx);

// ---- keys ----
core::Bytes text_key(std::string_view text);
/// a ‖ 0x00 ‖ b
core::Bytes pair_key(std::string_view a, core::ByteView b);
core::Bytes pair_key(std::string_view a, std::string_view b);
/// a ‖ 0x00 ‖ u64be(n)
core::Bytes numbered_key(std::string_view a, std::uint64_t n);
core::Bytes digest_key(const core::Digest& d);
/// a ‖ 0x00 (the prefix of pair/numbered keys of a)
core::Bytes prefix_key(std::string_view a);

// ---- entries <-> JSON (records_state.cpp) ----
json::object certificate_json(const CertificateEntry& e);
json::object hospital_json(const HospitalEntry& e);
json::object record_json(const RecordEntry& e);
json::object record_version_json(const RecordVersionEntry& e);
json::object grant_json(const GrantEntry& e);
json::object read_json(const ReadEntry& e);
json::object patient_key_json(const PatientKeyEntry& e);
core::Result<CertificateEntry> parse_certificate_entry(std::string_view text);
core::Result<RecordEntry> parse_record_entry(std::string_view text);
core::Result<GrantEntry> parse_grant_entry(std::string_view text);
core::Result<HospitalEntry> parse_hospital_entry(std::string_view text);
core::Result<RecordVersionEntry> parse_record_version_entry(std::string_view text);
core::Result<ReadEntry> parse_read_entry(std::string_view text);
core::Result<PatientKeyEntry> parse_patient_key_entry(std::string_view text);
/// The bytes of a stored value as text (no copy).
std::string_view as_text(core::ByteView bytes);
/// Separator between the parts of a composite key.
inline constexpr std::uint8_t kKeySeparator = 0x00;

/// Reads the members of a transaction body, one call per member, with the
/// contract's bounds; finish() refuses members nobody asked for. Every failure is
/// kContractBodyInvalid naming the type and member.
class BodyReader {
 public:
  BodyReader(const json::object& body, std::string_view type) : body_(body), type_(type) {}

  bool has(std::string_view name) const { return body_.find(name) != body_.end(); }
  /// The raw value (marks it read); error when absent.
  core::Result<const json::value*> value(std::string_view name);
  /// A hospital or person id (ca::is_valid_identifier).
  core::Result<std::string> identifier(std::string_view name);
  /// "<hospital>/<id>".
  core::Result<std::string> principal(std::string_view name);
  /// A hospital id or a principal.
  core::Result<std::string> grantee(std::string_view name);
  /// 1..max_bytes printable ASCII (0x21-0x7e, or 0x20-0x7e with spaces).
  core::Result<std::string> text(std::string_view name, std::size_t max_bytes, bool spaces);
  /// Any string of 1..max_bytes bytes (PEM, reason names).
  core::Result<std::string> string(std::string_view name, std::size_t max_bytes);
  core::Result<std::int64_t> integer(std::string_view name, std::int64_t min, std::int64_t max);
  core::Result<core::Digest> digest(std::string_view name);
  core::Result<core::Bytes> bytes(std::string_view name, std::size_t max_bytes);
  /// An array of 0..max objects (opaque).
  core::Result<std::vector<json::object>> objects(std::string_view name, std::size_t max);
  /// Refuses members not read.
  core::Result<void> finish() const;
  /// The whole body (genesis reads its own way).
  const json::object& object() const { return body_; }

  core::Error invalid(std::string_view name, std::string_view what) const;

 private:
  const json::object& body_;
  std::string_view type_;
  std::vector<std::string> read_;
};

/// True for "<hospital>/<id>" with both parts valid identifiers.
bool is_principal(std::string_view text);
/// Record ids / grantee-like strings: 1..kMaxRecordIdBytes printable ASCII.
bool is_record_id(std::string_view text);

// ---- signers (records_signers.cpp) ----

/// What a signature's certificate is.
enum class SignerKind { kRoleCertificate, kHospitalCa, kCandidateCa };

struct ResolvedSigner {
  std::size_t index = 0;  // in tx.signatures
  core::Digest fingerprint{};
  SignerKind kind = SignerKind::kRoleCertificate;
  std::optional<CertificateEntry> entry;       // role certificates
  std::string hospital;                        // CA certificates: the hospital id
  std::optional<ca::Certificate> certificate;  // parsed DER (always set once resolved)
  std::string principal() const {
    return entry ? ledger::principal(entry->hospital, entry->id) : hospital;
  }
};

/// Looks up every signature's certificate (certs, cacerts, then `candidates`) and
/// verifies it over tx_id: kCertNotOnLedger, kSignatureInvalid, kUnsupportedAlgorithm.
core::Result<std::vector<ResolvedSigner>> resolve_signers(
    const Transaction& tx, const StateView& state,
    const std::vector<ca::Certificate>& candidates = {});

/// The admitted hospitals' CA certificates (self-signed as roots, others as intermediates).
core::Result<ca::TrustAnchors> load_trust_anchors(const StateView& state);

/// Exactly one signer per role in `roles` (in that order of checking) and no signer of
/// another role or kind: kDoctorSignatureMissing / kPatientSignatureMissing /
/// kNodeSignatureMissing, kSignerRoleDuplicated, kCertificateWrongRole. Then each is
/// not revoked (kCertificateRevoked) and validates at the block time with its role.
/// Returns the signers in `roles` order.
core::Result<std::vector<const ResolvedSigner*>> require_roles(
    const std::vector<ResolvedSigner>& signers, std::span<const ca::Role> roles,
    const ca::TrustAnchors& anchors, std::time_t at);

// ---- caches (records_cert_cache.cpp) ----

/// A role certificate parsed once per DER: the certificate, its SPKI and key algorithm.
struct ParsedRoleCertificate {
  ca::Certificate certificate;
  core::Bytes spki;
  core::KeyAlgorithm algorithm = core::KeyAlgorithm::kEcdsaP256;
  std::optional<core::Error> algorithm_error;  // the SPKI's algorithm is unusable
};
/// Certificate::from_der + SPKI + algorithm, cached by SHA-256(DER) (a pure function
/// of the bytes; bounded, thread-safe). kMalformedEncoding when the DER does not parse.
core::Result<ParsedRoleCertificate> parse_role_certificate(const core::Bytes& der);
/// verify_signature (transaction.h) with the parsed key material of `signer`; same
/// errors (kUnsupportedAlgorithm, kMalformedEncoding, kSignatureInvalid). `id` = tx_id(tx).
core::Result<void> verify_with(const Transaction& tx, std::size_t index,
                               const ParsedRoleCertificate& signer, const core::Digest& id);
/// SHA-256 over the anchors' fingerprints, roots and intermediates tagged apart:
/// names the admitted-CA set a chain validation was made against.
core::Digest trust_anchors_digest(const ca::TrustAnchors& anchors);
/// ca::validate_chain(leaf, anchors, {}, at, role), success or failure only. A success
/// is remembered with the path's common validity window under (leaf fingerprint,
/// anchors_digest, role); a later call strictly inside that window returns success
/// without building the path. Failures are never remembered, so a hit gives what a
/// miss would. Cost: a map lookup on a hit, a full path validation on a miss.
core::Result<void> validate_chain_cached(const ca::Certificate& leaf, const core::Digest& leaf_fp,
                                         const ca::TrustAnchors& anchors,
                                         const core::Digest& anchors_digest, std::time_t at,
                                         ca::Role role);

}  // namespace medledger::ledger::records

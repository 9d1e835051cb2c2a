// Transaction codec: the wire form, the signing bytes, tx_id and signatures.
//
// A transaction on the wire is one JSON object in canonical form
// (core/canonical_json.h, RFC 8785 over the restricted schema):
//
//   {"body":{...},"nonce":"<b64url>","signatures":[{"alg":"ecdsa-p256"|"ed25519",
//    "cert":"<b64url SHA-256 of signer certificate DER>","sig":"<b64url>"},...],
//    "time":<unix milliseconds>,"type":"record.put"}
//
//   signing bytes = canonical serialization of the object WITHOUT "signatures"
//   tx_id         = SHA-256(signing bytes)
//   each "sig"    = signature over SHA-256(signing bytes) = tx_id, exactly what
//                   core::Signer::sign_digest makes: ECDSA P-256 as X9.62 DER,
//                   Ed25519 over the 32 digest bytes as the message.
//
// docs/transactions.md states these rules for clients in other languages, with a
// worked example; tests/ledger/vectors/transactions.json holds known answers.
//
// The wire form must already be canonical: decode_transaction rejects any other
// spelling of the same object (kTxNotCanonical), so the stored bytes are the bytes
// the client sent and one meaning has one encoding. Clients that build JSON with a
// generic library can run core::canonicalize_json_text first.
//
// Errors: kTxMalformed (syntax, schema, missing / wrong-typed / unknown members, bad
// base64url, duplicate signer), kTxNotCanonical, kTxTooLarge, kTxUnknownType,
// kSignatureInvalid / kUnsupportedAlgorithm / kMalformedEncoding from verification.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/core/signer.h"

namespace medledger::ledger {

/// Hard ceiling on an encoded transaction; TransactionLimits may lower it, never raise it.
/// 1 MiB: records go on the ledger as ciphertext digests and small envelopes, not payloads.
inline constexpr std::size_t kMaxTransactionBytesCeiling = 1024 * 1024;
/// Default size limit of an encoded transaction (a record.put envelope is ~2 KiB).
inline constexpr std::size_t kDefaultMaxTransactionBytes = 256 * 1024;
/// Most signatures one transaction may carry (record.put needs 3; hospital.admit a quorum).
inline constexpr std::size_t kMaxTransactionSignatures = 16;
/// Nonce length bounds in bytes (decoded): at least 128 bits of uniqueness.
inline constexpr std::size_t kMinNonceBytes = 16;
inline constexpr std::size_t kMaxNonceBytes = 64;
/// Longest type name accepted before the known-type check.
inline constexpr std::size_t kMaxTypeNameBytes = 64;
/// Largest decoded signature (ECDSA P-256 DER is at most 72 bytes, Ed25519 64).
inline constexpr std::size_t kMaxSignatureBytes = 128;
/// A certificate fingerprint is a SHA-256 digest.
inline constexpr std::size_t kCertFingerprintBytes = core::kSha256Size;

/// The transaction types' names, spelled here once: one row each in the table of types
/// (ledger/src/transaction_types.h), which the codec and the contract follow.
inline constexpr std::string_view kTxGenesis = "genesis";
inline constexpr std::string_view kTxHospitalAdmit = "hospital.admit";
inline constexpr std::string_view kTxCertRegister = "cert.register";
inline constexpr std::string_view kTxCertRevoke = "cert.revoke";
inline constexpr std::string_view kTxRecordPut = "record.put";
inline constexpr std::string_view kTxAccessGrant = "access.grant";
inline constexpr std::string_view kTxAccessRevoke = "access.revoke";
inline constexpr std::string_view kTxRecordRead = "record.read";

/// Limits applied by decode_transaction; a config can lower them, never exceed the ceilings.
struct TransactionLimits {
  std::size_t max_bytes = kDefaultMaxTransactionBytes;     // clamped to the ceiling
  std::size_t max_signatures = kMaxTransactionSignatures;  // clamped to the constant
};

/// One signature: the algorithm, the signer certificate's fingerprint, the signature bytes.
struct TransactionSignature {
  core::KeyAlgorithm algorithm = core::KeyAlgorithm::kEcdsaP256;
  core::Digest cert_fingerprint{};  // SHA-256 of the signer certificate's DER
  core::Bytes signature;            // ECDSA X9.62 DER or 64-byte Ed25519
};

/// A decoded transaction. Every member except `signatures` is covered by the signing bytes.
struct Transaction {
  std::string type;          // e.g. "record.put"; see is_known_transaction_type
  std::int64_t time_ms = 0;  // client's Unix time in milliseconds, 0..kMaxJsonInteger
  core::Bytes nonce;         // kMinNonceBytes..kMaxNonceBytes random bytes
  boost::json::object body;  // type-specific content, restricted schema
  std::vector<TransactionSignature> signatures;
};

/// The types the ledger knows, in the order of its table of types
/// (ledger/src/transaction_types.h): genesis, hospital.admit, cert.register,
/// cert.revoke, record.put, access.grant, access.revoke, record.read.
std::span<const std::string_view> transaction_type_names();

/// True for a name of transaction_type_names().
bool is_known_transaction_type(std::string_view type);

/// Parses and checks a wire transaction. Rejects: over limits.max_bytes (kTxTooLarge),
/// invalid JSON / outside the restricted schema (kTxMalformed), a non-canonical
/// spelling (kTxNotCanonical), missing / wrong-typed / unknown members, bad base64url,
/// wrong nonce or fingerprint length, more than limits.max_signatures signatures, two
/// signatures with the same cert (kTxMalformed), an unknown type (kTxUnknownType).
/// Does NOT verify signatures (that needs the certificates: verify_signature).
/// Cost: O(size), no I/O.
core::Result<Transaction> decode_transaction(std::string_view json,
                                             const TransactionLimits& limits = {});

/// Checks the fields of a transaction built in memory (the same rules as decode,
/// except canonical spelling): kTxMalformed / kTxUnknownType / kTxTooLarge.
core::Result<void> check_transaction(const Transaction& tx, const TransactionLimits& limits = {});

/// The canonical serialization without "signatures": what every signature covers.
/// The transaction must pass check_transaction (asserted for the body's schema).
std::string signing_bytes(const Transaction& tx);

/// SHA-256(signing_bytes(tx)): the transaction's identity and the digest that is signed.
core::Digest tx_id(const Transaction& tx);

/// The canonical wire form including "signatures" (decode_transaction(encode(tx)) == tx).
std::string encode_transaction(const Transaction& tx);

/// Signs tx_id(tx) with `signer`, checks the signature under the signer's public key
/// and appends it under `cert_fingerprint`. Fails with kAlreadyExists if that
/// certificate already signed, kTxMalformed when the limit of signatures is reached,
/// kSignatureInvalid if the signer returned a signature that does not verify, or the
/// signer's error; the transaction is unchanged on failure. Cost: one sign_digest
/// call (a token round trip for hsm::TokenSigner) + one software verification (which
/// core remembers, so the contract's check of the same signature is a hash).
core::Result<void> add_signature(Transaction& tx, core::Signer& signer,
                                 const core::Digest& cert_fingerprint);

/// add_signature for a caller that already holds `id` = tx_id(tx) (several
/// signers in a row): the canonical encoding is not recomputed. A wrong `id` only
/// yields a signature the contract refuses (it checks against the transaction's
/// own id). Errors as add_signature.
core::Result<void> add_signature(Transaction& tx, const core::Digest& id, core::Signer& signer,
                                 const core::Digest& cert_fingerprint);

/// Verifies signature `index` over tx_id(tx) with the signer's public key (DER SPKI,
/// taken by the caller from the certificate the fingerprint names). Fails with
/// kInvalidArgument (index out of range), kUnsupportedAlgorithm (the key's type is not
/// the signature's "alg"), kMalformedEncoding (unparsable key), kSignatureInvalid.
/// The caller checks that the certificate's fingerprint is the signature's `cert`.
core::Result<void> verify_signature(const Transaction& tx, std::size_t index,
                                    core::ByteView signer_spki);

}  // namespace medledger::ledger

// Block headers: fields, canonical bytes, hash rule and the proposer's signature.
//
// A header is stored as canonical JSON (core/canonical_json.h, RFC 8785 subset):
//
//   {"height":H,"log_size":N,"merkle_root":"<b64url>","prev_hash":"<b64url>",
//    "proposer":"<b64url>","signature":"<b64url>","state_digest":"<b64url>",
//    "time":MS,"tx_count":K,"version":1}
//
//   signing bytes = the canonical form WITHOUT "signature"
//   signature     = proposer's core::Signer::sign_digest(SHA-256(signing bytes))
//   block hash    = SHA-256(canonical form WITH "signature")   -- the next block's prev_hash
//
// height 0 is the genesis block; its prev_hash is 32 zero bytes. log_size is the
// number of transactions in the log after this block, tx_count the number in it
// (they occupy sequences log_size - tx_count .. log_size - 1), merkle_root the
// RFC 9162 root over all log_size transactions, state_digest the running digest
// of state writes (docs/ledger.md), proposer the SHA-256 fingerprint of the
// proposer's SubjectPublicKeyInfo DER.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/merkle.h"

namespace medledger::ledger {

/// The header layout version written in "version".
inline constexpr std::int64_t kBlockFormatVersion = 1;
/// Largest stored header (ten members of bounded size; guards the parser).
inline constexpr std::size_t kMaxBlockHeaderBytes = 4096;

struct BlockHeader {
  std::uint64_t height = 0;
  core::Digest prev_hash{};
  std::int64_t time_ms = 0;
  std::uint64_t log_size = 0;
  std::uint64_t tx_count = 0;
  MerkleHash merkle_root{};
  core::Digest state_digest{};
  core::Digest proposer{};  // fingerprint of the proposer's SPKI
  core::Bytes signature;    // empty until signed
};

/// Canonical JSON without "signature": what the proposer signs. CPU only.
std::string header_signing_bytes(const BlockHeader& header);
/// Canonical JSON with "signature": the stored form. CPU only.
std::string encode_header(const BlockHeader& header);
/// SHA-256(encode_header(header)).
core::Digest block_hash(const BlockHeader& header);

/// Parses a stored header; it must be canonical and complete (kLedgerCorrupt otherwise).
core::Result<BlockHeader> decode_header(std::string_view json);

/// Sets proposer = fingerprint(signer's key) and signs the signing bytes.
/// Cost: one sign_digest (a token round trip with hsm::TokenSigner).
core::Result<void> sign_header(BlockHeader& header, core::Signer& signer);

/// Checks the proposer fingerprint is that of `proposer_spki` and the signature
/// verifies (core::verify_digest_signature). kSignatureInvalid otherwise. CPU only.
core::Result<void> verify_header_signature(const BlockHeader& header, core::ByteView proposer_spki);

}  // namespace medledger::ledger

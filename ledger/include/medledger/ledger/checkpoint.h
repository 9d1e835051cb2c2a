// Checkpoints: a signed statement "the log of <origin> has <size> entries with
// root <root>", in the C2SP tlog-checkpoint signed-note layout:
//
//   <origin>\n                      e.g. medledger/<hex genesis block hash>
//   <size>\n                        decimal
//   <base64 root>\n                 standard base64 (RFC 4648 section 4, padded)
//   \n
//   — <key name> <base64(key id || signature)>\n
//
// key id    = first 4 bytes of SHA-256(key name || "\n" || SPKI DER)
// signature = core::Signer::sign_digest(SHA-256(body)), body = the first three lines
//             with their newlines (ECDSA P-256 DER, or Ed25519 over the 32-byte
//             digest). Unlike C2SP's Ed25519 notes, the signature covers the body's
//             SHA-256, because signers sign digests (docs/ledger.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/merkle.h"

namespace medledger::ledger {

/// Longest checkpoint note accepted by the parser.
inline constexpr std::size_t kMaxCheckpointBytes = 4096;
using CheckpointKeyId = std::array<std::uint8_t, 4>;

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  MerkleHash root{};
};

struct SignedCheckpoint {
  Checkpoint checkpoint;
  std::string key_name;
  CheckpointKeyId key_id{};
  core::Bytes signature;
};

/// "<origin>\n<size>\n<base64 root>\n": the signed body.
std::string checkpoint_body(const Checkpoint& checkpoint);
/// The whole note (body, blank line, signature line).
std::string format_checkpoint(const SignedCheckpoint& signed_checkpoint);
/// First 4 bytes of SHA-256(key_name || "\n" || spki).
CheckpointKeyId checkpoint_key_id(std::string_view key_name, core::ByteView spki);

/// Signs `checkpoint` with `signer` under `key_name` (no spaces or newlines:
/// kInvalidArgument). Cost: one sign_digest.
core::Result<SignedCheckpoint> sign_checkpoint(const Checkpoint& checkpoint, core::Signer& signer,
                                               std::string_view key_name);
/// Parses a note; kMalformedEncoding when it is not the layout above.
core::Result<SignedCheckpoint> parse_checkpoint(std::string_view note);
/// Checks the key id and the signature with `spki`: kSignatureInvalid otherwise. CPU only.
core::Result<void> verify_checkpoint(const SignedCheckpoint& signed_checkpoint,
                                     core::ByteView spki);

}  // namespace medledger::ledger

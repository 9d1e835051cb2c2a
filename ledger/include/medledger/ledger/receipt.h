// Receipts: what a client keeps to prove its transaction is in the log with its
// outcome. JSON (canonical):
//
//   {"checkpoint":"<signed note, checkpoint.h>","height":H,
//    "inclusion_proof":["<b64url
//    hash>",...],"result":CODE,"result_name":"ACCEPTED"|"TX_REJECTED"|...,
//    "sequence":S,"tx_id":"<b64url>"}
//
// To check one (verify_receipt, or by hand): the checkpoint's signature verifies
// with the node's key; leaf = SHA-256(0x00 || u16be(result) || wire transaction);
// the RFC 9162 inclusion proof takes (sequence, leaf) to the checkpoint's root at
// its size; SHA-256(signing bytes of the wire transaction) = tx_id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/core/result.h"
#include "medledger/ledger/checkpoint.h"
#include "medledger/ledger/ledger.h"

namespace medledger::ledger {

struct Receipt {
  core::Digest tx_id{};
  std::uint64_t height = 0;
  std::uint64_t sequence = 0;
  std::uint16_t result = kTxAccepted;
  std::vector<MerkleHash> inclusion_proof;
  SignedCheckpoint checkpoint;
};

/// "ACCEPTED" for kTxAccepted, else the ErrorCode's stable name.
std::string result_name(std::uint16_t result);

/// The receipt of logged transaction `sequence` (in block `height`) with a proof to
/// `checkpoint` (whose size must exceed `sequence`). O(log size) reads.
core::Result<Receipt> make_receipt(const Ledger& ledger, const core::Digest& tx_id,
                                   std::uint64_t height, std::uint64_t sequence,
                                   std::uint16_t result, const SignedCheckpoint& checkpoint);

/// Signs a checkpoint of the whole log at `block` with the node's key, under the
/// ledger's origin as key name. Cost: one signature.
core::Result<SignedCheckpoint> checkpoint_at(const Ledger& ledger, const BlockHeader& block,
                                             core::Signer& signer);

/// A receipt as the JSON object above (members in canonical order), e.g. to nest
/// in a larger response.
boost::json::object receipt_json(const Receipt& receipt);
/// Canonical JSON text of a receipt (receipt_json, canonicalized).
std::string encode_receipt(const Receipt& receipt);
/// Parses encode_receipt's output; kMalformedEncoding otherwise.
core::Result<Receipt> decode_receipt(std::string_view json);

/// Checks a receipt against the transaction's wire bytes and the node's public key
/// (SPKI DER): kSignatureInvalid for the checkpoint, kProofInvalid for the tx_id or
/// the inclusion proof. CPU only.
core::Result<void> verify_receipt(const Receipt& receipt, std::string_view wire,
                                  core::ByteView node_spki);

}  // namespace medledger::ledger

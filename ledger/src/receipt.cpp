// Receipts and their checks (receipt.h).
#include "medledger/ledger/receipt.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "medledger/core/canonical_json.h"

namespace medledger::ledger {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::make_error;
using core::Result;

// A receipt holds one proof (<= kMaxMerkleProofHashes) and a short note.
constexpr std::size_t kMaxReceiptBytes = 16 * 1024;

core::Error malformed(const std::string& what) {
  return make_error(ErrorCode::kMalformedEncoding, "receipt: " + what);
}

}  // namespace

std::string result_name(std::uint16_t result) {
  if (result == kTxAccepted) return "ACCEPTED";
  return std::string(core::error_code_name(static_cast<ErrorCode>(result)));
}

Result<SignedCheckpoint> checkpoint_at(const Ledger& ledger, const BlockHeader& block,
                                       core::Signer& signer) {
  std::string origin = ledger.origin();
  return sign_checkpoint(Checkpoint{origin, block.log_size, block.merkle_root}, signer, origin);
}

Result<Receipt> make_receipt(const Ledger& ledger, const core::Digest& tx_id, std::uint64_t height,
                             std::uint64_t sequence, std::uint16_t result,
                             const SignedCheckpoint& checkpoint) {
  auto proof = ledger.inclusion_proof(sequence, checkpoint.checkpoint.size);
  if (!proof) return proof.error();
  return Receipt{tx_id, height, sequence, result, std::move(*proof), checkpoint};
}

json::object receipt_json(const Receipt& r) {
  json::array proof;
  for (const MerkleHash& h : r.inclusion_proof) proof.emplace_back(core::base64url_encode(h));
  return json::object{{"checkpoint", format_checkpoint(r.checkpoint)},
                      {"height", static_cast<std::int64_t>(r.height)},
                      {"inclusion_proof", std::move(proof)},
                      {"result", static_cast<std::int64_t>(r.result)},
                      {"result_name", result_name(r.result)},
                      {"sequence", static_cast<std::int64_t>(r.sequence)},
                      {"tx_id", core::base64url_encode(r.tx_id)}};
}

std::string encode_receipt(const Receipt& r) { return core::canonicalize(receipt_json(r)); }

Result<Receipt> decode_receipt(std::string_view text) {
  auto parsed = core::parse_restricted_json(text, kMaxReceiptBytes);
  if (!parsed || !parsed->is_object()) return malformed("not a JSON object");
  const json::object& o = parsed->as_object();
  auto integer = [&](std::string_view name) -> std::optional<std::int64_t> {
    auto it = o.find(name);
    if (it == o.end() || !it->value().is_int64() || it->value().as_int64() < 0) return std::nullopt;
    return it->value().as_int64();
  };
  auto text_member = [&](std::string_view name) -> const json::string* {
    auto it = o.find(name);
    return it != o.end() && it->value().is_string() ? &it->value().as_string() : nullptr;
  };
  Receipt r;
  auto height = integer("height");
  auto sequence = integer("sequence");
  auto result = integer("result");
  const auto* id = text_member("tx_id");
  const auto* note = text_member("checkpoint");
  auto proof_it = o.find("inclusion_proof");
  if (!height || !sequence || !result || *result > 0xffff || id == nullptr || note == nullptr ||
      proof_it == o.end() || !proof_it->value().is_array()) {
    return malformed("missing or wrong-typed members");
  }
  r.height = static_cast<std::uint64_t>(*height);
  r.sequence = static_cast<std::uint64_t>(*sequence);
  r.result = static_cast<std::uint16_t>(*result);
  auto id_bytes = core::base64url_decode(std::string_view(*id));
  if (!id_bytes || id_bytes->size() != core::kSha256Size) return malformed("bad tx_id");
  std::copy(id_bytes->begin(), id_bytes->end(), r.tx_id.begin());
  const json::array& proof = proof_it->value().as_array();
  if (proof.size() > kMaxMerkleProofHashes) return malformed("proof too long");
  for (const json::value& v : proof) {
    if (!v.is_string()) return malformed("proof element is not a string");
    auto h = core::base64url_decode(std::string_view(v.as_string()));
    if (!h || h->size() != core::kSha256Size) return malformed("bad proof hash");
    MerkleHash hash{};
    std::copy(h->begin(), h->end(), hash.begin());
    r.inclusion_proof.push_back(hash);
  }
  auto checkpoint = parse_checkpoint(std::string_view(*note));
  if (!checkpoint) return checkpoint.error();
  r.checkpoint = std::move(*checkpoint);
  return r;
}

Result<void> verify_receipt(const Receipt& r, std::string_view wire, core::ByteView node_spki) {
  MEDLEDGER_TRY(verify_checkpoint(r.checkpoint, node_spki));
  auto tx = decode_transaction(wire, {kMaxTransactionBytesCeiling, kMaxTransactionSignatures});
  if (!tx || tx_id(*tx) != r.tx_id) {
    return make_error(ErrorCode::kProofInvalid,
                      "receipt: the transaction given is not the one the receipt names");
  }
  MerkleHash leaf = merkle_leaf_hash(log_entry(r.result, wire));
  if (!verify_inclusion(r.sequence, r.checkpoint.checkpoint.size, leaf, r.inclusion_proof,
                        r.checkpoint.checkpoint.root)) {
    return make_error(ErrorCode::kProofInvalid,
                      "receipt: the inclusion proof does not lead to the checkpoint's root");
  }
  return core::success();
}

}  // namespace medledger::ledger

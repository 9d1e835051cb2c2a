// Block header encoding, hashing and signatures (block.h).
#include "medledger/ledger/block.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "medledger/core/canonical_json.h"

namespace medledger::ledger {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::make_error;
using core::Result;

constexpr std::size_t kHeaderMembers = 10;

json::object header_object(const BlockHeader& h, bool with_signature) {
  json::object o;
  o["version"] = kBlockFormatVersion;
  o["height"] = static_cast<std::int64_t>(h.height);
  o["prev_hash"] = core::base64url_encode(h.prev_hash);
  o["time"] = h.time_ms;
  o["log_size"] = static_cast<std::int64_t>(h.log_size);
  o["tx_count"] = static_cast<std::int64_t>(h.tx_count);
  o["merkle_root"] = core::base64url_encode(h.merkle_root);
  o["state_digest"] = core::base64url_encode(h.state_digest);
  o["proposer"] = core::base64url_encode(h.proposer);
  if (with_signature) o["signature"] = core::base64url_encode(h.signature);
  return o;
}

core::Error corrupt(const std::string& what) {
  return make_error(ErrorCode::kLedgerCorrupt, "block header: " + what);
}

Result<std::int64_t> int_member(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end() || !it->value().is_int64() || it->value().as_int64() < 0) {
    return corrupt("member \"" + std::string(name) + "\" is missing or not a non-negative integer");
  }
  return it->value().as_int64();
}

Result<core::Bytes> bytes_member(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end() || !it->value().is_string())
    return corrupt("member \"" + std::string(name) + "\" is missing");
  auto bytes = core::base64url_decode(std::string_view(it->value().as_string()));
  if (!bytes) return corrupt("member \"" + std::string(name) + "\" is not base64url");
  return std::move(*bytes);
}

Result<core::Digest> digest_member(const json::object& o, std::string_view name) {
  auto bytes = bytes_member(o, name);
  if (!bytes) return bytes.error();
  if (bytes->size() != core::kSha256Size)
    return corrupt("member \"" + std::string(name) + "\" is not 32 bytes");
  core::Digest d{};
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

}  // namespace

std::string header_signing_bytes(const BlockHeader& header) {
  return core::canonicalize(header_object(header, false));
}
std::string encode_header(const BlockHeader& header) {
  return core::canonicalize(header_object(header, true));
}
core::Digest block_hash(const BlockHeader& header) {
  return core::sha256(core::to_bytes(encode_header(header)));
}

Result<BlockHeader> decode_header(std::string_view text) {
  if (!core::is_canonical_json(text, kMaxBlockHeaderBytes)) return corrupt("not canonical JSON");
  auto parsed = core::parse_restricted_json(text, kMaxBlockHeaderBytes);
  if (!parsed || !parsed->is_object()) return corrupt("not a JSON object");
  const json::object& o = parsed->as_object();
  if (o.size() != kHeaderMembers) return corrupt("wrong number of members");
  auto version = int_member(o, "version");
  if (!version) return version.error();
  if (*version != kBlockFormatVersion)
    return corrupt("unknown version " + std::to_string(*version));
  BlockHeader h;
  auto height = int_member(o, "height");
  auto time = int_member(o, "time");
  auto log_size = int_member(o, "log_size");
  auto tx_count = int_member(o, "tx_count");
  auto prev = digest_member(o, "prev_hash");
  auto root = digest_member(o, "merkle_root");
  auto state = digest_member(o, "state_digest");
  auto proposer = digest_member(o, "proposer");
  auto signature = bytes_member(o, "signature");
  for (const core::Error* e :
       {height ? nullptr : &height.error(), time ? nullptr : &time.error(),
        log_size ? nullptr : &log_size.error(), tx_count ? nullptr : &tx_count.error(),
        prev ? nullptr : &prev.error(), root ? nullptr : &root.error(),
        state ? nullptr : &state.error(), proposer ? nullptr : &proposer.error(),
        signature ? nullptr : &signature.error()}) {
    if (e != nullptr) return *e;
  }
  h.height = static_cast<std::uint64_t>(*height);
  h.time_ms = *time;
  h.log_size = static_cast<std::uint64_t>(*log_size);
  h.tx_count = static_cast<std::uint64_t>(*tx_count);
  h.prev_hash = *prev;
  h.merkle_root = *root;
  h.state_digest = *state;
  h.proposer = *proposer;
  h.signature = std::move(*signature);
  return h;
}

Result<void> sign_header(BlockHeader& header, core::Signer& signer) {
  header.proposer = core::public_key_fingerprint(signer.public_key_spki());
  header.signature.clear();
  auto signature = signer.sign_digest(core::sha256(core::to_bytes(header_signing_bytes(header))));
  if (!signature) return signature.error();
  header.signature = std::move(*signature);
  return core::success();
}

Result<void> verify_header_signature(const BlockHeader& header, core::ByteView proposer_spki) {
  if (core::public_key_fingerprint(proposer_spki) != header.proposer) {
    return make_error(
        ErrorCode::kSignatureInvalid,
        "block " + std::to_string(header.height) + ": proposer fingerprint does not match the key");
  }
  return core::verify_digest_signature(
      proposer_spki, core::sha256(core::to_bytes(header_signing_bytes(header))), header.signature);
}

}  // namespace medledger::ledger

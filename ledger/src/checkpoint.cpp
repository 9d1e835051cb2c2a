// Signed checkpoints in the C2SP tlog-checkpoint note layout (checkpoint.h).
#include "medledger/ledger/checkpoint.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <vector>

namespace medledger::ledger {
namespace {

using core::ErrorCode;
using core::make_error;
using core::Result;

// U+2014 EM DASH, then a space: the signature line prefix of signed notes.
constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";

std::string base64_encode(core::ByteView data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                          static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<core::Bytes> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  core::Bytes out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  if (base64_encode(out) != text) return std::nullopt;  // one spelling only
  return out;
}

bool valid_key_name(std::string_view name) {
  return !name.empty() && std::none_of(name.begin(), name.end(),
                                       [](char c) { return c == ' ' || c == '\n' || c == '+'; });
}

core::Error malformed(const std::string& what) {
  return make_error(ErrorCode::kMalformedEncoding, "checkpoint: " + what);
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) break;
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

std::string checkpoint_body(const Checkpoint& c) {
  return c.origin + "\n" + std::to_string(c.size) + "\n" + base64_encode(c.root) + "\n";
}

std::string format_checkpoint(const SignedCheckpoint& s) {
  core::Bytes blob(s.key_id.begin(), s.key_id.end());
  blob.insert(blob.end(), s.signature.begin(), s.signature.end());
  return checkpoint_body(s.checkpoint) + "\n" + std::string(kSignaturePrefix) + s.key_name + " " +
         base64_encode(blob) + "\n";
}

CheckpointKeyId checkpoint_key_id(std::string_view key_name, core::ByteView spki) {
  core::Sha256 h;
  h.update(core::ByteView(reinterpret_cast<const std::uint8_t*>(key_name.data()), key_name.size()));
  const std::uint8_t newline = '\n';
  h.update(core::ByteView(&newline, 1));
  h.update(spki);
  core::Digest d = h.finish();
  return CheckpointKeyId{d[0], d[1], d[2], d[3]};
}

Result<SignedCheckpoint> sign_checkpoint(const Checkpoint& checkpoint, core::Signer& signer,
                                         std::string_view key_name) {
  if (!valid_key_name(key_name) || checkpoint.origin.empty() ||
      checkpoint.origin.find('\n') != std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "checkpoint: origin and key name must be one non-empty line");
  }
  SignedCheckpoint out{
      checkpoint, std::string(key_name), checkpoint_key_id(key_name, signer.public_key_spki()), {}};
  auto signature = signer.sign_digest(core::sha256(core::to_bytes(checkpoint_body(checkpoint))));
  if (!signature) return signature.error();
  out.signature = std::move(*signature);
  return out;
}

Result<SignedCheckpoint> parse_checkpoint(std::string_view note) {
  if (note.size() > kMaxCheckpointBytes) return malformed("too large");
  auto lines = split_lines(note);
  std::size_t consumed = 0;
  for (auto l : lines) consumed += l.size() + 1;
  if (consumed != note.size() || lines.size() != 5 || !lines[3].empty())
    return malformed("not origin/size/root/blank/signature lines");
  SignedCheckpoint s;
  s.checkpoint.origin = std::string(lines[0]);
  if (s.checkpoint.origin.empty()) return malformed("empty origin");
  auto [end, ec] =
      std::from_chars(lines[1].data(), lines[1].data() + lines[1].size(), s.checkpoint.size);
  if (ec != std::errc() || end != lines[1].data() + lines[1].size() || lines[1].empty() ||
      (lines[1].size() > 1 && lines[1][0] == '0')) {
    return malformed("bad tree size");
  }
  auto root = base64_decode(lines[2]);
  if (!root || root->size() != core::kSha256Size) return malformed("bad root hash");
  std::copy(root->begin(), root->end(), s.checkpoint.root.begin());
  std::string_view sig_line = lines[4];
  if (sig_line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix)
    return malformed("bad signature line");
  sig_line.remove_prefix(kSignaturePrefix.size());
  auto space = sig_line.find(' ');
  if (space == std::string_view::npos) return malformed("bad signature line");
  s.key_name = std::string(sig_line.substr(0, space));
  if (!valid_key_name(s.key_name)) return malformed("bad key name");
  auto blob = base64_decode(sig_line.substr(space + 1));
  if (!blob || blob->size() <= s.key_id.size()) return malformed("bad signature");
  std::copy(blob->begin(), blob->begin() + 4, s.key_id.begin());
  s.signature.assign(blob->begin() + 4, blob->end());
  return s;
}

Result<void> verify_checkpoint(const SignedCheckpoint& s, core::ByteView spki) {
  if (checkpoint_key_id(s.key_name, spki) != s.key_id) {
    return make_error(ErrorCode::kSignatureInvalid,
                      "checkpoint: signed by another key than the one given");
  }
  return core::verify_digest_signature(
      spki, core::sha256(core::to_bytes(checkpoint_body(s.checkpoint))), s.signature);
}

}  // namespace medledger::ledger

// Internal: the few primitives the envelope formats are built from -- random
// bytes, AES-256-GCM with the tag appended, HKDF-SHA256, and the length-prefixed
// context encoding that AAD and HKDF info use (docs/encryption.md).
#pragma once

#include <cstdint>
#include <string_view>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"

namespace medledger::node::detail {

/// `size` bytes from OpenSSL's CSPRNG (RAND_bytes). kCryptoError if it fails.
core::Result<core::Bytes> random_bytes(std::size_t size);
core::Result<core::SecretBytes> random_secret(std::size_t size);

/// AES-256-GCM: ciphertext || 16-byte tag. The key must be 32 bytes and the nonce 12.
core::Result<core::Bytes> aes256gcm_seal(const core::SecretBytes& key, core::ByteView nonce,
                                         core::ByteView aad, core::ByteView plaintext);

/// Inverse of aes256gcm_seal. kDecryptionFailed when the tag does not verify (any
/// change to key, nonce, AAD or ciphertext) or the input is shorter than a tag.
core::Result<core::Bytes> aes256gcm_open(const core::SecretBytes& key, core::ByteView nonce,
                                         core::ByteView aad, core::ByteView sealed);
/// The same, for a plaintext that is itself a key.
core::Result<core::SecretBytes> aes256gcm_open_secret(const core::SecretBytes& key,
                                                      core::ByteView nonce, core::ByteView aad,
                                                      core::ByteView sealed);

/// HKDF-SHA256 (RFC 5869) extract-and-expand to `length` bytes.
core::Result<core::SecretBytes> hkdf_sha256(core::ByteView ikm, core::ByteView salt,
                                            core::ByteView info, std::size_t length);

/// Builds the byte strings bound into AAD and HKDF info: each field as a 4-byte
/// big-endian length then its bytes; integers as 8 bytes big-endian.
class ContextBytes {
 public:
  ContextBytes& field(std::string_view text);
  ContextBytes& field(core::ByteView bytes);
  ContextBytes& integer(std::uint64_t value);
  const core::Bytes& bytes() const { return bytes_; }

 private:
  core::Bytes bytes_;
};

}  // namespace medledger::node::detail

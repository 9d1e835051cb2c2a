// The memo of signatures verify_digest_signature has found valid (signer.h).
#pragma once

#include <cstdint>

#include "medledger/core/bytes.h"
#include "medledger/core/sha256.h"
#include "medledger/core/signer.h"

namespace medledger::core::detail {

/// The memo key: SHA-256(key fingerprint || digest || signature). The first two
/// have fixed lengths, so distinct triples cannot share the hashed bytes.
Digest verified_signature_key(const Digest& key_fingerprint, const Digest& digest,
                              ByteView signature);

/// True if `key` was remembered as valid (counts a hit or a miss).
bool verified_signature_known(const Digest& key);

/// Remembers `key` as valid; the oldest entry of its shard goes when it is full.
void remember_verified_signature(const Digest& key);

}  // namespace medledger::core::detail

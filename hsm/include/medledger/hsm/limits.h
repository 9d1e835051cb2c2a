// Every bound of the hsm module, in one place. Configuration may lower these
// (PoolOptions) but never raise or remove them.
#pragma once

#include <chrono>
#include <cstddef>

namespace medledger::hsm {

/// Sessions one SessionPool keeps open. SoftHSM2 and most network HSMs allow far
/// more, but past the number of cores signing threads only queue; 16 leaves room
/// for a 16-core node while keeping handles (and session-object copies) few.
inline constexpr std::size_t kMaxPoolSessions = 16;

/// How long acquire() waits for a free session before kSessionExhausted. Long
/// enough to ride out a burst, short enough for an HTTP request to fail fast.
inline constexpr std::chrono::milliseconds kSessionWaitLimit{5000};

/// Unwrapped (session-object) person keys one SessionPool keeps, shared by all its
/// sessions, least recently used destroyed first. The hard cap: it bounds token
/// memory (SoftHSM2 keeps each EC session object in about 2-3 KiB, so the cap is
/// ~200 MiB at most) and the LRU bookkeeping. PoolOptions may lower it.
inline constexpr std::size_t kMaxUnwrappedKeys = 65536;

/// The default bound: sized for the persons active at once on one node (a large
/// hospital's staff on shift plus the patients being treated), so that their
/// signatures hit the cache; a uniform draw over all persons measures the miss path.
inline constexpr std::size_t kDefaultUnwrappedKeys = 16384;

/// SHA-256 digests of blobs whose private key was paired with their public key (a
/// signature verified once, or generated here) that a WrappedKeyStore remembers, so
/// the pairing check runs once per blob. 32 bytes + node overhead each: ~25 MiB.
inline constexpr std::size_t kMaxPairedBlobs = 262144;

/// Tokens looked at by one C_GetSlotList call; a larger list is truncated.
inline constexpr std::size_t kMaxSlots = 256;

/// Objects returned by one key listing (C_FindObjects batches until this bound).
inline constexpr std::size_t kMaxListedObjects = 100000;

/// Objects fetched per C_FindObjects call.
inline constexpr std::size_t kFindBatch = 64;

/// Mechanisms read by C_GetMechanismList.
inline constexpr std::size_t kMaxMechanisms = 1024;

/// Bytes of CKA_ID: the first 20 bytes of SHA-256(SPKI DER), like a SHA-1-sized
/// subject key identifier, short enough for every token's CKA_ID limit.
inline constexpr std::size_t kKeyIdSize = 20;

/// Largest wrapped-key blob accepted by decode_wrapped_key().
inline constexpr std::size_t kMaxWrappedKeyBlob = 4096;

}  // namespace medledger::hsm

// Every bound and cryptographic parameter of the node module, in one place.
// Configuration may lower the limits (RecordLimits, PinPolicy) but never raise or
// remove them. Why each number: docs/encryption.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace medledger::node {

// ---- record encryption (docs/encryption.md) ----

/// Bytes of every AES-256 key we use: data keys, patient keys, HKDF outputs.
inline constexpr std::size_t kAesKeySize = 32;
/// AES-GCM nonce: 96 random bits, the size GCM is specified for (NIST SP 800-38D).
inline constexpr std::size_t kGcmNonceSize = 12;
/// AES-GCM tag: the full 128 bits, appended to every ciphertext.
inline constexpr std::size_t kGcmTagSize = 16;
/// Bytes of a per-patient key.
inline constexpr std::size_t kPatientKeySize = kAesKeySize;

/// Ceiling of a record payload (plaintext). base64url makes it ~683 KiB, which
/// still fits a transaction at the ledger's 1 MiB ceiling (kMaxTransactionBytesCeiling).
inline constexpr std::size_t kMaxRecordPayloadCeiling = 512 * 1024;
/// Default payload limit: ~171 KiB in base64url, inside the ledger's default 256 KiB
/// transaction. FHIR resources are mostly a few KiB; imaging belongs elsewhere.
inline constexpr std::size_t kDefaultMaxRecordPayload = 128 * 1024;

/// Patient ids and record ids: 1..this many printable ASCII bytes (0x21-0x7e).
inline constexpr std::size_t kMaxIdentifierBytes = 128;
/// Content types (RFC 6838 "type/subtype" plus parameters): 1..this many
/// printable ASCII bytes, spaces allowed.
inline constexpr std::size_t kMaxContentTypeBytes = 255;
/// Record versions and patient key versions: 1..2^53-1 (the JSON integer range).
inline constexpr std::uint64_t kMaxVersion = (std::uint64_t{1} << 53) - 1;
/// Largest sealed-record / wrapped-key JSON text the parsers accept.
inline constexpr std::size_t kMaxSealedRecordJson = kMaxRecordPayloadCeiling * 4 / 3 + 4096;
inline constexpr std::size_t kMaxWrappedPatientKeyJson = 4096;

// ---- person PIN verifier (docs/encryption.md) ----

/// Bytes of the random scrypt salt of each PIN record.
inline constexpr std::size_t kPinSaltSize = 16;
/// Bytes of the scrypt output stored as the verifier.
inline constexpr std::size_t kPinHashSize = 32;
/// PINs a person may set: 4..64 bytes (a 4-digit PIN is the floor hospitals use
/// on badges; the lockout, not the length, is what stops guessing).
inline constexpr std::size_t kMinPinBytes = 4;
inline constexpr std::size_t kMaxPinBytes = 64;

/// Default scrypt cost: N = 2^15, r = 8, p = 1 -- 32 MiB of memory and about
/// 50-100 ms on one core here (figure in docs/encryption.md). RFC 7914 section 2
/// and OWASP's current floor for interactive logins.
inline constexpr unsigned kDefaultScryptLogN = 15;
inline constexpr std::uint32_t kDefaultScryptR = 8;
inline constexpr std::uint32_t kDefaultScryptP = 1;
/// Accepted scrypt parameters (records written or read): log2 N in [14, 20],
/// r in [1, 32], p in [1, 16], and memory 128 * N * r at most kMaxScryptMemory.
inline constexpr unsigned kMinScryptLogN = 14;
inline constexpr unsigned kMaxScryptLogN = 20;
inline constexpr std::uint32_t kMaxScryptR = 32;
inline constexpr std::uint32_t kMaxScryptP = 16;
inline constexpr std::uint64_t kMaxScryptMemory = std::uint64_t{256} << 20;

/// Consecutive wrong PINs after which a person is locked until an administrator
/// resets them; the ceiling a policy may not exceed.
inline constexpr std::uint32_t kDefaultMaxPinFailures = 5;
inline constexpr std::uint32_t kMaxPinFailuresCeiling = 10;
/// Backoff: after this many consecutive failures each further try must wait
/// 2^(failures - this) seconds after the last failure, at most kMaxPinBackoffSeconds.
inline constexpr std::uint32_t kPinBackoffAfterFailures = 2;
inline constexpr std::int64_t kMaxPinBackoffSeconds = 300;
/// Largest PIN record file the store reads.
inline constexpr std::size_t kMaxPinRecordJson = 4096;

// ---- person sessions (person_session.h) ----

/// Random bytes of a session token: 256 bits, unguessable; 43 base64url characters.
inline constexpr std::size_t kSessionTokenBytes = 32;
/// Default life of a session: one clinical interaction (a few records and reads).
inline constexpr std::chrono::seconds kDefaultSessionTtl{5 * 60};
/// Longest session: a stolen token is useful for at most half an hour.
inline constexpr std::chrono::seconds kMaxSessionTtl{30 * 60};
/// Custodial signatures one session allows; a leaked token signs at most this many.
inline constexpr std::uint32_t kMaxSessionSignatures = 10'000;
/// Live sessions per node (about 100 bytes each: 10 MB at most); a full table
/// refuses new sessions until some expire or close.
inline constexpr std::size_t kMaxOpenSessions = 100'000;

/// Persons whose custodial signer a node keeps open (a token key handle or a
/// decoded wrapped blob, ~1 KiB each); a full cache starts over.
inline constexpr std::size_t kMaxCachedCustodialKeys = 4096;

/// How long a grant or revocation prepared for a patient's own device waits in the
/// node's memory for the patient's signature: the contract's time window, after
/// which the ledger would refuse the transaction anyway (TX_TIME_OUTSIDE_WINDOW).
inline constexpr std::chrono::milliseconds kPreparedLifetime{5 * 60 * 1000};
/// Prepared grants and revocations a node keeps at once (each ~200 bytes, a
/// revocation also its rotated patient key); beyond it prepare is refused
/// (SESSION_EXHAUSTED) until some expire.
inline constexpr std::size_t kMaxPreparedTransactions = 10'000;

}  // namespace medledger::node

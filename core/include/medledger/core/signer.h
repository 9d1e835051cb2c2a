// Signer: anything that can sign a SHA-256 digest with a private key it keeps.
//
// The CA, block proposer and endorsements sign through this interface, so the
// same code runs with a key in the token (hsm::TokenSigner) and with an
// in-memory key (core::SoftwareSigner) in unit tests and baselines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"

namespace medledger::core {

enum class KeyAlgorithm { kEcdsaP256, kEd25519 };

/// "ecdsa-p256" or "ed25519": the names used in transactions and the CLI.
std::string_view key_algorithm_name(KeyAlgorithm algorithm);
Result<KeyAlgorithm> parse_key_algorithm(std::string_view name);

class Signer {
 public:
  virtual ~Signer() = default;

  /// Signs a SHA-256 digest. ECDSA returns an X9.62 DER signature (SEQUENCE of r, s);
  /// Ed25519 returns the 64-byte signature over the 32 digest bytes as the message.
  virtual Result<Bytes> sign_digest(const Digest& digest) = 0;

  /// The public key as DER SubjectPublicKeyInfo.
  virtual const Bytes& public_key_spki() const = 0;

  virtual KeyAlgorithm algorithm() const = 0;
};

/// The algorithm of a DER SubjectPublicKeyInfo (P-256 for any EC key: the curve is
/// checked on verify), so a signature cannot claim one algorithm and be checked
/// under a key of another. kMalformedEncoding if it does not parse,
/// kUnsupportedAlgorithm for other key types. Cost: one SHA-256 and a lookup in the
/// parsed-key cache below when the key was verified before, else one DER parse.
Result<KeyAlgorithm> key_algorithm_of_spki(ByteView public_key_spki);

/// Checks `signature` over `digest` with a DER SubjectPublicKeyInfo, in software.
/// Returns kSignatureInvalid when it does not verify, kMalformedEncoding when
/// the key or signature cannot be parsed, kUnsupportedAlgorithm otherwise.
/// Thread-safe. The parsed key is kept in a process-wide cache keyed by
/// SHA-256(SPKI) (below), so verifying under the same certificates again -- what
/// the ledger contract does for every transaction -- skips the DER parse and the
/// point check; a triple found valid before is answered from the memo below.
/// Cost: two SHA-256 + one verification (+ one parse on a key miss); two SHA-256
/// on a memo hit.
Result<void> verify_digest_signature(ByteView public_key_spki, const Digest& digest,
                                     ByteView signature);

/// The same check as verify_digest_signature without consulting or filling the
/// memo of valid signatures (the parsed-key cache is still used): what the
/// benchmarks' crypto ceiling measures. Cost: one SHA-256 + one verification.
Result<void> verify_digest_signature_without_memo(ByteView public_key_spki, const Digest& digest,
                                                  ByteView signature);

/// Parsed public keys verify_digest_signature keeps (least recently used goes
/// first). A consortium's active certificates (doctors, patients, nodes of a
/// busy hour) fit; an EVP_PKEY is ~1-2 KiB, so the cache stays under ~2 MiB.
inline constexpr std::size_t kVerifyKeyCacheCapacity = 1024;

struct VerifyKeyCacheStats {
  std::size_t size = 0;      // keys held now, <= kVerifyKeyCacheCapacity
  std::uint64_t hits = 0;    // lookups that found the parsed key
  std::uint64_t misses = 0;  // lookups that parsed it (unparsable keys included, never cached)
};
/// Counters since start (or the last clear). For tests and benchmarks.
VerifyKeyCacheStats verify_key_cache_stats();
/// Empties the cache and zeroes the counters.
void clear_verify_key_cache();

/// Valid signatures verify_digest_signature remembers, keyed by SHA-256(key
/// fingerprint || digest || signature): verifying the same triple again costs one
/// hash. Only successes are kept (a failure is re-checked every time), so an
/// answer from the memo is exactly what verifying would give. 64 Ki entries of
/// ~100 bytes: ~6 MiB; the oldest go first. Lets the node check each signature
/// once, in the caller's thread, and the ledger's single writer find it done.
inline constexpr std::size_t kVerifiedSignatureMemoCapacity = 65536;

struct VerifiedSignatureMemoStats {
  std::size_t size = 0;      // triples held now, <= kVerifiedSignatureMemoCapacity
  std::uint64_t hits = 0;    // verifications answered from the memo
  std::uint64_t misses = 0;  // verifications that ran the signature check
};
/// Counters since start (or the last clear). For tests and benchmarks.
VerifiedSignatureMemoStats verified_signature_memo_stats();
/// Empties the memo and zeroes its counters.
void clear_verified_signature_memo();

/// SHA-256 of the SubjectPublicKeyInfo DER: the key fingerprint used as CKA_ID
/// and in transactions.
Digest public_key_fingerprint(ByteView public_key_spki);

}  // namespace medledger::core

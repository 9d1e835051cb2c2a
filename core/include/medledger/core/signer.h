// Signer: anything that can sign a SHA-256 digest with a private key it keeps.
//
// The CA, block proposer and endorsements sign through this interface, so the
// same code runs with a key in the token (hsm::TokenSigner) and with an
// in-memory key (core::SoftwareSigner) in unit tests and baselines.
#pragma once

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

/// Checks `signature` over `digest` with a DER SubjectPublicKeyInfo, in software.
/// Returns kSignatureInvalid when it does not verify, kMalformedEncoding when
/// the key or signature cannot be parsed, kUnsupportedAlgorithm otherwise.
Result<void> verify_digest_signature(ByteView public_key_spki, const Digest& digest,
                                     ByteView signature);

/// SHA-256 of the SubjectPublicKeyInfo DER: the key fingerprint used as CKA_ID
/// and in transactions.
Digest public_key_fingerprint(ByteView public_key_spki);

}  // namespace medledger::core

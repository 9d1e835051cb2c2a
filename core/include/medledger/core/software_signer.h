// SoftwareSigner: a Signer with the private key in process memory (OpenSSL EVP_PKEY).
// For unit tests and same-run baselines only; production keys live in the token.
#pragma once

#include <memory>

#include "medledger/core/secret.h"
#include "medledger/core/signer.h"

namespace medledger::core {

class SoftwareSigner final : public Signer {
 public:
  /// Generates a fresh key pair.
  static Result<std::unique_ptr<SoftwareSigner>> generate(KeyAlgorithm algorithm);
  /// Loads a PEM private key (PKCS#8 or traditional EC).
  static Result<std::unique_ptr<SoftwareSigner>> from_pem(std::string_view private_key_pem);

  ~SoftwareSigner() override;
  SoftwareSigner(const SoftwareSigner&) = delete;
  SoftwareSigner& operator=(const SoftwareSigner&) = delete;

  Result<Bytes> sign_digest(const Digest& digest) override;
  const Bytes& public_key_spki() const override { return spki_; }
  KeyAlgorithm algorithm() const override { return algorithm_; }

  /// The private key as unencrypted PKCS#8 PEM (tests only; wipe after use).
  SecretBytes private_key_pem() const;

 private:
  struct Key;
  SoftwareSigner(std::unique_ptr<Key> key, KeyAlgorithm algorithm, Bytes spki);
  std::unique_ptr<Key> key_;
  KeyAlgorithm algorithm_;
  Bytes spki_;
};

}  // namespace medledger::core

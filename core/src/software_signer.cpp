#include "medledger/core/software_signer.h"

#include <openssl/pem.h>

#include "medledger/core/openssl.h"
#include "medledger/core/secret.h"

namespace medledger::core {

struct SoftwareSigner::Key {
  EvpPkeyPtr pkey;
};

namespace {
Result<Bytes> spki_of(EVP_PKEY* pkey) {
  int size = i2d_PUBKEY(pkey, nullptr);
  if (size <= 0) return openssl_error(ErrorCode::kCryptoError, "encode public key");
  Bytes out(static_cast<std::size_t>(size));
  unsigned char* p = out.data();
  i2d_PUBKEY(pkey, &p);
  return out;
}

Result<KeyAlgorithm> algorithm_of(EVP_PKEY* pkey) {
  int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_ED25519) return KeyAlgorithm::kEd25519;
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) == 1 &&
        std::string_view(group) == "prime256v1") {
      return KeyAlgorithm::kEcdsaP256;
    }
  }
  return make_error(ErrorCode::kUnsupportedAlgorithm, "key is neither P-256 nor Ed25519");
}
}  // namespace

SoftwareSigner::SoftwareSigner(std::unique_ptr<Key> key, KeyAlgorithm algorithm, Bytes spki)
    : key_(std::move(key)), algorithm_(algorithm), spki_(std::move(spki)) {}
SoftwareSigner::~SoftwareSigner() = default;

Result<std::unique_ptr<SoftwareSigner>> SoftwareSigner::generate(KeyAlgorithm algorithm) {
  EvpPkeyPtr pkey(algorithm == KeyAlgorithm::kEd25519
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) return openssl_error(ErrorCode::kCryptoError, "generate key");
  MEDLEDGER_TRY_ASSIGN(auto spki, spki_of(pkey.get()));
  auto key = std::make_unique<Key>();
  key->pkey = std::move(pkey);
  return std::unique_ptr<SoftwareSigner>(
      new SoftwareSigner(std::move(key), algorithm, std::move(spki)));
}

Result<std::unique_ptr<SoftwareSigner>> SoftwareSigner::from_pem(std::string_view private_key_pem) {
  BioPtr bio(BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return openssl_error(ErrorCode::kMalformedEncoding, "private key PEM");
  MEDLEDGER_TRY_ASSIGN(auto algorithm, algorithm_of(pkey.get()));
  MEDLEDGER_TRY_ASSIGN(auto spki, spki_of(pkey.get()));
  auto key = std::make_unique<Key>();
  key->pkey = std::move(pkey);
  return std::unique_ptr<SoftwareSigner>(
      new SoftwareSigner(std::move(key), algorithm, std::move(spki)));
}

Result<Bytes> SoftwareSigner::sign_digest(const Digest& digest) {
  if (algorithm_ == KeyAlgorithm::kEd25519) {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) != 1) {
      return openssl_error(ErrorCode::kCryptoError, "Ed25519 sign init");
    }
    Bytes sig(64);
    size_t size = sig.size();
    if (EVP_DigestSign(ctx.get(), sig.data(), &size, digest.data(), digest.size()) != 1) {
      return openssl_error(ErrorCode::kCryptoError, "Ed25519 sign");
    }
    sig.resize(size);
    return sig;
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_->pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1)
    return openssl_error(ErrorCode::kCryptoError, "ECDSA sign init");
  size_t size = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &size, digest.data(), digest.size()) != 1) {
    return openssl_error(ErrorCode::kCryptoError, "ECDSA sign size");
  }
  Bytes sig(size);
  if (EVP_PKEY_sign(ctx.get(), sig.data(), &size, digest.data(), digest.size()) != 1) {
    return openssl_error(ErrorCode::kCryptoError, "ECDSA sign");
  }
  sig.resize(size);
  return sig;
}

SecretBytes SoftwareSigner::private_key_pem() const {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  PEM_write_bio_PrivateKey(bio.get(), key_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes(
      ByteView(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)));
}

}  // namespace medledger::core

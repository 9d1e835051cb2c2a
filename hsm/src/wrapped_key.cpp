#include "medledger/hsm/wrapped_key.h"

#include <algorithm>
#include <array>

#include "key_pair.h"
#include "medledger/core/assert.h"
#include "medledger/core/openssl.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/pkcs11_error.h"
#include "medledger/hsm/token_signer.h"

namespace medledger::hsm {

namespace {
using core::ErrorCode;
using Lease = SessionPool::Lease;

constexpr std::array<std::uint8_t, 4> kMagic = {'M', 'L', 'W', 'K'};
constexpr std::uint8_t kAlgorithmP256 = 1;
constexpr std::uint8_t kAlgorithmEd25519 = 2;
constexpr std::size_t kMaxKekIdSize = 255;     // one length byte
constexpr std::size_t kMaxFieldSize = 0xffff;  // two length bytes
constexpr std::size_t kMaxWrappedPrivateKey = 1024;  // PKCS#8 of P-256/Ed25519 wrapped is < 200 bytes
constexpr const char* kWrappedKeyLabel = "medledger-wrapped";  // label of the short-lived session objects

core::Error invalid(const std::string& why) {
  return core::make_error(ErrorCode::kWrappedKeyInvalid, "wrapped key: " + why);
}

void put_u16(core::Bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

// Reads length-prefixed fields off the front of a blob.
struct Reader {
  core::ByteView rest;
  std::optional<std::size_t> take_length(std::size_t width) {
    if (rest.size() < width) return std::nullopt;
    std::size_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | rest[i];
    rest = rest.subspan(width);
    return v;
  }
  std::optional<core::Bytes> take(std::size_t size) {
    if (rest.size() < size) return std::nullopt;
    core::Bytes b(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(size));
    rest = rest.subspan(size);
    return b;
  }
};

// Destroys session objects that must not outlive one operation.
struct SessionObjectGuard {
  Session& session;
  std::vector<CK_OBJECT_HANDLE> objects;
  ~SessionObjectGuard() {
    for (auto o : objects) (void)session.destroy(o);
  }
};

core::Result<core::Bytes> sign_wrapped(SessionPool& pool, const core::Bytes& kek_id, const WrappedKey& key,
                                       const core::Digest& blob_id, const core::Digest& digest) {
  return pool.with_retry<core::Bytes>("sign with wrapped key", [&](Lease& lease) -> core::Result<core::Bytes> {
    if (auto cached = lease.cached_unwrapped_key(blob_id)) return sign_with_object(lease, *cached, key.algorithm, digest);

    auto kek = pool.find_key(lease, CKO_SECRET_KEY, kek_id);
    if (!kek) return kek.error();
    CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
    CK_KEY_TYPE key_type = key.algorithm == core::KeyAlgorithm::kEcdsaP256 ? CKK_EC : CKK_EC_EDWARDS;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    std::vector<CK_ATTRIBUTE> templ = {
        {CKA_CLASS, &private_class, sizeof private_class},
        {CKA_KEY_TYPE, &key_type, sizeof key_type},
        {CKA_TOKEN, &no, sizeof no},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},  // once unwrapped to sign, it may not leave again
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_DECRYPT, &no, sizeof no},
        {CKA_DERIVE, &no, sizeof no},
        {CKA_UNWRAP, &no, sizeof no},
    };
    CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
    core::Bytes wrapped = key.wrapped_private_key;
    CK_RV rv = lease.fn()->C_UnwrapKey(lease.handle(), &mechanism, *kek, wrapped.data(), wrapped.size(), templ.data(),
                                       templ.size(), &object);
    if (rv != CKR_OK) {
      auto error = lease.check("C_UnwrapKey", rv, "unwrapping a person key");
      if (classify_fault(rv) != FaultClass::kNone) return error.error();
      return invalid("it does not unwrap under KEK " + core::hex_encode(kek_id) + " (C_UnwrapKey: " +
                     std::string(ckr_name(rv)) + ")");
    }
    SessionObjectGuard guard{lease.session(), {object}};
    auto signature = sign_with_object(lease, object, key.algorithm, digest);
    if (!signature) return signature.error();
    // Pair the unwrapped private key with the blob's public key once, before caching
    // it: a blob whose SPKI was swapped must not yield signatures that fail later.
    if (!core::verify_digest_signature(key.public_key_spki, digest, *signature)) {
      return invalid("its private key does not match its public key");
    }
    guard.objects.clear();
    lease.remember_unwrapped_key(blob_id, object);
    return signature;
  });
}

class WrappedKeySigner final : public core::Signer {
 public:
  WrappedKeySigner(std::shared_ptr<SessionPool> pool, core::Bytes kek_id, WrappedKey key, core::Digest blob_id)
      : pool_(std::move(pool)), kek_id_(std::move(kek_id)), key_(std::move(key)), blob_id_(blob_id) {}
  core::Result<core::Bytes> sign_digest(const core::Digest& digest) override {
    return sign_wrapped(*pool_, kek_id_, key_, blob_id_, digest);
  }
  const core::Bytes& public_key_spki() const override { return key_.public_key_spki; }
  core::KeyAlgorithm algorithm() const override { return key_.algorithm; }

 private:
  std::shared_ptr<SessionPool> pool_;
  core::Bytes kek_id_;
  WrappedKey key_;
  core::Digest blob_id_;
};
}  // namespace

core::Bytes encode_wrapped_key(const WrappedKey& key) {
  MEDLEDGER_ASSERT(!key.kek_id.empty() && key.kek_id.size() <= kMaxKekIdSize);
  MEDLEDGER_ASSERT(key.public_key_spki.size() <= kMaxFieldSize && key.wrapped_private_key.size() <= kMaxFieldSize);
  core::Bytes out(kMagic.begin(), kMagic.end());
  out.push_back(kWrappedKeyVersion);
  out.push_back(key.algorithm == core::KeyAlgorithm::kEcdsaP256 ? kAlgorithmP256 : kAlgorithmEd25519);
  out.push_back(static_cast<std::uint8_t>(key.kek_id.size()));
  out.insert(out.end(), key.kek_id.begin(), key.kek_id.end());
  put_u16(out, key.public_key_spki.size());
  out.insert(out.end(), key.public_key_spki.begin(), key.public_key_spki.end());
  put_u16(out, key.wrapped_private_key.size());
  out.insert(out.end(), key.wrapped_private_key.begin(), key.wrapped_private_key.end());
  return out;
}

core::Result<WrappedKey> decode_wrapped_key(core::ByteView blob) {
  if (blob.size() > kMaxWrappedKeyBlob) return invalid("blob longer than " + std::to_string(kMaxWrappedKeyBlob) + " bytes");
  if (blob.size() < kMagic.size() + 2 || !std::equal(kMagic.begin(), kMagic.end(), blob.begin())) {
    return invalid("not a medledger wrapped-key blob (magic)");
  }
  Reader reader{blob.subspan(kMagic.size())};
  WrappedKey key;
  auto version = reader.take_length(1);
  if (*version != kWrappedKeyVersion) return invalid("unsupported version " + std::to_string(*version));
  auto algorithm = reader.take_length(1);
  if (*algorithm == kAlgorithmP256) key.algorithm = core::KeyAlgorithm::kEcdsaP256;
  else if (*algorithm == kAlgorithmEd25519) key.algorithm = core::KeyAlgorithm::kEd25519;
  else return invalid("unknown algorithm " + std::to_string(*algorithm));
  auto kek_size = reader.take_length(1);
  auto kek_id = kek_size ? reader.take(*kek_size) : std::nullopt;
  auto spki_size = reader.take_length(2);
  auto spki = spki_size ? reader.take(*spki_size) : std::nullopt;
  auto wrapped_size = reader.take_length(2);
  auto wrapped = wrapped_size ? reader.take(*wrapped_size) : std::nullopt;
  if (!kek_id || !spki || !wrapped) return invalid("truncated");
  if (!reader.rest.empty()) return invalid("trailing bytes");
  if (kek_id->empty()) return invalid("empty KEK id");
  if (wrapped->empty() || wrapped->size() > kMaxWrappedPrivateKey) return invalid("wrapped private key has a bad size");
  core::EvpPkeyPtr public_key = core::parse_public_key_spki(spki->data(), spki->size());
  if (!public_key) {
    (void)core::openssl_error(ErrorCode::kWrappedKeyInvalid, "");  // drain OpenSSL's queue
    return invalid("its public key is not a DER SubjectPublicKeyInfo");
  }
  int type = EVP_PKEY_get_base_id(public_key.get());
  bool expected = key.algorithm == core::KeyAlgorithm::kEcdsaP256 ? type == EVP_PKEY_EC : type == EVP_PKEY_ED25519;
  if (!expected) return invalid("its public key does not match its algorithm");
  key.kek_id = std::move(*kek_id);
  key.public_key_spki = std::move(*spki);
  key.wrapped_private_key = std::move(*wrapped);
  return key;
}

WrappedKeyStore::WrappedKeyStore(std::shared_ptr<SessionPool> pool, core::Bytes kek_id)
    : pool_(std::move(pool)), kek_id_(std::move(kek_id)) {}

core::Result<std::unique_ptr<WrappedKeyStore>> WrappedKeyStore::open(std::shared_ptr<SessionPool> pool,
                                                                     core::Bytes kek_id) {
  if (kek_id.empty() || kek_id.size() > kMaxKekIdSize) {
    return core::make_error(ErrorCode::kInvalidArgument, "a KEK id has 1 to 255 bytes");
  }
  auto found = pool->with_retry<CK_OBJECT_HANDLE>("find KEK", [&](Lease& lease) {
    return pool->find_key(lease, CKO_SECRET_KEY, kek_id);
  });
  if (!found) return found.error();
  return std::unique_ptr<WrappedKeyStore>(new WrappedKeyStore(std::move(pool), std::move(kek_id)));
}

core::Result<core::Bytes> WrappedKeyStore::generate(core::KeyAlgorithm algorithm) {
  return pool_->with_retry<core::Bytes>("generate wrapped key", [&](Lease& lease) -> core::Result<core::Bytes> {
    auto kek = pool_->find_key(lease, CKO_SECRET_KEY, kek_id_);
    if (!kek) return kek.error();
    auto pair = detail::generate_key_pair(lease, algorithm, kWrappedKeyLabel, detail::KeyResidence::kSessionForWrapping);
    if (!pair) return pair.error();
    SessionObjectGuard guard{lease.session(), {pair->private_key, pair->public_key}};  // the clear copy dies here
    CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    core::Bytes wrapped(kMaxWrappedPrivateKey);
    CK_ULONG size = wrapped.size();
    CK_RV rv = lease.fn()->C_WrapKey(lease.handle(), &mechanism, *kek, pair->private_key, wrapped.data(), &size);
    if (rv == CKR_KEY_NOT_WRAPPABLE) {  // SoftHSM 2.6 wraps EC but not Edwards private keys
      return core::make_error(ErrorCode::kUnsupportedAlgorithm,
                              "the token cannot wrap " + std::string(core::key_algorithm_name(algorithm)) +
                                  " private keys (C_WrapKey: CKR_KEY_NOT_WRAPPABLE)");
    }
    MEDLEDGER_TRY(lease.check("C_WrapKey", rv, "wrapping a person key"));
    wrapped.resize(size);
    return encode_wrapped_key(WrappedKey{algorithm, kek_id_, pair->spki, std::move(wrapped)});
  });
}

core::Result<core::Bytes> WrappedKeyStore::sign_decoded(const WrappedKey& key, const core::Digest& blob_id,
                                                        const core::Digest& digest) {
  return sign_wrapped(*pool_, kek_id_, key, blob_id, digest);
}

core::Result<core::Bytes> WrappedKeyStore::sign_digest(core::ByteView blob, const core::Digest& digest) {
  auto key = decode_wrapped_key(blob);
  if (!key) return key.error();
  if (key->kek_id != kek_id_) return invalid("made under KEK " + core::hex_encode(key->kek_id) + ", not this one");
  return sign_decoded(*key, core::sha256(blob), digest);
}

core::Result<std::unique_ptr<core::Signer>> WrappedKeyStore::signer(core::ByteView blob) {
  auto key = decode_wrapped_key(blob);
  if (!key) return key.error();
  if (key->kek_id != kek_id_) return invalid("made under KEK " + core::hex_encode(key->kek_id) + ", not this one");
  return std::unique_ptr<core::Signer>(
      std::make_unique<WrappedKeySigner>(pool_, kek_id_, std::move(*key), core::sha256(blob)));
}

}  // namespace medledger::hsm

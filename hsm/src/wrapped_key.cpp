#include "medledger/hsm/wrapped_key.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "key_pair.h"
#include "medledger/core/assert.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/pkcs11_error.h"
#include "medledger/hsm/token_signer.h"
#include "unwrapped_key_cache.h"
#include "wrapped_key_codec.h"

namespace medledger::hsm {

/// SHA-256 digests of blobs whose private key is known to pair with their public
/// key, so the software check runs once per blob, not on every unwrap. Bounded by
/// kMaxPairedBlobs: when full it starts again empty (blobs are then checked again).
class PairedBlobs {
 public:
  bool contains(const core::Digest& blob_id) const {
    std::lock_guard lock(mutex_);
    return blobs_.count(blob_id) != 0;
  }
  void insert(const core::Digest& blob_id) {
    std::lock_guard lock(mutex_);
    if (blobs_.size() >= kMaxPairedBlobs) blobs_.clear();
    blobs_.insert(blob_id);
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_set<core::Digest, DigestHash> blobs_;
};

namespace {
using core::ErrorCode;
using detail::invalid_wrapped_key;
using Lease = SessionPool::Lease;

constexpr const char* kWrappedKeyLabel =
    "medledger-wrapped";  // label of the short-lived session objects

// Destroys session objects that must not outlive one operation.
struct SessionObjectGuard {
  Session& session;
  std::vector<CK_OBJECT_HANDLE> objects;
  ~SessionObjectGuard() {
    for (auto o : objects) (void)session.destroy(o);
  }
};

// C_UnwrapKey of `key` under the KEK into a sign-only session object.
core::Result<CK_OBJECT_HANDLE> unwrap(SessionPool& pool, Lease& lease, const core::Bytes& kek_id,
                                      const WrappedKey& key) {
  MEDLEDGER_TRY_ASSIGN(auto kek, pool.find_key(lease, CKO_SECRET_KEY, kek_id));
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_KEY_TYPE key_type = key.algorithm == core::KeyAlgorithm::kEcdsaP256 ? CKK_EC : CKK_EC_EDWARDS;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  std::array<CK_ATTRIBUTE, 10> templ = {{
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
  }};
  CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  CK_RV rv = lease.fn()->C_UnwrapKey(
      lease.handle(), &mechanism, kek, const_cast<std::uint8_t*>(key.wrapped_private_key.data()),
      key.wrapped_private_key.size(), templ.data(), templ.size(), &object);
  if (rv != CKR_OK) {
    auto error = lease.check("C_UnwrapKey", rv, "unwrapping a person key");
    if (classify_fault(rv) != FaultClass::kNone) return error.error();
    return invalid_wrapped_key("it does not unwrap under KEK " + core::hex_encode(kek_id) +
                               " (C_UnwrapKey: " + std::string(ckr_name(rv)) + ")");
  }
  return object;
}

// What one signature with a wrapped key needs: the blob's id and algorithm always;
// the decoded key if the caller has it (signer objects), else the blob to decode on
// a miss.
struct WrappedKeyRef {
  const core::Digest& blob_id;
  core::KeyAlgorithm algorithm;
  core::ByteView blob;
  const WrappedKey* decoded = nullptr;
};

core::Result<core::Bytes> sign_wrapped(SessionPool& pool, const core::Bytes& kek_id,
                                       PairedBlobs& paired, WrappedKeyRef ref,
                                       const core::Digest& digest) {
  std::optional<WrappedKey> decoded_here;  // decoded at most once per call, and only on a miss
  return pool.with_retry<core::Bytes>(
      "sign with wrapped key", [&](Lease& lease) -> core::Result<core::Bytes> {
        if (auto cached = lease.cached_unwrapped_key(ref.blob_id)) {
          auto signature = sign_with_object(lease, *cached, ref.algorithm, digest);
          if (!signature && classify_fault(lease.last_failure()) == FaultClass::kStaleHandle) {
            lease.forget_unwrapped_key(ref.blob_id);
          }
          return signature;
        }
        const bool was_paired = paired.contains(ref.blob_id);
        if (ref.decoded == nullptr) {
          // A blob already paired needs no OpenSSL parse of its SPKI (it costs more than a
          // signature).
          MEDLEDGER_TRY_ASSIGN(auto key, was_paired ? detail::decode_wrapped_key_fields(ref.blob)
                                                    : decode_wrapped_key(ref.blob));
          decoded_here = std::move(key);
          ref.decoded = &*decoded_here;
        }
        MEDLEDGER_TRY_ASSIGN(auto object, unwrap(pool, lease, kek_id, *ref.decoded));
        SessionObjectGuard guard{lease.session(), {object}};
        auto signature = sign_with_object(lease, object, ref.algorithm, digest);
        if (!signature) return signature.error();
        if (!was_paired) {
          // Pair the unwrapped private key with the blob's public key once per blob: a
          // blob whose SPKI was swapped must not yield signatures that fail later.
          if (!core::verify_digest_signature(ref.decoded->public_key_spki, digest, *signature)) {
            return invalid_wrapped_key("its private key does not match its public key");
          }
          paired.insert(ref.blob_id);
        }
        guard.objects.clear();
        lease.remember_unwrapped_key(ref.blob_id, object);
        return signature;
      });
}

class WrappedKeySigner final : public core::Signer {
 public:
  WrappedKeySigner(std::shared_ptr<SessionPool> pool, core::Bytes kek_id,
                   std::shared_ptr<PairedBlobs> paired, WrappedKey key, core::Digest blob_id)
      : pool_(std::move(pool)),
        kek_id_(std::move(kek_id)),
        paired_(std::move(paired)),
        key_(std::move(key)),
        blob_id_(blob_id) {}
  core::Result<core::Bytes> sign_digest(const core::Digest& digest) override {
    return sign_wrapped(*pool_, kek_id_, *paired_,
                        WrappedKeyRef{blob_id_, key_.algorithm, {}, &key_}, digest);
  }
  const core::Bytes& public_key_spki() const override { return key_.public_key_spki; }
  core::KeyAlgorithm algorithm() const override { return key_.algorithm; }

 private:
  std::shared_ptr<SessionPool> pool_;
  core::Bytes kek_id_;
  std::shared_ptr<PairedBlobs> paired_;
  WrappedKey key_;
  core::Digest blob_id_;
};

core::Error foreign_kek(core::ByteView kek_id) {
  return invalid_wrapped_key("made under KEK " + core::hex_encode(kek_id) + ", not this one");
}
}  // namespace

WrappedKeyStore::WrappedKeyStore(std::shared_ptr<SessionPool> pool, core::Bytes kek_id)
    : pool_(std::move(pool)),
      kek_id_(std::move(kek_id)),
      paired_(std::make_shared<PairedBlobs>()) {}

WrappedKeyStore::~WrappedKeyStore() = default;

core::Result<std::unique_ptr<WrappedKeyStore>> WrappedKeyStore::open(
    std::shared_ptr<SessionPool> pool, core::Bytes kek_id) {
  if (kek_id.empty() || kek_id.size() > detail::kMaxKekIdSize) {
    return core::make_error(ErrorCode::kInvalidArgument, "a KEK id has 1 to 255 bytes");
  }
  MEDLEDGER_TRY(pool->with_retry<CK_OBJECT_HANDLE>(
      "find KEK", [&](Lease& lease) { return pool->find_key(lease, CKO_SECRET_KEY, kek_id); }));
  return std::unique_ptr<WrappedKeyStore>(new WrappedKeyStore(std::move(pool), std::move(kek_id)));
}

core::Result<core::Bytes> WrappedKeyStore::generate(core::KeyAlgorithm algorithm) {
  auto blob = pool_->with_retry<core::Bytes>(
      "generate wrapped key", [&](Lease& lease) -> core::Result<core::Bytes> {
        MEDLEDGER_TRY_ASSIGN(auto kek, pool_->find_key(lease, CKO_SECRET_KEY, kek_id_));
        MEDLEDGER_TRY_ASSIGN(auto pair,
                             detail::generate_key_pair(lease, algorithm, kWrappedKeyLabel,
                                                       detail::KeyResidence::kSessionForWrapping));
        SessionObjectGuard guard{lease.session(),
                                 {pair.private_key, pair.public_key}};  // the clear copy dies here
        CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
        core::Bytes wrapped(detail::kMaxWrappedPrivateKey);
        CK_ULONG size = wrapped.size();
        CK_RV rv = lease.fn()->C_WrapKey(lease.handle(), &mechanism, kek, pair.private_key,
                                         wrapped.data(), &size);
        if (rv == CKR_KEY_NOT_WRAPPABLE) {  // SoftHSM 2.6 wraps EC but not Edwards private keys
          return core::make_error(ErrorCode::kUnsupportedAlgorithm,
                                  "the token cannot wrap " +
                                      std::string(core::key_algorithm_name(algorithm)) +
                                      " private keys (C_WrapKey: CKR_KEY_NOT_WRAPPABLE)");
        }
        MEDLEDGER_TRY(lease.check("C_WrapKey", rv, "wrapping a person key"));
        wrapped.resize(size);
        return encode_wrapped_key(WrappedKey{algorithm, kek_id_, pair.spki, std::move(wrapped)});
      });
  // The public key in the blob was read from the token's own key pair: paired by construction.
  if (blob) paired_->insert(core::sha256(*blob));
  return blob;
}

core::Result<core::Bytes> WrappedKeyStore::sign_digest(core::ByteView blob,
                                                       const core::Digest& digest) {
  // The header alone picks the mechanism and names the KEK; the rest is decoded only on a miss.
  MEDLEDGER_TRY_ASSIGN(auto header, detail::read_blob_header(blob));
  if (!std::equal(header.kek_id.begin(), header.kek_id.end(), kek_id_.begin(), kek_id_.end())) {
    return foreign_kek(header.kek_id);
  }
  const core::Digest blob_id = core::sha256(blob);
  return sign_wrapped(*pool_, kek_id_, *paired_, WrappedKeyRef{blob_id, header.algorithm, blob},
                      digest);
}

core::Result<std::unique_ptr<core::Signer>> WrappedKeyStore::signer(core::ByteView blob) {
  MEDLEDGER_TRY_ASSIGN(auto key, decode_wrapped_key(blob));
  if (key.kek_id != kek_id_) return foreign_kek(key.kek_id);
  return std::unique_ptr<core::Signer>(std::make_unique<WrappedKeySigner>(
      pool_, kek_id_, paired_, std::move(key), core::sha256(blob)));
}

}  // namespace medledger::hsm

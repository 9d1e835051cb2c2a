#include "medledger/hsm/wrapped_key.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <tuple>
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

/// What a store shares with the signers it makes: the paired blobs, what open()
/// learnt about the token, and whether its C_UnwrapKey wants the public value.
class WrappedKeyState {
 public:
  explicit WrappedKeyState(WrappedKeyStore::WrapPlan plan) : plan(std::move(plan)) {}
  PairedBlobs paired;
  const WrappedKeyStore::WrapPlan plan;
  // NSS's softoken refuses to unwrap an EC key without its public value in its vendor
  // attribute CKA_NSS_DB (CKR_TEMPLATE_INCOMPLETE); learnt at the first such refusal.
  std::atomic<bool> unwrap_needs_public_value{false};
};

namespace {
using core::ErrorCode;
using detail::invalid_wrapped_key;
using Lease = SessionPool::Lease;

constexpr CK_ATTRIBUTE_TYPE kCkaNssDb = 0xD5A0DB00UL;  // NSS: the key's public value

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

// The mechanism of this token that reproduces the blob's format.
core::Result<CK_MECHANISM_TYPE> unwrap_mechanism(const WrappedKeyStore::WrapPlan& plan,
                                                 const WrappedKey& key) {
  if (key.wrap_format == WrapFormat::kRfc5649 && plan.kwp) return kCkmAesKeyWrapKwp;
  if (plan.pad_format == key.wrap_format) return CKM_AES_KEY_WRAP_PAD;
  std::string offered = plan.kwp ? "CKM_AES_KEY_WRAP_KWP (RFC 5649)" : "";
  if (plan.pad_format) {
    offered += std::string(offered.empty() ? "" : " and ") + "CKM_AES_KEY_WRAP_PAD (" +
               wrap_format_name(*plan.pad_format) + ")";
  }
  return core::make_error(ErrorCode::kMechanismMissing,
                          "token '" + plan.token_label + "' cannot unwrap a key wrapped with " +
                              mechanism_name(key.wrap_mechanism) + " (" +
                              wrap_format_name(key.wrap_format) + "); it offers " +
                              (offered.empty() ? "neither format" : offered));
}

// The uncompressed point at the end of a P-256 SPKI (04 || X || Y), or empty.
core::ByteView public_point(const WrappedKey& key) {
  constexpr std::size_t kPointSize = 65;
  const auto& spki = key.public_key_spki;
  if (key.algorithm != core::KeyAlgorithm::kEcdsaP256 || spki.size() < kPointSize) return {};
  core::ByteView point(spki.data() + spki.size() - kPointSize, kPointSize);
  return point[0] == 0x04 ? point : core::ByteView{};
}

// The usage attributes of an unwrapped key, as the token reports them. An attribute
// the token does not know for this key (CK_UNAVAILABLE_INFORMATION) counts as FALSE.
struct KeyUsageFlags {
  CK_BBOOL sign = CK_FALSE, decrypt = CK_FALSE, derive = CK_FALSE, unwrap = CK_FALSE,
           sign_recover = CK_FALSE, extractable = CK_FALSE, sensitive = CK_FALSE;
  bool more_than_sign() const { return decrypt || derive || unwrap || sign_recover; }
  bool safe() const { return sign && sensitive && !extractable && !more_than_sign(); }
  std::string describe() const {
    std::string s;
    auto add = [&](bool bad, const char* what) {
      if (bad) s += (s.empty() ? "" : ", ") + std::string(what);
    };
    add(!sign, "CKA_SIGN=FALSE");
    add(decrypt, "CKA_DECRYPT=TRUE");
    add(derive, "CKA_DERIVE=TRUE");
    add(unwrap, "CKA_UNWRAP=TRUE");
    add(sign_recover, "CKA_SIGN_RECOVER=TRUE");
    add(extractable, "CKA_EXTRACTABLE=TRUE");
    add(!sensitive, "CKA_SENSITIVE=FALSE");
    return s;
  }
};

core::Result<KeyUsageFlags> read_usage(Lease& lease, CK_OBJECT_HANDLE object) {
  KeyUsageFlags f;
  std::array<CK_ATTRIBUTE, 7> attrs = {{
      {CKA_SIGN, &f.sign, sizeof f.sign},
      {CKA_DECRYPT, &f.decrypt, sizeof f.decrypt},
      {CKA_DERIVE, &f.derive, sizeof f.derive},
      {CKA_UNWRAP, &f.unwrap, sizeof f.unwrap},
      {CKA_SIGN_RECOVER, &f.sign_recover, sizeof f.sign_recover},
      {CKA_EXTRACTABLE, &f.extractable, sizeof f.extractable},
      {CKA_SENSITIVE, &f.sensitive, sizeof f.sensitive},
  }};
  CK_RV rv = lease.fn()->C_GetAttributeValue(lease.handle(), object, attrs.data(), attrs.size());
  // CKR_ATTRIBUTE_TYPE_INVALID still fills the attributes the token knows.
  if (rv != CKR_ATTRIBUTE_TYPE_INVALID) MEDLEDGER_TRY(lease.check("C_GetAttributeValue", rv));
  for (auto& a : attrs) {
    if (a.ulValueLen != sizeof(CK_BBOOL)) *static_cast<CK_BBOOL*>(a.pValue) = CK_FALSE;
  }
  return f;
}

// Reads the usage of a freshly unwrapped key back: some tokens add uses the template
// said FALSE (NSS sets CKA_DERIVE and CKA_SIGN_RECOVER on EC keys). Those are turned off
// where the token allows; a key still able to do more than sign is refused.
core::Result<void> restrict_to_signing(Lease& lease, CK_OBJECT_HANDLE object) {
  MEDLEDGER_TRY_ASSIGN(auto usage, read_usage(lease, object));
  if (usage.safe()) return core::success();
  if (usage.more_than_sign()) {
    CK_BBOOL no = CK_FALSE;
    std::vector<CK_ATTRIBUTE> off;
    if (usage.decrypt) off.push_back({CKA_DECRYPT, &no, sizeof no});
    if (usage.derive) off.push_back({CKA_DERIVE, &no, sizeof no});
    if (usage.unwrap) off.push_back({CKA_UNWRAP, &no, sizeof no});
    if (usage.sign_recover) off.push_back({CKA_SIGN_RECOVER, &no, sizeof no});
    CK_RV rv = lease.fn()->C_SetAttributeValue(lease.handle(), object, off.data(), off.size());
    if (classify_fault(rv) != FaultClass::kNone)
      return lease.check("C_SetAttributeValue", rv).error();
    MEDLEDGER_TRY_ASSIGN(usage, read_usage(lease, object));
    if (usage.safe()) return core::success();
  }
  return core::make_error(ErrorCode::kKeyUsageUnsafe,
                          "the token unwrapped a person key that can do more than sign (" +
                              usage.describe() + ") and would not restrict it; key destroyed");
}

// C_UnwrapKey of `key` under the KEK into a sign-only session object.
core::Result<CK_OBJECT_HANDLE> unwrap(SessionPool& pool, Lease& lease, const core::Bytes& kek_id,
                                      WrappedKeyState& state, const WrappedKey& key) {
  MEDLEDGER_TRY_ASSIGN(auto wrap_mechanism, unwrap_mechanism(state.plan, key));
  MEDLEDGER_TRY_ASSIGN(auto kek, pool.find_key(lease, CKO_SECRET_KEY, kek_id));
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_KEY_TYPE key_type = key.algorithm == core::KeyAlgorithm::kEcdsaP256 ? CKK_EC : CKK_EC_EDWARDS;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  core::ByteView point = public_point(key);
  std::array<CK_ATTRIBUTE, 12> templ = {{
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
      {CKA_SIGN_RECOVER, &no, sizeof no},
      {kCkaNssDb, const_cast<std::uint8_t*>(point.data()), point.size()},  // only if needed
  }};
  CK_MECHANISM mechanism{wrap_mechanism, nullptr, 0};
  auto call = [&](bool with_public_value) {
    CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
    CK_RV rv = lease.fn()->C_UnwrapKey(lease.handle(), &mechanism, kek,
                                       const_cast<std::uint8_t*>(key.wrapped_private_key.data()),
                                       key.wrapped_private_key.size(), templ.data(),
                                       templ.size() - (with_public_value ? 0 : 1), &object);
    return std::make_pair(rv, object);
  };
  const bool with_public_value = state.unwrap_needs_public_value.load() && !point.empty();
  auto [rv, object] = call(with_public_value);
  if (rv == CKR_TEMPLATE_INCOMPLETE && !with_public_value && !point.empty()) {
    std::tie(rv, object) = call(true);
    if (rv == CKR_OK) state.unwrap_needs_public_value.store(true);
  }
  if (rv != CKR_OK) {
    auto error = lease.check("C_UnwrapKey", rv, "unwrapping a person key");
    if (classify_fault(rv) != FaultClass::kNone) return error.error();
    return invalid_wrapped_key("it does not unwrap under KEK " + core::hex_encode(kek_id) + " (" +
                               mechanism_name(wrap_mechanism) +
                               ", C_UnwrapKey: " + std::string(ckr_name(rv)) + ")");
  }
  SessionObjectGuard guard{lease.session(), {object}};
  MEDLEDGER_TRY(restrict_to_signing(lease, object));
  guard.objects.clear();
  return object;
}

// What CKM_AES_KEY_WRAP_PAD produces under the KEK: a 16-byte known value is wrapped
// (RFC 5649: 24 bytes; PKCS #7 padding then RFC 3394: 32), unwrapped and compared.
// Empty if the token refuses any step or the output is neither.
core::Result<std::optional<WrapFormat>> detect_pad_format(Lease& lease, CK_OBJECT_HANDLE kek) {
  static constexpr std::array<std::uint8_t, 16> kKnown = {0x6d, 0x65, 0x64, 0x6c, 0x65, 0x64,
                                                          0x67, 0x65, 0x72, 0x2d, 0x6b, 0x61,
                                                          0x74, 0x2d, 0x70, 0x31};
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  std::array<CK_ATTRIBUTE, 6> known_templ = {{
      {CKA_CLASS, &secret_class, sizeof secret_class},
      {CKA_KEY_TYPE, &generic, sizeof generic},
      {CKA_TOKEN, &no, sizeof no},
      {CKA_SENSITIVE, &no, sizeof no},
      {CKA_EXTRACTABLE, &yes, sizeof yes},
      {CKA_VALUE, const_cast<std::uint8_t*>(kKnown.data()), kKnown.size()},
  }};
  CK_OBJECT_HANDLE known = CK_INVALID_HANDLE;
  CK_RV rv =
      lease.fn()->C_CreateObject(lease.handle(), known_templ.data(), known_templ.size(), &known);
  if (classify_fault(rv) != FaultClass::kNone) return lease.check("C_CreateObject", rv).error();
  if (rv != CKR_OK) return std::optional<WrapFormat>();
  SessionObjectGuard guard{lease.session(), {known}};
  CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  std::array<std::uint8_t, 64> wrapped{};
  CK_ULONG size = wrapped.size();
  rv = lease.fn()->C_WrapKey(lease.handle(), &mechanism, kek, known, wrapped.data(), &size);
  if (classify_fault(rv) != FaultClass::kNone) return lease.check("C_WrapKey", rv).error();
  if (rv != CKR_OK) return std::optional<WrapFormat>();
  std::optional<WrapFormat> format;
  if (size == 24) format = WrapFormat::kRfc5649;
  if (size == 32) format = WrapFormat::kRfc3394Pkcs7;
  if (!format) return format;
  CK_OBJECT_HANDLE back = CK_INVALID_HANDLE;
  // The same template without CKA_VALUE, nor CKA_VALUE_LEN: the padding carries the
  // length (SoftHSM2 refuses CKA_VALUE_LEN here).
  rv = lease.fn()->C_UnwrapKey(lease.handle(), &mechanism, kek, wrapped.data(), size,
                               known_templ.data(), known_templ.size() - 1, &back);
  if (classify_fault(rv) != FaultClass::kNone) return lease.check("C_UnwrapKey", rv).error();
  if (rv != CKR_OK) return std::optional<WrapFormat>();
  guard.objects.push_back(back);
  std::array<std::uint8_t, 16> value{};
  CK_ATTRIBUTE read{CKA_VALUE, value.data(), value.size()};
  rv = lease.fn()->C_GetAttributeValue(lease.handle(), back, &read, 1);
  if (rv != CKR_OK || read.ulValueLen != kKnown.size() || value != kKnown)
    return std::optional<WrapFormat>();
  return format;
}

core::Result<bool> read_trusted(Lease& lease, CK_OBJECT_HANDLE kek) {
  CK_BBOOL trusted = CK_FALSE;
  CK_ATTRIBUTE attr{CKA_TRUSTED, &trusted, sizeof trusted};
  CK_RV rv = lease.fn()->C_GetAttributeValue(lease.handle(), kek, &attr, 1);
  if (rv == CKR_ATTRIBUTE_TYPE_INVALID) return false;
  MEDLEDGER_TRY(lease.check("C_GetAttributeValue", rv));
  return attr.ulValueLen == sizeof trusted && trusted == CK_TRUE;
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
                                       WrappedKeyState& state, WrappedKeyRef ref,
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
        const bool was_paired = state.paired.contains(ref.blob_id);
        if (ref.decoded == nullptr) {
          // A blob already paired needs no OpenSSL parse of its SPKI (it costs more than a
          // signature).
          MEDLEDGER_TRY_ASSIGN(auto key, was_paired ? detail::decode_wrapped_key_fields(ref.blob)
                                                    : decode_wrapped_key(ref.blob));
          decoded_here = std::move(key);
          ref.decoded = &*decoded_here;
        }
        MEDLEDGER_TRY_ASSIGN(auto object, unwrap(pool, lease, kek_id, state, *ref.decoded));
        SessionObjectGuard guard{lease.session(), {object}};
        auto signature = sign_with_object(lease, object, ref.algorithm, digest);
        if (!signature) return signature.error();
        if (!was_paired) {
          // Pair the unwrapped private key with the blob's public key once per blob: a
          // blob whose SPKI was swapped must not yield signatures that fail later.
          if (!core::verify_digest_signature(ref.decoded->public_key_spki, digest, *signature)) {
            return invalid_wrapped_key("its private key does not match its public key");
          }
          state.paired.insert(ref.blob_id);
        }
        guard.objects.clear();
        lease.remember_unwrapped_key(ref.blob_id, object);
        return signature;
      });
}

class WrappedKeySigner final : public core::Signer {
 public:
  WrappedKeySigner(std::shared_ptr<SessionPool> pool, core::Bytes kek_id,
                   std::shared_ptr<WrappedKeyState> state, WrappedKey key, core::Digest blob_id)
      : pool_(std::move(pool)),
        kek_id_(std::move(kek_id)),
        state_(std::move(state)),
        key_(std::move(key)),
        blob_id_(blob_id) {}
  core::Result<core::Bytes> sign_digest(const core::Digest& digest) override {
    return sign_wrapped(*pool_, kek_id_, *state_,
                        WrappedKeyRef{blob_id_, key_.algorithm, {}, &key_}, digest);
  }
  const core::Bytes& public_key_spki() const override { return key_.public_key_spki; }
  core::KeyAlgorithm algorithm() const override { return key_.algorithm; }

 private:
  std::shared_ptr<SessionPool> pool_;
  core::Bytes kek_id_;
  std::shared_ptr<WrappedKeyState> state_;
  WrappedKey key_;
  core::Digest blob_id_;
};

core::Error foreign_kek(core::ByteView kek_id) {
  return invalid_wrapped_key("made under KEK " + core::hex_encode(kek_id) + ", not this one");
}
}  // namespace

WrappedKeyStore::WrappedKeyStore(std::shared_ptr<SessionPool> pool, core::Bytes kek_id,
                                 WrapPlan plan)
    : pool_(std::move(pool)),
      kek_id_(std::move(kek_id)),
      state_(std::make_shared<WrappedKeyState>(std::move(plan))) {}

std::optional<WrapFormat> WrappedKeyStore::pad_format() const { return state_->plan.pad_format; }
bool WrappedKeyStore::kek_trusted() const { return state_->plan.kek_trusted; }
CK_MECHANISM_TYPE WrappedKeyStore::generate_mechanism() const {
  return state_->plan.kwp ? kCkmAesKeyWrapKwp : CKM_AES_KEY_WRAP_PAD;
}

WrappedKeyStore::~WrappedKeyStore() = default;

core::Result<std::unique_ptr<WrappedKeyStore>> WrappedKeyStore::open(
    std::shared_ptr<SessionPool> pool, core::Bytes kek_id) {
  if (kek_id.empty() || kek_id.size() > detail::kMaxKekIdSize) {
    return core::make_error(ErrorCode::kInvalidArgument, "a KEK id has 1 to 255 bytes");
  }
  MEDLEDGER_TRY(pool->require(Capability::kWrappedKeys));
  WrapPlan plan;
  plan.kwp = pool->offers(kCkmAesKeyWrapKwp);
  plan.token_label = pool->token().label;
  MEDLEDGER_TRY(pool->with_retry("open KEK", [&](Lease& lease) -> core::Result<void> {
    MEDLEDGER_TRY_ASSIGN(auto kek, pool->find_key(lease, CKO_SECRET_KEY, kek_id));
    MEDLEDGER_TRY_ASSIGN(plan.kek_trusted, read_trusted(lease, kek));
    if (pool->offers(CKM_AES_KEY_WRAP_PAD)) {
      MEDLEDGER_TRY_ASSIGN(plan.pad_format, detect_pad_format(lease, kek));
    }
    return core::success();
  }));
  if (!plan.kwp && !plan.pad_format) {
    return core::make_error(ErrorCode::kMechanismMissing,
                            "token '" + plan.token_label +
                                "' lacks CKM_AES_KEY_WRAP_KWP, and its CKM_AES_KEY_WRAP_PAD gives "
                                "neither RFC 5649 nor RFC 3394 with PKCS #7 padding under KEK " +
                                core::hex_encode(kek_id));
  }
  return std::unique_ptr<WrappedKeyStore>(
      new WrappedKeyStore(std::move(pool), std::move(kek_id), std::move(plan)));
}

core::Result<core::Bytes> WrappedKeyStore::generate(core::KeyAlgorithm algorithm) {
  MEDLEDGER_TRY(pool_->require(algorithm == core::KeyAlgorithm::kEcdsaP256 ? Capability::kEcdsaP256
                                                                           : Capability::kEd25519));
  const CK_MECHANISM_TYPE wrap_mechanism = generate_mechanism();
  const WrapFormat wrap_format = state_->plan.kwp ? WrapFormat::kRfc5649 : *state_->plan.pad_format;
  auto blob = pool_->with_retry<core::Bytes>(
      "generate wrapped key", [&](Lease& lease) -> core::Result<core::Bytes> {
        MEDLEDGER_TRY_ASSIGN(auto kek, pool_->find_key(lease, CKO_SECRET_KEY, kek_id_));
        MEDLEDGER_TRY_ASSIGN(auto pair,
                             detail::generate_key_pair(lease, algorithm, kWrappedKeyLabel,
                                                       detail::KeyResidence::kSessionForWrapping));
        SessionObjectGuard guard{lease.session(),
                                 {pair.private_key, pair.public_key}};  // the clear copy dies here
        CK_MECHANISM mechanism{wrap_mechanism, nullptr, 0};
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
        return encode_wrapped_key(WrappedKey{algorithm, kek_id_, pair.spki, std::move(wrapped),
                                             wrap_mechanism, wrap_format});
      });
  // The public key in the blob was read from the token's own key pair: paired by construction.
  if (blob) state_->paired.insert(core::sha256(*blob));
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
  return sign_wrapped(*pool_, kek_id_, *state_, WrappedKeyRef{blob_id, header.algorithm, blob},
                      digest);
}

core::Result<std::unique_ptr<core::Signer>> WrappedKeyStore::signer(core::ByteView blob) {
  MEDLEDGER_TRY_ASSIGN(auto key, decode_wrapped_key(blob));
  if (key.kek_id != kek_id_) return foreign_kek(key.kek_id);
  return std::unique_ptr<core::Signer>(std::make_unique<WrappedKeySigner>(
      pool_, kek_id_, state_, std::move(key), core::sha256(blob)));
}

}  // namespace medledger::hsm

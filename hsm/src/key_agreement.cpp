#include "medledger/hsm/key_agreement.h"

#include <openssl/core_names.h>

#include "key_pair.h"
#include "medledger/core/openssl.h"
#include "medledger/hsm/pkcs11_error.h"

namespace medledger::hsm {

namespace {
using core::ErrorCode;
using Lease = SessionPool::Lease;

constexpr std::string_view kP256GroupName = "prime256v1";
constexpr std::size_t kP256CoordinateSize = 32;

// Destroys the derived session object on every path out of derive_shared_secret.
class DerivedObjectGuard {
 public:
  DerivedObjectGuard(Session& session, CK_OBJECT_HANDLE object)
      : session_(session), object_(object) {}
  ~DerivedObjectGuard() { (void)session_.destroy(object_); }
  DerivedObjectGuard(const DerivedObjectGuard&) = delete;  // one owner destroys the object once
  DerivedObjectGuard& operator=(const DerivedObjectGuard&) = delete;

 private:
  Session& session_;
  CK_OBJECT_HANDLE object_;
};

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &length) != 1) {
    return false;
  }
  return std::string_view(group, length) == kP256GroupName;
}

core::Result<core::Bytes> coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "reading a P-256 public key coordinate");
  }
  core::BignumPtr value(raw);
  core::Bytes out(kP256CoordinateSize);
  if (BN_bn2binpad(value.get(), out.data(), static_cast<int>(out.size())) !=
      static_cast<int>(out.size())) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "a P-256 coordinate does not fit 32 bytes");
  }
  return out;
}

// A private key on the token with this CKA_ID, checked to be a P-256 key that may derive.
core::Result<CK_OBJECT_HANDLE> derive_key_handle(Lease& lease, SessionPool& pool,
                                                 core::ByteView key_id) {
  MEDLEDGER_TRY_ASSIGN(auto handle, pool.find_key(lease, CKO_PRIVATE_KEY, key_id));
  MEDLEDGER_TRY_ASSIGN(auto key_type, lease.session().ulong_attribute(handle, CKA_KEY_TYPE));
  if (key_type != CKK_EC) {
    return core::make_error(ErrorCode::kUnsupportedAlgorithm,
                            "key agreement needs an EC P-256 key");
  }
  MEDLEDGER_TRY_ASSIGN(auto may_derive, lease.session().bool_attribute(handle, CKA_DERIVE));
  if (!may_derive) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "the key " + core::hex_encode(key_id) + " is not a key agreement key (CKA_DERIVE=FALSE)");
  }
  return handle;
}
}  // namespace

core::Result<core::Bytes> p256_point_from_spki(core::ByteView spki) {
  core::EvpPkeyPtr key = core::parse_public_key_spki(spki.data(), spki.size());
  if (!key)
    return core::openssl_error(ErrorCode::kMalformedEncoding, "the public key is not a DER SPKI");
  if (!is_p256(key.get())) {
    return core::make_error(ErrorCode::kUnsupportedAlgorithm,
                            "the public key is not an EC P-256 key");
  }
  MEDLEDGER_TRY_ASSIGN(auto x, coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_X));
  MEDLEDGER_TRY_ASSIGN(auto y, coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y));
  core::Bytes point;
  point.reserve(kP256PointSize);
  point.push_back(0x04);  // uncompressed (SEC 1 section 2.3.3)
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  return point;
}

core::Result<KeyInfo> TokenKeyAgreement::generate(const std::shared_ptr<SessionPool>& pool,
                                                  const std::string& label) {
  if (label.empty()) return core::make_error(ErrorCode::kInvalidArgument, "a key needs a label");
  MEDLEDGER_TRY(pool->require(Capability::kKeyAgreement));
  return pool->with_retry<KeyInfo>(
      "generate encryption key", [&](Lease& lease) -> core::Result<KeyInfo> {
        CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
        std::vector<CK_ATTRIBUTE> by_label = {
            {CKA_CLASS, &private_class, sizeof private_class},
            {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
        MEDLEDGER_TRY_ASSIGN(auto taken, lease.session().find_objects(std::move(by_label), 1));
        if (!taken.empty()) {
          return core::make_error(ErrorCode::kAlreadyExists,
                                  "a key labelled '" + label + "' already exists");
        }
        MEDLEDGER_TRY_ASSIGN(auto pair,
                             detail::generate_key_pair(lease, core::KeyAlgorithm::kEcdsaP256, label,
                                                       detail::KeyResidence::kToken,
                                                       detail::KeyUsage::kKeyAgreement));
        return KeyInfo{pair.id, label, core::KeyAlgorithm::kEcdsaP256, pair.spki};
      });
}

core::Result<std::unique_ptr<TokenKeyAgreement>> TokenKeyAgreement::open(
    std::shared_ptr<SessionPool> pool, core::ByteView key_id) {
  MEDLEDGER_TRY(pool->require(Capability::kKeyAgreement));
  core::Bytes id(key_id.begin(), key_id.end());
  auto spki = pool->with_retry<core::Bytes>(
      "open encryption key", [&](Lease& lease) -> core::Result<core::Bytes> {
        MEDLEDGER_TRY(derive_key_handle(lease, *pool, id));
        MEDLEDGER_TRY_ASSIGN(auto public_key, pool->find_key(lease, CKO_PUBLIC_KEY, id));
        core::KeyAlgorithm algorithm = core::KeyAlgorithm::kEcdsaP256;
        auto der = detail::read_public_key(lease.session(), public_key, &algorithm);
        if (!der) return der.error();
        if (algorithm != core::KeyAlgorithm::kEcdsaP256) {
          return core::make_error(ErrorCode::kUnsupportedAlgorithm,
                                  "key agreement needs an EC P-256 key");
        }
        return der;
      });
  if (!spki) return spki.error();
  return std::unique_ptr<TokenKeyAgreement>(
      new TokenKeyAgreement(std::move(pool), std::move(id), std::move(*spki)));
}

core::Result<core::SecretBytes> TokenKeyAgreement::derive_shared_secret(
    core::ByteView peer_public_key_spki) {
  MEDLEDGER_TRY_ASSIGN(auto point, p256_point_from_spki(peer_public_key_spki));
  return pool_->with_retry<core::SecretBytes>(
      "ECDH", [&](Lease& lease) -> core::Result<core::SecretBytes> {
        MEDLEDGER_TRY_ASSIGN(auto private_key, derive_key_handle(lease, *pool_, key_id_));

        CK_ECDH1_DERIVE_PARAMS params{};
        params.kdf = CKD_NULL;  // the raw x-coordinate; HKDF runs in software (docs/encryption.md)
        params.public_data_len = point.size();
        params.public_data = point.data();
        CK_MECHANISM mechanism{CKM_ECDH1_DERIVE, &params, sizeof params};

        CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
        CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
        CK_ULONG length = kEcdhP256SecretSize;
        CK_BBOOL yes = CK_TRUE;
        CK_BBOOL no = CK_FALSE;
        // A session object that can do nothing but be read once and destroyed.
        CK_ATTRIBUTE secret_template[] = {
            {CKA_CLASS, &secret_class, sizeof secret_class},
            {CKA_KEY_TYPE, &generic, sizeof generic},
            {CKA_TOKEN, &no, sizeof no},
            {CKA_PRIVATE, &yes, sizeof yes},
            {CKA_SENSITIVE, &no, sizeof no},
            {CKA_EXTRACTABLE, &yes, sizeof yes},
            {CKA_VALUE_LEN, &length, sizeof length},
            {CKA_ENCRYPT, &no, sizeof no},
            {CKA_DECRYPT, &no, sizeof no},
            {CKA_SIGN, &no, sizeof no},
            {CKA_VERIFY, &no, sizeof no},
            {CKA_WRAP, &no, sizeof no},
            {CKA_UNWRAP, &no, sizeof no},
            {CKA_DERIVE, &no, sizeof no},
        };
        CK_OBJECT_HANDLE derived = CK_INVALID_HANDLE;
        MEDLEDGER_TRY(lease.check(
            "C_DeriveKey",
            lease.fn()->C_DeriveKey(lease.handle(), &mechanism, private_key, secret_template,
                                    std::size(secret_template), &derived),
            "ECDH with CKM_ECDH1_DERIVE"));
        DerivedObjectGuard guard(lease.session(), derived);

        core::SecretBytes secret(kEcdhP256SecretSize);
        CK_ATTRIBUTE value{CKA_VALUE, secret.data(), secret.size()};
        MEDLEDGER_TRY(
            lease.check("C_GetAttributeValue",
                        lease.fn()->C_GetAttributeValue(lease.handle(), derived, &value, 1),
                        "reading the ECDH shared secret"));
        if (value.ulValueLen != kEcdhP256SecretSize) {
          return core::make_error(ErrorCode::kTokenError, "the token returned an ECDH secret of " +
                                                              std::to_string(value.ulValueLen) +
                                                              " bytes, not 32");
        }
        return secret;
      });
}

}  // namespace medledger::hsm

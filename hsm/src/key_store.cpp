#include "medledger/hsm/key_store.h"

#include <algorithm>

#include "key_pair.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/pkcs11_error.h"
#include "medledger/hsm/token_signer.h"

namespace medledger::hsm {

namespace {
using core::ErrorCode;
using Lease = SessionPool::Lease;

std::string text_of(const core::Bytes& b) { return std::string(b.begin(), b.end()); }

// Private keys on the token matching `extra` (CKA_ID or CKA_LABEL).
core::Result<std::vector<CK_OBJECT_HANDLE>> find_private_keys(Lease& lease,
                                                              std::vector<CK_ATTRIBUTE> extra,
                                                              std::size_t limit) {
  static CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  static CK_BBOOL yes = CK_TRUE;
  extra.push_back({CKA_CLASS, &private_class, sizeof private_class});
  extra.push_back({CKA_TOKEN, &yes, sizeof yes});
  return lease.session().find_objects(std::move(extra), limit);
}

// A key pair from its private half: id, label, and the public half's SPKI.
core::Result<KeyInfo> describe_private_key(Lease& lease, SessionPool& pool,
                                           CK_OBJECT_HANDLE private_key) {
  KeyInfo info;
  MEDLEDGER_TRY_ASSIGN(auto id, lease.session().attribute(private_key, CKA_ID));
  info.id = std::move(id);
  MEDLEDGER_TRY_ASSIGN(auto label, lease.session().attribute(private_key, CKA_LABEL));
  info.label = text_of(label);
  MEDLEDGER_TRY_ASSIGN(auto public_key, pool.find_key(lease, CKO_PUBLIC_KEY, info.id));
  MEDLEDGER_TRY_ASSIGN(auto spki,
                       detail::read_public_key(lease.session(), public_key, &info.algorithm));
  info.public_key_spki = std::move(spki);
  return info;
}
}  // namespace

core::Result<KeyInfo> KeyStore::generate(const KeySpec& spec) {
  if (spec.label.empty())
    return core::make_error(ErrorCode::kInvalidArgument, "a key needs a label");
  MEDLEDGER_TRY(pool_->require(spec.algorithm == core::KeyAlgorithm::kEcdsaP256
                                   ? Capability::kEcdsaP256
                                   : Capability::kEd25519));
  return pool_->with_retry<KeyInfo>("generate key", [&](Lease& lease) -> core::Result<KeyInfo> {
    std::vector<CK_ATTRIBUTE> by_label = {
        {CKA_LABEL, const_cast<char*>(spec.label.data()), spec.label.size()}};
    MEDLEDGER_TRY_ASSIGN(auto taken, find_private_keys(lease, by_label, 1));
    if (!taken.empty()) {
      return core::make_error(ErrorCode::kAlreadyExists,
                              "a key labelled '" + spec.label + "' already exists");
    }
    MEDLEDGER_TRY_ASSIGN(auto pair, detail::generate_key_pair(lease, spec.algorithm, spec.label,
                                                              detail::KeyResidence::kToken));
    return KeyInfo{pair.id, spec.label, spec.algorithm, pair.spki};
  });
}

core::Result<std::vector<KeyInfo>> KeyStore::list() {
  return pool_->with_retry<std::vector<KeyInfo>>(
      "list keys", [&](Lease& lease) -> core::Result<std::vector<KeyInfo>> {
        MEDLEDGER_TRY_ASSIGN(auto handles, find_private_keys(lease, {}, kMaxListedObjects));
        std::vector<KeyInfo> keys;
        for (CK_OBJECT_HANDLE handle : handles) {
          auto info = describe_private_key(lease, *pool_, handle);
          if (info) {
            keys.push_back(std::move(*info));
          } else if (classify_fault(lease.last_failure()) != FaultClass::kNone) {
            return info.error();  // the token failed; other errors mean a key we do not handle
                                  // (RSA, no public half)
          }
          lease.session().clear_failure();
        }
        std::sort(keys.begin(), keys.end(), [](const KeyInfo& a, const KeyInfo& b) {
          return std::tie(a.label, a.id) < std::tie(b.label, b.id);
        });
        return keys;
      });
}

core::Result<KeyInfo> KeyStore::find_by_id(core::ByteView id) {
  return pool_->with_retry<KeyInfo>("find key", [&](Lease& lease) -> core::Result<KeyInfo> {
    MEDLEDGER_TRY_ASSIGN(auto handle, pool_->find_key(lease, CKO_PRIVATE_KEY, id));
    return describe_private_key(lease, *pool_, handle);
  });
}

core::Result<KeyInfo> KeyStore::find_by_label(const std::string& label) {
  return pool_->with_retry<KeyInfo>("find key", [&](Lease& lease) -> core::Result<KeyInfo> {
    std::vector<CK_ATTRIBUTE> by_label = {
        {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
    MEDLEDGER_TRY_ASSIGN(auto handles, find_private_keys(lease, by_label, 2));
    if (handles.empty()) {
      return core::make_error(
          ErrorCode::kKeyNotFound,
          "no key labelled '" + label + "' in token '" + pool_->token().label + "'");
    }
    if (handles.size() > 1) {
      return core::make_error(ErrorCode::kInvalidArgument,
                              "several keys are labelled '" + label + "'; name one by --id");
    }
    return describe_private_key(lease, *pool_, handles.front());
  });
}

core::Result<std::unique_ptr<TokenSigner>> KeyStore::signer(core::ByteView id) {
  MEDLEDGER_TRY_ASSIGN(auto info, find_by_id(id));
  return std::make_unique<TokenSigner>(pool_, info.id, info.algorithm, info.public_key_spki);
}

core::Result<void> KeyStore::destroy(core::ByteView id) {
  auto done = pool_->with_retry("destroy key", [&](Lease& lease) -> core::Result<void> {
    MEDLEDGER_TRY_ASSIGN(auto private_key, pool_->find_key(lease, CKO_PRIVATE_KEY, id));
    auto public_key = pool_->find_key(lease, CKO_PUBLIC_KEY, id);
    MEDLEDGER_TRY(lease.session().destroy(private_key));
    if (public_key) MEDLEDGER_TRY(lease.session().destroy(*public_key));
    return core::success();
  });
  pool_->forget_key(id);
  return done;
}

}  // namespace medledger::hsm

// Custodial signatures: credentials (PIN or session), the signer cache, PIN locks.
#include "custody.h"

#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/hsm/key_store.h"
#include "node_context.h"

namespace medledger::node {

using core::ErrorCode;

Custody::Custody(const NodeContext& node, std::unique_ptr<PinStore> pins)
    : node_(node), pins_(std::move(pins)) {
  MEDLEDGER_ASSERT(pins_ != nullptr);
}

core::Result<std::shared_ptr<const Custody::Key>> Custody::key(std::string_view principal) {
  {
    std::lock_guard<std::mutex> guard(keys_mutex_);
    auto it = keys_.find(principal);
    if (it != keys_.end()) return it->second;
  }
  // A miss costs a person-file read, a certificate parse and a token lookup of the key.
  MEDLEDGER_TRY_ASSIGN(auto person, node_.persons.find(principal));
  MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_pem(person.cert_pem));
  MEDLEDGER_TRY_ASSIGN(auto signer, signer_of(person));
  auto key =
      std::make_shared<const Key>(Key{std::move(signer), ledger::certificate_fingerprint(cert)});
  std::lock_guard<std::mutex> guard(keys_mutex_);
  if (keys_.size() >= kMaxCachedCustodialKeys) keys_.clear();  // rare: start over, stay bounded
  keys_.emplace(person.principal, key);
  MEDLEDGER_ASSERT(keys_.size() <= kMaxCachedCustodialKeys);
  return key;
}

core::Result<std::shared_ptr<core::Signer>> Custody::signer_of(const PersonEntry& person) {
  if (person.external()) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        person.principal + " keeps their own key: bring their signature (external signing)");
  }
  if (person.wrapped) {
    if (!node_.wrapped) {
      return core::make_error(ErrorCode::kConfigInvalid,
                              person.principal + " has a wrapped key but no KEK is configured");
    }
    MEDLEDGER_TRY_ASSIGN(auto signer, node_.wrapped->signer(person.wrapped_blob));
    return std::shared_ptr<core::Signer>(std::move(signer));
  }
  hsm::KeyStore keys(node_.pool);
  MEDLEDGER_TRY_ASSIGN(auto signer, keys.signer(person.key_id));
  return std::shared_ptr<core::Signer>(std::move(signer));
}

core::Result<void> Custody::check(std::string_view principal, const PersonCredential& credential) {
  if (credential.kind() == PersonCredential::Kind::kSessionToken)
    return sessions_.use(principal, credential.secret());
  return pins_->verify(std::string(principal), credential.secret(), node_.now_ms() / 1000);
}

core::Result<void> Custody::sign(ledger::Transaction& tx, const core::Digest& id,
                                 std::string_view principal, const PersonCredential& credential) {
  MEDLEDGER_TRY_ASSIGN(auto key, this->key(principal));
  MEDLEDGER_TRY(check(principal, credential));
  return ledger::add_signature(tx, id, *key->signer, key->fingerprint);
}

core::Result<PersonSession> Custody::open_session(std::string_view principal,
                                                  const core::SecretBytes& pin,
                                                  std::chrono::seconds ttl,
                                                  std::uint32_t signatures) {
  MEDLEDGER_TRY(check_session_limits(ttl, signatures));  // before the scrypt
  MEDLEDGER_TRY_ASSIGN(auto person, node_.persons.find(principal));
  if (person.external()) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        person.principal + " keeps their own key: the node never signs for them");
  }
  MEDLEDGER_TRY(pins_->verify(person.principal, pin, node_.now_ms() / 1000));
  return sessions_.open(person.principal, ttl, signatures);
}

core::Result<void> Custody::close_session(const core::SecretBytes& token) {
  return sessions_.close(token);
}

core::Result<void> Custody::lock(std::string_view principal) {
  auto locked = pins_->lock(std::string(principal));
  // A person enrolled with their own key and no PIN has none to lock.
  if (!locked && locked.error().code != ErrorCode::kNotFound) return locked.error();
  sessions_.close_all_of(principal);
  return core::success();
}

core::Result<void> Custody::enrol_pin(const PinRecord& record) {
  return pins_->enrol_record(record);
}

core::Result<void> Custody::remove_pin(std::string_view principal) {
  return pins_->remove(std::string(principal));
}

}  // namespace medledger::node

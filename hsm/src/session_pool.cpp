#include "medledger/hsm/session_pool.h"

#include <algorithm>
#include <list>

#include "medledger/core/assert.h"
#include "medledger/hsm/pkcs11_error.h"

namespace medledger::hsm {

using core::ErrorCode;

/// A pooled session with what belongs to it alone: copies of token keys and the
/// LRU of unwrapped person keys (session objects die with the session).
struct PooledSession {
  Session session;
  std::uint64_t generation = 0;  // module generation it was opened under
  std::map<core::Bytes, CK_OBJECT_HANDLE> key_copies;
  std::list<std::pair<core::Digest, CK_OBJECT_HANDLE>> unwrapped;  // most recently used first
  std::map<core::Digest, std::list<std::pair<core::Digest, CK_OBJECT_HANDLE>>::iterator> unwrapped_index;
};

namespace {
// A failure that re-initialising the module may cure.
bool is_device_fault(const core::Error& error) {
  return error.code == ErrorCode::kTokenUnavailable || error.code == ErrorCode::kModuleInitFailed;
}
}  // namespace

// ---- Lease ----------------------------------------------------------------

SessionPool::Lease::Lease(std::shared_ptr<SessionPool> pool, std::unique_ptr<PooledSession> session)
    : pool_(std::move(pool)), session_(std::move(session)) {
  session_->session.clear_failure();
}
SessionPool::Lease::Lease(Lease&&) noexcept = default;
SessionPool::Lease& SessionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (session_) pool_->give_back(std::move(session_), discard_);
    pool_ = std::move(other.pool_);
    session_ = std::move(other.session_);
    discard_ = other.discard_;
  }
  return *this;
}
SessionPool::Lease::~Lease() {
  if (session_) pool_->give_back(std::move(session_), discard_);
}

CK_SESSION_HANDLE SessionPool::Lease::handle() const { return session_->session.handle(); }
CK_FUNCTION_LIST* SessionPool::Lease::fn() const { return session_->session.fn(); }
Session& SessionPool::Lease::session() { return session_->session; }
CK_RV SessionPool::Lease::last_failure() const { return session_->session.last_failure(); }

core::Result<void> SessionPool::Lease::check(std::string_view call, CK_RV rv, std::string_view context) {
  if (rv == CKR_OK) return core::success();
  return session_->session.failure(call, rv, context);
}

core::Result<CK_OBJECT_HANDLE> SessionPool::Lease::signing_key(core::ByteView key_id) {
  if (pool_->options().strategy == SigningKeyStrategy::kTokenObject) {
    return pool_->find_key(*this, CKO_PRIVATE_KEY, key_id);
  }
  core::Bytes id(key_id.begin(), key_id.end());
  if (auto it = session_->key_copies.find(id); it != session_->key_copies.end()) return it->second;
  auto original = pool_->find_key(*this, CKO_PRIVATE_KEY, key_id);
  if (!original) return original.error();
  CK_BBOOL no = CK_FALSE;
  CK_ATTRIBUTE session_object{CKA_TOKEN, &no, sizeof no};
  CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
  MEDLEDGER_TRY(check("C_CopyObject", fn()->C_CopyObject(handle(), *original, &session_object, 1, &copy),
                      "copying a signing key into the session"));
  session_->key_copies.emplace(std::move(id), copy);
  return copy;
}

std::optional<CK_OBJECT_HANDLE> SessionPool::Lease::cached_unwrapped_key(const core::Digest& blob_id) {
  auto it = session_->unwrapped_index.find(blob_id);
  if (it == session_->unwrapped_index.end()) return std::nullopt;
  session_->unwrapped.splice(session_->unwrapped.begin(), session_->unwrapped, it->second);
  return it->second->second;
}

void SessionPool::Lease::remember_unwrapped_key(const core::Digest& blob_id, CK_OBJECT_HANDLE object) {
  MEDLEDGER_ASSERT(session_->unwrapped_index.count(blob_id) == 0);
  session_->unwrapped.emplace_front(blob_id, object);
  session_->unwrapped_index.emplace(blob_id, session_->unwrapped.begin());
  while (session_->unwrapped.size() > pool_->options().max_unwrapped_keys_per_session) {
    auto& [oldest_id, oldest_object] = session_->unwrapped.back();
    (void)session_->session.destroy(oldest_object);  // a failure only leaves a session object until close
    session_->unwrapped_index.erase(oldest_id);
    session_->unwrapped.pop_back();
  }
  session_->session.clear_failure();
}

std::size_t SessionPool::Lease::unwrapped_key_count() const { return session_->unwrapped.size(); }

// ---- SessionPool ----------------------------------------------------------

SessionPool::SessionPool(std::shared_ptr<Module> module, TokenSelector selector, core::SecretBytes pin,
                         PoolOptions options)
    : module_(std::move(module)), selector_(std::move(selector)), user_pin_(std::move(pin)), options_(options) {
  options_.max_sessions = std::clamp<std::size_t>(options_.max_sessions, 1, kMaxPoolSessions);
  options_.wait = std::min(options_.wait, kSessionWaitLimit);
  options_.max_unwrapped_keys_per_session =
      std::clamp<std::size_t>(options_.max_unwrapped_keys_per_session, 1, kMaxUnwrappedKeysPerSession);
}

SessionPool::~SessionPool() {
  // Leases hold a shared_ptr to the pool, so none is outstanding here.
  MEDLEDGER_ASSERT(idle_.size() == open_count_);
  for (auto& s : idle_) {
    if (s->generation != module_->generation()) s->session.release();
  }
}

core::Result<std::shared_ptr<SessionPool>> SessionPool::open(std::shared_ptr<Module> module, TokenSelector selector,
                                                             core::SecretBytes user_pin, PoolOptions options) {
  auto token = find_token(*module, selector);
  if (!token) return token.error();
  MEDLEDGER_TRY(probe_required_mechanisms(*module, *token));
  std::shared_ptr<SessionPool> pool(new SessionPool(std::move(module), std::move(selector), std::move(user_pin), options));
  {
    std::lock_guard lock(pool->mutex_);
    pool->token_ = *token;
    pool->generation_ = pool->module_->generation();
    auto first = pool->open_session_locked();  // logs in: a wrong PIN fails here, not at first use
    if (!first) return first.error();
    pool->idle_.push_back(std::move(*first));
    pool->open_count_ = 1;
  }
  return pool;
}

core::Result<std::unique_ptr<PooledSession>> SessionPool::open_session_locked() {
  auto session = Session::open(module_, token_.slot);
  if (!session) return session.error();
  // Login state belongs to the token, not the session: log in only if no session is.
  auto logged_in = session->user_logged_in();
  if (!logged_in) return logged_in.error();
  if (!*logged_in) {
    auto login = session->login(CKU_USER, user_pin_);
    if (!login) {
      return core::make_error(login.error().code, "token '" + token_.label + "': " + login.error().message);
    }
    key_handles_.clear();  // handles of private objects did not survive the logout
  }
  auto pooled = std::make_unique<PooledSession>(PooledSession{std::move(*session), generation_, {}, {}, {}});
  return pooled;
}

core::Result<SessionPool::Lease> SessionPool::acquire() {
  std::unique_lock lock(mutex_);
  if (generation_ != module_->generation()) MEDLEDGER_TRY(refresh_locked());
  const auto deadline = std::chrono::steady_clock::now() + options_.wait;
  while (true) {
    if (!idle_.empty()) {
      auto session = std::move(idle_.back());
      idle_.pop_back();
      return Lease(shared_from_this(), std::move(session));
    }
    if (open_count_ < options_.max_sessions) {
      auto session = open_session_locked();
      if (!session) return session.error();
      ++open_count_;
      return Lease(shared_from_this(), std::move(*session));
    }
    if (returned_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_count_ >= options_.max_sessions) {
      return core::make_error(ErrorCode::kSessionExhausted,
                              "all " + std::to_string(options_.max_sessions) + " sessions of token '" + token_.label +
                                  "' stayed busy for " + std::to_string(options_.wait.count()) + " ms");
    }
  }
}

void SessionPool::give_back(std::unique_ptr<PooledSession> session, bool discard) {
  std::lock_guard lock(mutex_);
  if (session->generation != generation_ || session->generation != module_->generation()) {
    // Opened before a re-initialisation: the handle is dead and its number may
    // already name someone else's new session, so never close it.
    session->session.release();
    discard = true;
  }
  if (discard) {
    --open_count_;
    session.reset();  // C_CloseSession unless released above
  } else {
    idle_.push_back(std::move(session));
  }
  returned_.notify_one();
}

core::Result<void> SessionPool::refresh_locked() {
  // Every handle of the old generation is gone: forget them without closing.
  for (auto& s : idle_) s->session.release();
  open_count_ -= idle_.size();
  idle_.clear();
  key_handles_.clear();
  auto token = find_token(*module_, selector_);  // slot ids may have changed
  if (!token) return token.error();
  token_ = *token;
  generation_ = module_->generation();
  return core::success();
}

core::Result<void> SessionPool::recover(std::uint64_t failed_generation) {
  std::lock_guard one_at_a_time(recover_mutex_);
  if (module_->generation() == failed_generation) {  // nobody recovered since our failure
    MEDLEDGER_TRY(module_->reinitialize());
  }
  std::lock_guard lock(mutex_);
  if (generation_ != module_->generation()) MEDLEDGER_TRY(refresh_locked());
  return core::success();
}

core::Result<void> SessionPool::with_retry(std::string_view what, const std::function<core::Result<void>(Lease&)>& op) {
  auto unavailable = [&](const std::string& why) {
    return core::make_error(ErrorCode::kTokenUnavailable,
                            std::string(what) + ": " + selector_.describe() + " is unavailable: " + why);
  };
  constexpr int kAttempts = 2;  // the first try and ONE retry
  std::string first_failure;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::uint64_t generation = module_->generation();
    FaultClass fault = FaultClass::kNone;
    std::string failure;
    {
      auto lease = acquire();
      if (!lease) {
        if (!is_device_fault(lease.error())) return lease.error();
        fault = FaultClass::kDevice;
        failure = lease.error().message;
      } else {
        generation = lease->session_->generation;
        auto result = op(*lease);
        if (result) return core::success();
        fault = classify_fault(lease->last_failure());
        if (fault == FaultClass::kNone) return result.error();
        failure = result.error().message;
        lease->discard();  // a session that saw a session or device fault is not reused
      }
    }
    if (attempt + 1 == kAttempts) return unavailable(first_failure + "; after one retry: " + failure);
    first_failure = failure;
    if (fault == FaultClass::kDevice) {
      auto recovered = recover(generation);
      if (!recovered) return unavailable(failure + "; recovery failed: " + recovered.error().message);
    } else if (fault == FaultClass::kStaleHandle) {
      std::lock_guard lock(mutex_);
      key_handles_.clear();
    }
  }
  MEDLEDGER_ASSERT(false);  // the loop always returns
  return core::success();
}

core::Result<CK_OBJECT_HANDLE> SessionPool::find_key(Lease& lease, CK_OBJECT_CLASS object_class, core::ByteView key_id) {
  std::pair<CK_OBJECT_CLASS, core::Bytes> cache_key{object_class, core::Bytes(key_id.begin(), key_id.end())};
  {
    std::lock_guard lock(mutex_);
    if (lease.session_->generation == generation_) {
      if (auto it = key_handles_.find(cache_key); it != key_handles_.end()) return it->second;
    }
  }
  CK_BBOOL yes = CK_TRUE;
  std::vector<CK_ATTRIBUTE> match = {{CKA_CLASS, &object_class, sizeof object_class},
                                     {CKA_TOKEN, &yes, sizeof yes},
                                     {CKA_ID, const_cast<std::uint8_t*>(key_id.data()), key_id.size()}};
  auto found = lease.session().find_objects(match, 1);
  if (!found) return found.error();
  if (found->empty()) {
    return core::make_error(ErrorCode::kKeyNotFound,
                            "no key with CKA_ID " + core::hex_encode(key_id) + " in token '" + token().label + "'");
  }
  std::lock_guard lock(mutex_);
  if (lease.session_->generation == generation_) key_handles_[cache_key] = found->front();
  return found->front();
}

void SessionPool::forget_key(core::ByteView key_id) {
  core::Bytes id(key_id.begin(), key_id.end());
  std::lock_guard lock(mutex_);
  for (auto it = key_handles_.begin(); it != key_handles_.end();) {
    it = it->first.second == id ? key_handles_.erase(it) : std::next(it);
  }
  for (auto& s : idle_) {  // leased sessions keep their copy until they are dropped
    if (auto copy = s->key_copies.find(id); copy != s->key_copies.end()) {
      (void)s->session.destroy(copy->second);
      s->key_copies.erase(copy);
    }
  }
}

TokenInfo SessionPool::token() const {
  std::lock_guard lock(mutex_);
  return token_;
}

std::size_t SessionPool::open_sessions() const {
  std::lock_guard lock(mutex_);
  return open_count_;
}

}  // namespace medledger::hsm

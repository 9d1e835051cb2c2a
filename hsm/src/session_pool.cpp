#include "medledger/hsm/session_pool.h"

#include <algorithm>
#include <utility>

#include "medledger/core/assert.h"
#include "medledger/hsm/pkcs11_error.h"
#include "unwrapped_key_cache.h"

namespace medledger::hsm {

using core::ErrorCode;

/// A pooled session with what belongs to it alone: copies of token keys (session
/// objects die with the session).
struct PooledSession {
  Session session;
  std::uint64_t generation = 0;  // module generation it was opened under
  std::map<core::Bytes, CK_OBJECT_HANDLE, KeyIdLess> key_copies;
};

namespace {
// Slot states (SessionPool::Slot::state).
constexpr int kSlotEmpty = 0;
constexpr int kSlotIdle = 1;
constexpr int kSlotLeased = 2;

constexpr int kAttempts = 2;  // the first try and ONE retry

// A failure that re-initialising the module may cure.
bool is_device_fault(const core::Error& error) {
  return error.code == ErrorCode::kTokenUnavailable || error.code == ErrorCode::kModuleInitFailed;
}

std::atomic<std::uint64_t> next_pool_id{1};

// The slot this thread leased last, per pool id: a thread keeps "its" session, so
// two signing threads never contend for one and each finds its key copy there.
struct SlotHint {
  std::uint64_t pool_id = 0;
  std::size_t slot = 0;
};
thread_local SlotHint slot_hint;
}  // namespace

// ---- Lease ----------------------------------------------------------------

SessionPool::Lease::Lease(SessionPool* pool, std::size_t slot)
    : pool_(pool), slot_(slot), session_(pool->slots_[slot].session.get()) {
  session_->session.clear_failure();
}

SessionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      keep_alive_(std::move(other.keep_alive_)),
      slot_(other.slot_),
      session_(std::exchange(other.session_, nullptr)),
      discard_(other.discard_),
      pinned_(std::exchange(other.pinned_, std::nullopt)) {}

SessionPool::Lease& SessionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    unpin();
    if (pool_ != nullptr) pool_->give_back(slot_, discard_);
    pool_ = std::exchange(other.pool_, nullptr);
    keep_alive_ = std::move(other.keep_alive_);
    slot_ = other.slot_;
    session_ = std::exchange(other.session_, nullptr);
    discard_ = other.discard_;
    pinned_ = std::exchange(other.pinned_, std::nullopt);
  }
  return *this;
}

SessionPool::Lease::~Lease() {
  unpin();
  if (pool_ != nullptr) pool_->give_back(slot_, discard_);
}

CK_SESSION_HANDLE SessionPool::Lease::handle() const { return session_->session.handle(); }
CK_FUNCTION_LIST* SessionPool::Lease::fn() const { return session_->session.fn(); }
Session& SessionPool::Lease::session() { return session_->session; }
CK_RV SessionPool::Lease::last_failure() const { return session_->session.last_failure(); }

core::Result<void> SessionPool::Lease::check(std::string_view call, CK_RV rv,
                                             std::string_view context) {
  if (rv == CKR_OK) return core::success();
  return session_->session.failure(call, rv, context);
}

core::Result<CK_OBJECT_HANDLE> SessionPool::Lease::signing_key(core::ByteView key_id) {
  if (pool_->options_.strategy == SigningKeyStrategy::kTokenObject) {
    return pool_->find_key(*this, CKO_PRIVATE_KEY, key_id);
  }
  if (auto it = session_->key_copies.find(key_id); it != session_->key_copies.end())
    return it->second;
  MEDLEDGER_TRY_ASSIGN(auto original, pool_->find_key(*this, CKO_PRIVATE_KEY, key_id));
  CK_BBOOL no = CK_FALSE;
  CK_ATTRIBUTE session_object{CKA_TOKEN, &no, sizeof no};
  CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
  MEDLEDGER_TRY(check("C_CopyObject",
                      fn()->C_CopyObject(handle(), original, &session_object, 1, &copy),
                      "copying a signing key into the session"));
  session_->key_copies.emplace(core::Bytes(key_id.begin(), key_id.end()), copy);
  return copy;
}

void SessionPool::Lease::unpin() {
  if (!pinned_) return;
  pool_->unwrapped_->unpin(pinned_->first, pinned_->second);
  pinned_.reset();
}

std::optional<CK_OBJECT_HANDLE> SessionPool::Lease::cached_unwrapped_key(
    const core::Digest& blob_id) {
  unpin();
  auto hit = pool_->unwrapped_->find_and_pin(blob_id);
  if (!hit) return std::nullopt;
  pinned_.emplace(blob_id, hit->ticket);
  return hit->object;
}

void SessionPool::Lease::remember_unwrapped_key(const core::Digest& blob_id,
                                                CK_OBJECT_HANDLE object) {
  for (CK_OBJECT_HANDLE victim : pool_->unwrapped_->insert(blob_id, object, slot_)) {
    // Session objects of other sessions of this application may be destroyed from
    // this one; a failure only leaves the object until its session closes.
    (void)session_->session.destroy(victim);
  }
  session_->session.clear_failure();
}

void SessionPool::Lease::forget_unwrapped_key(const core::Digest& blob_id) {
  if (pinned_ && pinned_->first == blob_id) pinned_.reset();
  pool_->unwrapped_->forget(blob_id);
}

std::size_t SessionPool::Lease::unwrapped_key_count() const { return pool_->unwrapped_->size(); }

// ---- SessionPool: sessions --------------------------------------------------

SessionPool::SessionPool(std::shared_ptr<Module> module, TokenSelector selector,
                         core::SecretBytes pin, PoolOptions options)
    : module_(std::move(module)),
      selector_(std::move(selector)),
      user_pin_(std::move(pin)),
      options_(options),
      id_(next_pool_id.fetch_add(1)) {
  options_.max_sessions = std::clamp<std::size_t>(options_.max_sessions, 1, kMaxPoolSessions);
  options_.wait = std::min(options_.wait, kSessionWaitLimit);
  options_.max_unwrapped_keys =
      std::clamp<std::size_t>(options_.max_unwrapped_keys, 1, kMaxUnwrappedKeys);
  unwrapped_ = std::make_unique<UnwrappedKeyCache>(options_.max_unwrapped_keys);
}

SessionPool::~SessionPool() {
  // Leases from acquire() hold a shared_ptr to the pool, with_retry's live inside a
  // member call: none is outstanding here.
  for (auto& slot : slots_) {
    MEDLEDGER_ASSERT(slot.state.load() != kSlotLeased);
    if (slot.session && !is_current(*slot.session)) slot.session->session.release();
  }
}

core::Result<std::shared_ptr<SessionPool>> SessionPool::open(std::shared_ptr<Module> module,
                                                             TokenSelector selector,
                                                             core::SecretBytes user_pin,
                                                             PoolOptions options) {
  MEDLEDGER_TRY_ASSIGN(auto token, find_token(*module, selector));
  MEDLEDGER_TRY_ASSIGN(auto mechanisms, token_mechanisms(*module, token.slot));
  std::shared_ptr<SessionPool> pool(
      new SessionPool(std::move(module), std::move(selector), std::move(user_pin), options));
  pool->mechanisms_ = std::move(mechanisms);
  std::lock_guard lock(pool->mutex_);
  pool->token_ = token;
  pool->generation_ = pool->module_->generation();
  // Logs in: a wrong PIN fails here, not at first use.
  MEDLEDGER_TRY_ASSIGN(pool->slots_[0].session, pool->open_session_locked());
  pool->slots_[0].state.store(kSlotIdle);
  pool->open_count_ = 1;
  return pool;
}

bool SessionPool::offers(CK_MECHANISM_TYPE mechanism) const {
  return std::find(mechanisms_.begin(), mechanisms_.end(), mechanism) != mechanisms_.end();
}

core::Result<void> SessionPool::require(Capability capability) const {
  return check_capability(capability, mechanisms_, token().label);
}

core::Result<std::unique_ptr<PooledSession>> SessionPool::open_session_locked() {
  MEDLEDGER_TRY_ASSIGN(auto session, Session::open(module_, token_.slot));
  // Login state belongs to the token, not the session: log in only if no session is.
  MEDLEDGER_TRY_ASSIGN(auto logged_in, session.user_logged_in());
  if (!logged_in) {
    auto login = session.login(CKU_USER, user_pin_);
    if (!login) {
      return core::make_error(login.error().code,
                              "token '" + token_.label + "': " + login.error().message);
    }
    std::lock_guard handles(handles_mutex_);
    key_handles_.clear();  // handles of private objects did not survive the logout
  }
  return std::make_unique<PooledSession>(PooledSession{std::move(session), generation_.load(), {}});
}

bool SessionPool::is_current(const PooledSession& session) const {
  return session.generation == generation_.load() && session.generation == module_->generation();
}

std::optional<std::size_t> SessionPool::claim_idle(std::size_t preferred) {
  for (std::size_t i = 0; i < options_.max_sessions; ++i) {
    std::size_t index = (preferred + i) % options_.max_sessions;
    int expected = kSlotIdle;
    auto& state = slots_[index].state;
    // Sequentially consistent on purpose: pairs with give_back's store + waiters_ load.
    if (state.load() == kSlotIdle && state.compare_exchange_strong(expected, kSlotLeased)) {
      return index;
    }
  }
  return std::nullopt;
}

// Called by the thread that holds the slot leased.
void SessionPool::drop_session(std::size_t index, bool close) {
  Slot& slot = slots_[index];
  unwrapped_->forget_owner(index);  // before the close: nobody may pick up its objects after
  if (!close) slot.session->session.release();  // opened before a re-initialisation: never close
  slot.session.reset();                         // C_CloseSession unless released
  --open_count_;
  slot.state.store(kSlotEmpty);
}

core::Result<SessionPool::Lease> SessionPool::acquire_lease() {
  const std::size_t preferred = slot_hint.pool_id == id_ ? slot_hint.slot : 0;
  if (generation_.load() == module_->generation()) {
    if (auto index = claim_idle(preferred)) {
      if (is_current(*slots_[*index].session)) {
        slot_hint = {id_, *index};
        return Lease(this, *index);
      }
      // Opened before a re-initialisation: the handle is dead and its number may
      // already name someone else's new session, so never close it.
      drop_session(*index, false);
    }
  }
  MEDLEDGER_TRY_ASSIGN(auto index, acquire_slow(preferred));
  slot_hint = {id_, index};
  return Lease(this, index);
}

core::Result<std::size_t> SessionPool::acquire_slow(std::size_t preferred) {
  std::unique_lock lock(mutex_);
  if (generation_.load() != module_->generation()) MEDLEDGER_TRY(refresh_locked());
  // Counted before looking, so a give_back after our look sees us and notifies
  // (both sides are sequentially consistent; the notify waits for our wait).
  ++waiters_;
  struct Leave {
    std::atomic<std::size_t>& waiters;
    ~Leave() { --waiters; }
  } leave{waiters_};
  const auto deadline = std::chrono::steady_clock::now() + options_.wait;
  while (true) {
    while (auto index = claim_idle(preferred)) {
      if (is_current(*slots_[*index].session)) return *index;
      drop_session(*index, false);
    }
    for (std::size_t index = 0; index < options_.max_sessions; ++index) {
      int expected = kSlotEmpty;
      if (!slots_[index].state.compare_exchange_strong(expected, kSlotLeased)) continue;
      auto session = open_session_locked();
      if (!session) {
        slots_[index].state.store(kSlotEmpty);
        return session.error();
      }
      slots_[index].session = std::move(*session);
      ++open_count_;
      return index;
    }
    if (returned_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (auto index = claim_idle(preferred)) {
        if (is_current(*slots_[*index].session)) return *index;
        drop_session(*index, false);
      }
      return core::make_error(ErrorCode::kSessionExhausted,
                              "all " + std::to_string(options_.max_sessions) +
                                  " sessions of token '" + token_.label + "' stayed busy for " +
                                  std::to_string(options_.wait.count()) + " ms");
    }
  }
}

core::Result<SessionPool::Lease> SessionPool::acquire() {
  auto lease = acquire_lease();
  if (lease) lease->keep_alive_ = shared_from_this();
  return lease;
}

void SessionPool::give_back(std::size_t index, bool discard) {
  Slot& slot = slots_[index];
  MEDLEDGER_ASSERT(slot.state.load(std::memory_order_relaxed) == kSlotLeased);
  const bool current = is_current(*slot.session);
  if (discard || !current) {
    drop_session(index, current);
  } else {
    slot.state.store(kSlotIdle);
  }
  if (waiters_.load() > 0) {  // nobody waits on the usual path: no lock, no notify
    std::lock_guard lock(mutex_);
    returned_.notify_one();
  }
}

core::Result<void> SessionPool::refresh_locked() {
  // Every handle of the old generation is gone: forget them without closing.
  // Leased ones are dropped when they come back (give_back sees the generation).
  while (auto index = claim_idle(0)) drop_session(*index, false);
  unwrapped_->clear();
  {
    std::lock_guard handles(handles_mutex_);
    key_handles_.clear();
  }
  MEDLEDGER_TRY_ASSIGN(token_, find_token(*module_, selector_));  // slot ids may have changed
  generation_ = module_->generation();
  return core::success();
}

core::Result<void> SessionPool::recover(std::uint64_t failed_generation) {
  std::lock_guard one_at_a_time(recover_mutex_);
  if (module_->generation() == failed_generation) {  // nobody recovered since our failure
    MEDLEDGER_TRY(module_->reinitialize());
  }
  std::lock_guard lock(mutex_);
  if (generation_.load() != module_->generation()) MEDLEDGER_TRY(refresh_locked());
  return core::success();
}

TokenInfo SessionPool::token() const {
  std::lock_guard lock(mutex_);
  return token_;
}

// ---- SessionPool: retry -----------------------------------------------------

core::Result<SessionPool::Lease> SessionPool::lease_for_attempt(RetryState& retry) {
  retry.generation = module_->generation();
  auto lease = acquire_lease();
  if (lease) retry.generation = lease->session_->generation;
  return lease;
}

bool SessionPool::note_fault(RetryState& retry, Lease& lease, const core::Error& error) {
  retry.fault = classify_fault(lease.last_failure());
  if (retry.fault == FaultClass::kNone) return false;
  retry.failure = error.message;
  lease.discard();  // a session that saw a session or device fault is not reused
  return true;
}

bool SessionPool::note_fault(RetryState& retry, const core::Error& acquire_error) {
  if (!is_device_fault(acquire_error)) return false;
  retry.fault = FaultClass::kDevice;
  retry.failure = acquire_error.message;
  return true;
}

bool SessionPool::token_still_listed() const {
  auto found = find_token(*module_, selector_);
  return found && found->slot == token().slot;
}

core::Result<void> SessionPool::prepare_retry(std::string_view what, RetryState& retry) {
  auto unavailable = [&](const std::string& why) {
    return core::make_error(
        ErrorCode::kTokenUnavailable,
        std::string(what) + ": " + selector_.describe() + " is unavailable: " + why);
  };
  if (retry.attempt + 1 == kAttempts)
    return unavailable(retry.first_failure + "; after one retry: " + retry.failure);
  ++retry.attempt;
  retry.first_failure = retry.failure;
  if (retry.fault == FaultClass::kSession && !token_still_listed()) {
    // A finalised module can answer with session faults (NSS: CKR_SESSION_HANDLE_INVALID,
    // where SoftHSM2 says CKR_CRYPTOKI_NOT_INITIALIZED): if the token's slot is gone too,
    // it is a device fault.
    retry.fault = FaultClass::kDevice;
  }
  if (retry.fault == FaultClass::kDevice) {
    auto recovered = recover(retry.generation);
    if (!recovered)
      return unavailable(retry.failure + "; recovery failed: " + recovered.error().message);
  } else if (retry.fault == FaultClass::kStaleHandle) {
    std::lock_guard handles(handles_mutex_);
    key_handles_.clear();
  }
  return core::success();
}

// ---- SessionPool: token object handles ----------------------------------------

std::optional<CK_OBJECT_HANDLE> SessionPool::cached_key_handle(CK_OBJECT_CLASS object_class,
                                                               core::ByteView key_id,
                                                               std::uint64_t generation) const {
  std::lock_guard handles(handles_mutex_);
  if (generation != handles_generation_) return std::nullopt;
  auto by_class = key_handles_.find(object_class);
  if (by_class == key_handles_.end()) return std::nullopt;
  auto found = by_class->second.find(key_id);
  if (found == by_class->second.end()) return std::nullopt;
  return found->second;
}

core::Result<CK_OBJECT_HANDLE> SessionPool::find_key(Lease& lease, CK_OBJECT_CLASS object_class,
                                                     core::ByteView key_id) {
  const std::uint64_t generation = lease.session_->generation;
  if (auto cached = cached_key_handle(object_class, key_id, generation)) return *cached;
  CK_BBOOL yes = CK_TRUE;
  std::vector<CK_ATTRIBUTE> match = {
      {CKA_CLASS, &object_class, sizeof object_class},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_ID, const_cast<std::uint8_t*>(key_id.data()), key_id.size()}};
  MEDLEDGER_TRY_ASSIGN(auto found, lease.session().find_objects(match, 1));
  if (found.empty()) {
    return core::make_error(
        ErrorCode::kKeyNotFound,
        "no key with CKA_ID " + core::hex_encode(key_id) + " in token '" + token().label + "'");
  }
  if (generation != generation_.load())
    return found.front();  // a session of an older generation: do not cache
  std::lock_guard handles(handles_mutex_);
  if (generation != handles_generation_) {  // the first lookup under a new generation
    key_handles_.clear();
    handles_generation_ = generation;
  }
  key_handles_[object_class][core::Bytes(key_id.begin(), key_id.end())] = found.front();
  return found.front();
}

void SessionPool::forget_key(core::ByteView key_id) {
  {
    std::lock_guard handles(handles_mutex_);
    for (auto& [object_class, by_id] : key_handles_)
      by_id.erase(core::Bytes(key_id.begin(), key_id.end()));
  }
  // Idle sessions lose their copy now; leased ones keep it until they are dropped.
  for (std::size_t index = 0; index < options_.max_sessions; ++index) {
    int expected = kSlotIdle;
    if (!slots_[index].state.compare_exchange_strong(expected, kSlotLeased)) continue;
    auto& copies = slots_[index].session->key_copies;
    if (auto copy = copies.find(key_id); copy != copies.end()) {
      (void)slots_[index].session->session.destroy(copy->second);
      copies.erase(copy);
    }
    slots_[index].state.store(kSlotIdle);
  }
}

}  // namespace medledger::hsm

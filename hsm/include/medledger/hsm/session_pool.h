// SessionPool: a bounded set of logged-in sessions on one token, each used by one
// thread at a time, and the ONE place where token faults are recovered.
//
//     auto pool = SessionPool::open(module, selector, std::move(pin));
//     auto sig = (*pool)->with_retry<Bytes>("sign", [&](SessionPool::Lease& lease) -> Result<Bytes>
//     {
//       ... lease.check("C_Sign", fn->C_Sign(lease.handle(), ...)) ...
//     });
//
// Recovery rules (with_retry): a CKR_SESSION_* fault drops the session and retries
// once on another; a device-class fault (CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED,
// CKR_TOKEN_NOT_PRESENT, CKR_USER_NOT_LOGGED_IN, CKR_CRYPTOKI_NOT_INITIALIZED)
// re-initialises the module (C_Finalize/C_Initialize), finds the token again by its
// selector, logs in again and retries once; a stale object handle
// (CKR_OBJECT_HANDLE_INVALID, CKR_KEY_HANDLE_INVALID: private handles die at
// logout) clears the handle cache, drops the session and retries once. A second
// fault is kTokenUnavailable.
//
// Hot path (why it is lock-free): a thread gets back the session it used last
// (thread-affine slots claimed with one compare-and-swap), returns it with one
// store, and wakes nobody unless a thread is waiting; with_retry is a template, so
// the operation is called directly, not through std::function.
#pragma once

#include <algorithm>
#include <chrono>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <p11-kit/pkcs11.h>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/core/sha256.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/pkcs11_error.h"
#include "medledger/hsm/session.h"
#include "medledger/hsm/token.h"
#include "medledger/hsm/token_selector.h"

namespace medledger::hsm {

/// Which object C_SignInit gets for a token-resident key.
enum class SigningKeyStrategy {
  kTokenObject,  // the token object itself (SoftHSM2 serialises these per object)
  kSessionCopy,  // a per-session copy (C_CopyObject with CKA_TOKEN=FALSE), made once per session
};

/// The default: per-session copies scale with threads on SoftHSM2 and cost one
/// C_CopyObject per session and key (see docs/PERFORMANCE.md for the figures).
inline constexpr SigningKeyStrategy kDefaultSigningKeyStrategy = SigningKeyStrategy::kSessionCopy;

struct PoolOptions {
  std::size_t max_sessions = kMaxPoolSessions;         // clamped to [1, kMaxPoolSessions]
  std::chrono::milliseconds wait = kSessionWaitLimit;  // clamped to kSessionWaitLimit
  SigningKeyStrategy strategy = kDefaultSigningKeyStrategy;
  std::size_t max_unwrapped_keys =
      kDefaultUnwrappedKeys;  // pool-wide; clamped to [1, kMaxUnwrappedKeys]
};

struct PooledSession;     // a Session plus its per-session key copies (session_pool.cpp)
class UnwrappedKeyCache;  // the pool-wide LRU of unwrapped keys (unwrapped_key_cache.h)

/// Orders CKA_IDs so maps keyed by core::Bytes can be searched with a ByteView
/// (no allocation per lookup).
struct KeyIdLess {
  using is_transparent = void;
  bool operator()(core::ByteView a, core::ByteView b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
};

class SessionPool : public std::enable_shared_from_this<SessionPool> {
 public:
  /// Finds the token (find_token), reads its mechanisms (C_GetMechanismList, once:
  /// each capability is checked when used, see require()), opens one session and
  /// logs the user in (C_Login once per token). Keeps a copy of the PIN (wiped on
  /// destruction) to log in again after a re-initialisation.
  /// Errors: those of find_token, token_mechanisms and Session::login.
  static core::Result<std::shared_ptr<SessionPool>> open(std::shared_ptr<Module> module,
                                                         TokenSelector selector,
                                                         core::SecretBytes user_pin,
                                                         PoolOptions options = {});

  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  /// Exclusive use of one session until destroyed (then it returns to the pool,
  /// unless discarded or made under an older module generation).
  class Lease {
   public:
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) noexcept;
    // A copy would hand one session to two threads.
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    CK_SESSION_HANDLE handle() const;
    CK_FUNCTION_LIST* fn() const;
    Session& session();

    /// Turns a CK_RV into a Result, remembering a failure so with_retry can
    /// classify it: CKR_OK is success, anything else token_error(call, rv, context).
    core::Result<void> check(std::string_view call, CK_RV rv, std::string_view context = {});
    /// The last failing CK_RV of this lease's session (CKR_OK if none).
    CK_RV last_failure() const;

    /// The private key with this CKA_ID to pass to C_SignInit, per the pool's
    /// strategy: the token object (cached handle) or this session's copy of it
    /// (C_CopyObject with CKA_TOKEN=FALSE on first use). kKeyNotFound if absent.
    core::Result<CK_OBJECT_HANDLE> signing_key(core::ByteView key_id);

    /// The session object unwrapped for blob `blob_id` by any session of this pool,
    /// if still cached (marks it most recently used and keeps it from eviction
    /// until this lease ends or looks up another). Session objects are usable from
    /// every session of the application (PKCS#11 2.40 section 4.4).
    std::optional<CK_OBJECT_HANDLE> cached_unwrapped_key(const core::Digest& blob_id);
    /// Caches a session object this lease's session unwrapped; beyond the pool's
    /// bound the least recently used unpinned one is destroyed (C_DestroyObject).
    void remember_unwrapped_key(const core::Digest& blob_id, CK_OBJECT_HANDLE object);
    /// Drops a cached object that the token no longer knows (stale handle).
    void forget_unwrapped_key(const core::Digest& blob_id);
    /// Unwrapped keys cached in the pool (for tests of the bound).
    std::size_t unwrapped_key_count() const;

    /// Drops the session instead of returning it (C_CloseSession is attempted).
    void discard() { discard_ = true; }

   private:
    friend class SessionPool;
    Lease(SessionPool* pool, std::size_t slot);
    void unpin();
    SessionPool* pool_ = nullptr;
    std::shared_ptr<SessionPool>
        keep_alive_;  // set by acquire(): the caller may outlive its pool pointer
    std::size_t slot_ = 0;
    PooledSession* session_ = nullptr;
    bool discard_ = false;
    std::optional<std::pair<core::Digest, std::uint64_t>>
        pinned_;  // cache entry kept from eviction
  };

  /// A free session, opening a new one while fewer than max_sessions exist, else
  /// waiting up to options().wait: kSessionExhausted after that. Opening is one
  /// C_OpenSession (+ C_GetSessionInfo; C_Login only if the token logged out).
  /// The calling thread gets the session it had last if that one is free.
  core::Result<Lease> acquire();

  /// Runs `op` (callable as core::Result<T>(Lease&)) on a leased session and
  /// applies the recovery rules above (at most one retry). `what` names the
  /// operation in the kTokenUnavailable message. Costs nothing beyond `op` on
  /// success: no allocation, no lock unless a session must be opened.
  template <typename T = void, typename Op>
  core::Result<T> with_retry(std::string_view what, Op&& op) {
    RetryState retry;
    while (true) {
      {
        auto lease = lease_for_attempt(retry);
        if (lease) {
          core::Result<T> result = op(*lease);
          if (result) return result;
          if (!note_fault(retry, *lease, result.error())) return result;  // not a fault: as is
        } else if (!note_fault(retry, lease.error())) {
          return lease.error();
        }
      }  // the lease goes back (or is dropped) before any recovery
      MEDLEDGER_TRY(prepare_retry(what, retry));
    }
  }

  /// The token object of class `object_class` (CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
  /// CKO_SECRET_KEY) with this CKA_ID: C_FindObjects once, then from a cache keyed
  /// by CKA_ID (cleared on re-initialisation). kKeyNotFound if absent.
  core::Result<CK_OBJECT_HANDLE> find_key(Lease& lease, CK_OBJECT_CLASS object_class,
                                          core::ByteView key_id);

  /// Forgets cached handles for this CKA_ID (after destroying the key).
  void forget_key(core::ByteView key_id);

  /// The token as found at open or at the last re-initialisation.
  TokenInfo token() const;
  /// The mechanisms the token offered at open.
  const std::vector<CK_MECHANISM_TYPE>& mechanisms() const { return mechanisms_; }
  bool offers(CK_MECHANISM_TYPE mechanism) const;
  /// kMechanismMissing naming the mechanism and the capability if the token lacks
  /// one `capability` needs (check_capability). No token call.
  core::Result<void> require(Capability capability) const;
  const TokenSelector& selector() const { return selector_; }
  const PoolOptions& options() const { return options_; }
  const std::shared_ptr<Module>& module() const { return module_; }
  /// Sessions currently open (leased or idle).
  std::size_t open_sessions() const { return open_count_.load(); }

 private:
  // What with_retry carries from the first attempt to the retry (non-template part in the .cpp).
  struct RetryState {
    int attempt = 0;
    std::uint64_t generation = 0;
    FaultClass fault = FaultClass::kNone;
    std::string first_failure;
    std::string failure;
  };
  core::Result<Lease> lease_for_attempt(RetryState& retry);
  bool note_fault(RetryState& retry, Lease& lease, const core::Error& error);
  bool note_fault(RetryState& retry, const core::Error& acquire_error);
  core::Result<void> prepare_retry(std::string_view what, RetryState& retry);
  bool token_still_listed() const;  // find_token: same slot (after a session fault)

  // A session slot: kEmpty (no session), kIdle (free), kLeased (claimed by one
  // thread, which alone touches `session`). Own cache line: two threads claiming
  // their own slots must not share one.
  struct alignas(64) Slot {
    std::atomic<int> state{0};
    std::unique_ptr<PooledSession> session;
  };

  SessionPool(std::shared_ptr<Module> module, TokenSelector selector, core::SecretBytes pin,
              PoolOptions options);
  core::Result<Lease> acquire_lease();
  std::optional<std::size_t> claim_idle(std::size_t preferred);
  bool is_current(const PooledSession& session) const;
  void drop_session(std::size_t slot, bool close);
  core::Result<std::size_t> acquire_slow(std::size_t preferred);
  core::Result<void> recover(std::uint64_t failed_generation);
  core::Result<void> refresh_locked();
  core::Result<std::unique_ptr<PooledSession>> open_session_locked();
  void give_back(std::size_t slot, bool discard);
  std::optional<CK_OBJECT_HANDLE> cached_key_handle(CK_OBJECT_CLASS object_class,
                                                    core::ByteView key_id,
                                                    std::uint64_t generation) const;

  std::shared_ptr<Module> module_;
  TokenSelector selector_;
  core::SecretBytes user_pin_;
  PoolOptions options_;
  std::vector<CK_MECHANISM_TYPE> mechanisms_;  // read at open; never changes after
  const std::uint64_t id_;  // process-unique, so a thread's slot hint never names another pool

  std::array<Slot, kMaxPoolSessions> slots_;
  std::atomic<std::size_t> open_count_{0};
  std::atomic<std::size_t> waiters_{0};  // threads in acquire_slow: give_back notifies only then
  std::atomic<std::uint64_t> generation_{0};  // the module generation our token_/sessions belong to
  std::unique_ptr<UnwrappedKeyCache>
      unwrapped_;  // pool-wide: session objects are visible to all sessions

  mutable std::mutex mutex_;  // opening sessions, waiting, token_, refresh
  std::condition_variable returned_;
  TokenInfo token_;
  mutable std::mutex handles_mutex_;
  std::map<CK_OBJECT_CLASS, std::map<core::Bytes, CK_OBJECT_HANDLE, KeyIdLess>> key_handles_;
  std::uint64_t handles_generation_ = 0;  // generation key_handles_ belong to
  std::mutex recover_mutex_;              // one recovery at a time
};

}  // namespace medledger::hsm

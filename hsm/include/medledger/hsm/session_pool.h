// SessionPool: a bounded set of logged-in sessions on one token, each used by one
// thread at a time, and the ONE place where token faults are recovered.
//
//     auto pool = SessionPool::open(module, selector, std::move(pin));
//     auto sig = (*pool)->with_retry<Bytes>("sign", [&](SessionPool::Lease& lease) {
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
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <p11-kit/pkcs11.h>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/core/sha256.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/module.h"
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
  std::size_t max_sessions = kMaxPoolSessions;           // clamped to [1, kMaxPoolSessions]
  std::chrono::milliseconds wait = kSessionWaitLimit;     // clamped to kSessionWaitLimit
  SigningKeyStrategy strategy = kDefaultSigningKeyStrategy;
  std::size_t max_unwrapped_keys_per_session = kMaxUnwrappedKeysPerSession;  // clamped to [1, limit]
};

struct PooledSession;  // a Session plus its per-session key caches (session_pool.cpp)

class SessionPool : public std::enable_shared_from_this<SessionPool> {
 public:
  /// Finds the token (find_token), probes the required mechanisms, opens one
  /// session and logs the user in (C_Login once per token). Keeps a copy of the
  /// PIN (wiped on destruction) to log in again after a re-initialisation.
  /// Errors: those of find_token, probe_required_mechanisms and Session::login.
  static core::Result<std::shared_ptr<SessionPool>> open(std::shared_ptr<Module> module, TokenSelector selector,
                                                         core::SecretBytes user_pin, PoolOptions options = {});

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

    /// The session object this session unwrapped for blob `blob_id`, if still
    /// cached (marks it most recently used).
    std::optional<CK_OBJECT_HANDLE> cached_unwrapped_key(const core::Digest& blob_id);
    /// Caches an unwrapped session object; evicts (C_DestroyObject) the least
    /// recently used one beyond the pool's per-session bound.
    void remember_unwrapped_key(const core::Digest& blob_id, CK_OBJECT_HANDLE object);
    /// Unwrapped keys cached in this session (for tests of the bound).
    std::size_t unwrapped_key_count() const;

    /// Drops the session instead of returning it (C_CloseSession is attempted).
    void discard() { discard_ = true; }

   private:
    friend class SessionPool;
    Lease(std::shared_ptr<SessionPool> pool, std::unique_ptr<PooledSession> session);
    std::shared_ptr<SessionPool> pool_;
    std::unique_ptr<PooledSession> session_;
    bool discard_ = false;
  };

  /// A free session, opening a new one while fewer than max_sessions exist, else
  /// waiting up to options().wait: kSessionExhausted after that. Opening is one
  /// C_OpenSession (+ C_GetSessionInfo; C_Login only if the token logged out).
  core::Result<Lease> acquire();

  /// Runs `op` on a leased session and applies the recovery rules above (at most
  /// one retry). `what` names the operation in the kTokenUnavailable message.
  core::Result<void> with_retry(std::string_view what, const std::function<core::Result<void>(Lease&)>& op);

  template <typename T>
  core::Result<T> with_retry(std::string_view what, const std::function<core::Result<T>(Lease&)>& op) {
    std::optional<core::Result<T>> out;
    auto done = with_retry(what, [&](Lease& lease) -> core::Result<void> {
      out.emplace(op(lease));
      if (!*out) return out->error();
      return core::success();
    });
    if (!done) return done.error();
    return std::move(*out);
  }

  /// The token object of class `object_class` (CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
  /// CKO_SECRET_KEY) with this CKA_ID: C_FindObjects once, then from a cache keyed
  /// by CKA_ID (cleared on re-initialisation). kKeyNotFound if absent.
  core::Result<CK_OBJECT_HANDLE> find_key(Lease& lease, CK_OBJECT_CLASS object_class, core::ByteView key_id);

  /// Forgets cached handles for this CKA_ID (after destroying the key).
  void forget_key(core::ByteView key_id);

  /// The token as found at open or at the last re-initialisation.
  TokenInfo token() const;
  const TokenSelector& selector() const { return selector_; }
  const PoolOptions& options() const { return options_; }
  const std::shared_ptr<Module>& module() const { return module_; }
  /// Sessions currently open (leased or idle).
  std::size_t open_sessions() const;

 private:
  SessionPool(std::shared_ptr<Module> module, TokenSelector selector, core::SecretBytes pin, PoolOptions options);
  core::Result<void> recover(std::uint64_t failed_generation);
  core::Result<void> refresh_locked();
  core::Result<std::unique_ptr<PooledSession>> open_session_locked();
  void give_back(std::unique_ptr<PooledSession> session, bool discard);

  std::shared_ptr<Module> module_;
  TokenSelector selector_;
  core::SecretBytes user_pin_;
  PoolOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable returned_;
  TokenInfo token_;
  std::uint64_t generation_ = 0;  // the module generation our token_/sessions belong to
  std::vector<std::unique_ptr<PooledSession>> idle_;
  std::size_t open_count_ = 0;
  std::map<std::pair<CK_OBJECT_CLASS, core::Bytes>, CK_OBJECT_HANDLE> key_handles_;
  std::mutex recover_mutex_;  // one recovery at a time
};

}  // namespace medledger::hsm

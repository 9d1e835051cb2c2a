#include "medledger/node/person_session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdlib>

#include "medledger/core/assert.h"
#include "medledger/core/error.h"

namespace medledger::node {

using core::ErrorCode;

namespace {

std::int64_t system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::Error invalid_session() {
  // One message for every cause: the caller learns nothing about other sessions.
  return core::make_error(
      ErrorCode::kPersonSessionInvalid,
      "the person session is unknown, closed, expired, used up or not this person's");
}

core::Digest token_hash(const core::SecretBytes& token) { return core::sha256(token.view()); }

}  // namespace

PersonSessionTable::PersonSessionTable(Clock now) : now_(now ? std::move(now) : Clock(system_ms)) {}

void PersonSessionTable::sweep_expired(std::int64_t now_ms) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.expires_ms <= now_ms ? sessions_.erase(it) : std::next(it);
  }
}

core::Result<void> check_session_limits(std::chrono::seconds ttl, std::uint32_t signatures) {
  if (ttl <= std::chrono::seconds::zero() || ttl > kMaxSessionTtl) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "a session lasts 1 s to " + std::to_string(kMaxSessionTtl.count()) + " s");
  }
  if (signatures == 0 || signatures > kMaxSessionSignatures) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "a session allows 1 to " + std::to_string(kMaxSessionSignatures) + " signatures");
  }
  return core::success();
}

core::Result<PersonSession> PersonSessionTable::open(std::string_view principal,
                                                     std::chrono::seconds ttl,
                                                     std::uint32_t signatures) {
  MEDLEDGER_TRY(check_session_limits(ttl, signatures));
  core::SecretBytes random(kSessionTokenBytes);
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
    std::abort();  // CSPRNG failure: no safe way on
  std::string text = core::base64url_encode(random.view());
  PersonSession out;
  out.token = core::SecretBytes(core::to_bytes(text));
  OPENSSL_cleanse(text.data(), text.size());
  const std::int64_t now = now_();
  out.expires_ms = now + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
  out.signatures = signatures;

  std::lock_guard<std::mutex> guard(mutex_);
  if (sessions_.size() >= kMaxOpenSessions) sweep_expired(now);
  if (sessions_.size() >= kMaxOpenSessions) {
    return core::make_error(ErrorCode::kSessionExhausted,
                            "too many open person sessions at this node; retry later");
  }
  // A collision of 256 random bits does not happen; if it did, refusing is safe.
  auto [it, inserted] = sessions_.try_emplace(
      token_hash(out.token), Entry{std::string(principal), out.expires_ms, out.signatures});
  if (!inserted) return core::make_error(ErrorCode::kInternal, "session token collision");
  MEDLEDGER_ASSERT(sessions_.size() <= kMaxOpenSessions);
  MEDLEDGER_ASSERT(out.expires_ms > now && out.signatures >= 1);
  return out;
}

core::Result<void> PersonSessionTable::use(std::string_view principal,
                                           const core::SecretBytes& token) {
  const core::Digest key = token_hash(token);
  const std::int64_t now = now_();
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return invalid_session();
  Entry& entry = it->second;
  if (entry.expires_ms <= now) {  // a used-up session was dropped by its last use
    sessions_.erase(it);
    return invalid_session();
  }
  // Another person's token is refused without spending it (no denial of service on them).
  if (entry.principal != principal) return invalid_session();
  // A live session has budget left: the last signature spent dropped it below.
  MEDLEDGER_ASSERT(entry.signatures_left >= 1 && entry.signatures_left <= kMaxSessionSignatures);
  // The last signature spent frees the session's slot at once (not at its expiry).
  if (--entry.signatures_left == 0) sessions_.erase(it);
  return core::success();
}

core::Result<void> PersonSessionTable::close(const core::SecretBytes& token) {
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = sessions_.find(token_hash(token));
  if (it == sessions_.end()) return invalid_session();
  const bool expired = it->second.expires_ms <= now_();
  sessions_.erase(it);
  if (expired) return invalid_session();
  return core::success();
}

std::size_t PersonSessionTable::close_all_of(std::string_view principal) {
  std::lock_guard<std::mutex> guard(mutex_);
  std::size_t closed = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.principal == principal) {
      it = sessions_.erase(it);
      ++closed;
    } else {
      ++it;
    }
  }
  return closed;
}

std::size_t PersonSessionTable::size() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return sessions_.size();
}

}  // namespace medledger::node

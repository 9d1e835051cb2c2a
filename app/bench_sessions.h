// Person sessions for `medledger bench`: a run of any length never sends a
// used-up session. A session allows a fixed number of custodial signatures
// (POST /v1/persons/{id}/sessions, "signatures"); the bench uses `window`
// sessions at a time in rotation and a background thread opens the next window
// before the current one is spent. Opening costs the server one PIN check each:
// load it really carries, so it is not hidden from the run.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "medledger/net/https_client.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"

namespace medledger::app::bench {

/// The ErrorCode whose stable name is `name` (kInternal if none): the server's
/// code becomes the command's exit status.
core::ErrorCode code_named(std::string_view name);

/// Success for a 2xx answer; otherwise the error to stop the bench with, named
/// "<what>: ...": the client's error, or the server's stable code (the exit status)
/// with the HTTP status and body.
core::Result<void> check_answer(const core::Result<net::HttpsResponse>& answer,
                                std::string_view what);

/// Appends `text` as a JSON string (quotes included); secrets pass through here
/// without temporary copies besides `out`.
void append_json_string(std::string& out, std::string_view text);
std::string_view as_text(const core::SecretBytes& secret);

/// Opens one session for `principal` ("hospital/person") allowing `signatures`
/// signatures. The server's error code (and its exit status) on refusal.
core::Result<core::SecretBytes> open_person_session(net::HttpsClient& client,
                                                    const std::string& principal,
                                                    const core::SecretBytes& pin,
                                                    std::uint32_t signatures, int ttl_seconds);

class PersonSessions {
 public:
  /// Opens the first window of `window` sessions (each allowing `signatures`
  /// signatures) with `client`, then starts the background opener on `opener`.
  static core::Result<std::unique_ptr<PersonSessions>> open(
      net::HttpsClient client, net::HttpsClient opener, std::string principal,
      core::SecretBytes pin, std::size_t window, std::uint32_t signatures, int ttl_seconds);
  ~PersonSessions();  // stops and joins the opener
  PersonSessions(const PersonSessions&) = delete;
  PersonSessions& operator=(const PersonSessions&) = delete;

  /// Appends the token for the next signature (thread-safe). Waits only if the
  /// opener fell behind; if it failed, appends the last token (the server will
  /// refuse it, and the run counts that error) -- opener_error() says why.
  void append_next(std::string& out);

  /// Why the opener stopped replacing sessions, if it did.
  std::optional<core::Error> opener_error() const;

 private:
  PersonSessions(net::HttpsClient opener, std::string principal, core::SecretBytes pin,
                 std::size_t window, std::uint32_t signatures, int ttl_seconds);
  void run_opener();

  net::HttpsClient opener_client_;
  const std::string principal_;
  const core::SecretBytes pin_;
  const std::size_t window_;
  const std::uint32_t signatures_;
  const int ttl_seconds_;
  const std::uint64_t per_window_;  // window_ * signatures_: the uses one window serves

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<core::SecretBytes> tokens_;  // session i = window i / window_, slot i % window_
  std::uint64_t uses_ = 0;                 // signatures handed out so far
  std::optional<core::Error> error_;
  bool stopping_ = false;
  std::thread opener_;
};

}  // namespace medledger::app::bench

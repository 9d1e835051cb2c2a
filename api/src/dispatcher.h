// Dispatcher: everything between a parsed HTTP request and its response that is
// not transport -- target parsing, routing, client authentication, role checks,
// the handler call, metrics and the access log. Runs on the handler pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <memory>
#include <optional>
#include <vector>

#include "medledger/api/client_auth.h"
#include "medledger/api/http.h"
#include "medledger/api/metrics.h"
#include "medledger/api/router.h"

namespace medledger::api::detail {

/// The answer to a handler that threw: handlers return errors as values, so an
/// exception is a bug, not the client's fault. Logs `handler_exception` (with the
/// route's pattern when known) and returns 500 INTERNAL.
core::Error handler_failed(const std::exception& e, const Route* route = nullptr);

/// What one TLS connection knows about its client. Used by one request at a
/// time (the server reads the next request only after writing a response).
struct ConnectionIdentity {
  std::vector<core::Bytes> peer_chain;                   // DER, leaf first; empty: no certificate
  std::optional<core::Result<Principal>> authenticated;  // cached for trust_generation
  std::uint64_t generation = 0;
};

/// The answer-time limit of async requests: one still unanswered `limit` after
/// its handler ran is answered COMMIT_UNCONFIRMED. Every request gets the same
/// limit, so deadlines come due in arrival order: a FIFO, no heap, no thread
/// (the server's timer calls Dispatcher::expire_unanswered).
class AnswerDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AnswerDeadlines(std::chrono::milliseconds limit) : limit_(limit) {}

  struct Watched {
    Clock::time_point deadline;
    Responder::Weak request;
    const Route* route;  // the router outlives the dispatcher's requests
  };

  void watch(Responder::Weak request, const Route* route);
  /// Moves every watch due by `now` to `due`; returns when to look again.
  Clock::time_point take_due(Clock::time_point now, std::vector<Watched>& due);
  /// Answers those still unanswered COMMIT_UNCONFIRMED (with a log line each).
  void answer_expired(const std::vector<Watched>& due) const;

 private:
  const std::chrono::milliseconds limit_;
  std::mutex mutex_;
  std::deque<Watched> watched_;
};

class Dispatcher {
 public:
  Dispatcher(std::shared_ptr<const Router> router,
             std::shared_ptr<ClientAuthenticator> authenticator,
             std::shared_ptr<MetricsRegistry> metrics, std::chrono::milliseconds answer_timeout);

  using Reply = std::function<void(Response)>;
  /// Routes, authenticates, authorises and runs the handler. `reply` gets the
  /// response once: before handle returns for a refusal or a plain handler, later
  /// and from any thread for an async handler (Responder). Never throws (a handler
  /// exception becomes 500 INTERNAL). Records metrics and one log line per request.
  /// `post` runs work on the handler pool (Responder::answer_on_pool).
  void handle(Request& request, ConnectionIdentity& identity, Reply reply,
              Responder::Post post) const;

  /// The response for a request the transport refused before routing (body or
  /// headers too large, unparsable HTTP), with metrics and a log line.
  Response reject(const core::Error& error, std::string_view method) const;

  /// Hands the async requests whose answer-time limit has passed to `post` (the
  /// handler pool) to be answered; returns when the next one can come due. The
  /// server's timer calls it on an I/O thread.
  AnswerDeadlines::Clock::time_point expire_unanswered(AnswerDeadlines::Clock::time_point now,
                                                       const Responder::Post& post) const;

 private:
  /// The refusal, if routing, authentication or the role check refuses; else
  /// sets *route (and *principal on non-public routes).
  std::optional<Response> admit(Request& request, ConnectionIdentity& identity, const Route** route,
                                const Principal** principal) const;
  /// The refusal if the connection's client certificate does not authenticate
  /// (cached per trust generation); else sets *principal.
  std::optional<Response> authenticate(ConnectionIdentity& identity,
                                       const Principal** principal) const;
  void record(std::string_view method, std::string_view route, const Response& response,
              double seconds, const std::string* principal_id) const;

  std::shared_ptr<const Router> router_;
  std::shared_ptr<ClientAuthenticator> authenticator_;
  std::shared_ptr<MetricsRegistry> metrics_;
  std::shared_ptr<AnswerDeadlines> deadlines_;
};

}  // namespace medledger::api::detail

// Server: the HTTPS server (Boost.Beast/Asio, all of it in src/server_beast.cpp).
//
// Threads: `threads.io` threads run the io_context (accept, TLS, HTTP parsing,
// writing; they never block); `threads.handlers` threads run route handlers,
// which may block on the token. Writes and reads do not wait for their durable
// commit there: their async handlers answer when the ledger's writer reports the
// commit (Responder), so no thread is parked per request in flight. A request is
// handed to the handler pool once complete and its response is written back on
// its connection's strand. One request per connection at a time (no pipelining).
//
// Stopping (stop(), or SIGTERM/SIGINT with handle_signals): stop accepting,
// close idle connections, let in-flight requests finish and their responses be
// written (up to limits.shutdown_grace), call on_drain (node/ drains its commits:
// stop the orderer there, so that no commit is reported after the threads stop),
// then stop the threads. wait() returns when all of that is done.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "medledger/api/client_auth.h"
#include "medledger/api/config.h"
#include "medledger/api/metrics.h"
#include "medledger/api/router.h"
#include "medledger/api/tls.h"

namespace medledger::api {

struct ServerParts {
  TlsContext tls;
  std::shared_ptr<const Router> router;
  std::shared_ptr<ClientAuthenticator> authenticator;
  std::shared_ptr<MetricsRegistry> metrics;
  // After in-flight requests finished, before the threads stop. With async routes it
  // must stop whatever still reports to them (node: ConsortiumLedger::stop).
  std::function<void()> on_drain;
  bool handle_signals = false;  // SIGTERM / SIGINT start a graceful stop
  // With handle_signals: SIGHUP runs this on the handler pool (reload what can be
  // reloaded, e.g. trust files) and the server keeps serving.
  std::function<void()> on_reload;
  // With handle_signals: SIGHUP then builds the TLS context again (a renewed
  // certificate, a rotated key file); connections accepted from then on use it,
  // open ones keep theirs. An error keeps the context in force (logged: tls_reload).
  std::function<core::Result<TlsContext>()> reload_tls;
};

class Server {
 public:
  /// Binds listen.address:listen.port and starts the threads. kIoError if the
  /// address cannot be bound (message says why), kConfigInvalid for a bad config.
  static core::Result<std::unique_ptr<Server>> start(const ServerConfig& config, ServerParts parts);

  /// Stops (gracefully) and waits.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The bound port (the ephemeral one when listen.port is 0).
  std::uint16_t port() const;
  /// Starts a graceful stop; returns at once. Thread-safe, idempotent.
  void stop();
  /// True once a stop was requested.
  bool stopping() const;
  /// Blocks until a stop was requested and has completed.
  void wait();
  /// Serves `next` to every connection accepted from now on; open connections
  /// keep the context they began with. Thread-safe.
  void replace_tls(const TlsContext& next);

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace medledger::api

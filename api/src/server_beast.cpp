// The only translation unit with Boost.Beast/Asio (they are slow to compile).
// Structure of Beast's async-ssl example server: a Listener that accepts, a
// Session per connection owning its stream and buffer (kept alive across async
// steps by shared_from_this), one small function per step.
//
// Session steps:  do_handshake -> on_handshake -> do_read -> [on_first_bytes] ->
// do_read_header -> on_read_header -> [do_write_continue] -> do_read_body ->
// on_read_body -> dispatch (handler pool) -> do_write -> on_write -> do_read | do_close
#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "beast_aliases.h"
#include "dispatcher.h"
#include "medledger/api/logging.h"
#include "medledger/api/server.h"
#include "medledger/core/allocator.h"
#include "medledger/core/assert.h"

namespace medledger::api {

namespace {
using core::ErrorCode;

// The first read of a request (waiting under the idle timeout) takes at most this much.
constexpr std::size_t kFirstReadBytes = 4096;
// The TLS close_notify exchange at the end of a connection may take this long.
constexpr std::chrono::seconds kCloseTimeout{2};
// How often wait() looks whether in-flight requests and connections have drained.
constexpr std::chrono::milliseconds kDrainPoll{10};
constexpr std::chrono::milliseconds kAnswersAfterDrain{
    2000};  // after on_drain, for the answers it released

class Session;

// A TLS context as connections use it; the TlsContext keeps its key source alive.
struct ServingTls {
  explicit ServingTls(const TlsContext& source) : source(source), context(source.acquire()) {}
  TlsContext source;
  ssl::context context;
};

// What the listener and every session share. Sessions hold it by shared_ptr.
struct Shared {
  Shared(const ServerConfig& c, const TlsContext& t, detail::Dispatcher d,
         std::shared_ptr<MetricsRegistry> m, net::thread_pool& pool)
      : config(c),
        tls(std::make_shared<ServingTls>(t)),
        dispatcher(std::move(d)),
        metrics(std::move(m)),
        handlers(pool) {}

  // The context a new connection gets (a reload replaces it; each connection
  // keeps the one it began with).
  std::shared_ptr<ServingTls> current_tls() {
    std::lock_guard lock(tls_mutex);
    return tls;
  }
  void replace_tls(const TlsContext& next) {
    auto serving = std::make_shared<ServingTls>(next);
    std::lock_guard lock(tls_mutex);
    tls.swap(serving);  // the old context is released with `serving`, after the lock
  }

  const ServerConfig config;
  std::mutex tls_mutex;
  std::shared_ptr<ServingTls> tls;
  const detail::Dispatcher dispatcher;
  const std::shared_ptr<MetricsRegistry> metrics;
  net::thread_pool& handlers;  // joined in wait() before the io_context is destroyed
  std::atomic<std::uint32_t> connections{0};
  std::atomic<std::uint32_t> in_flight{0};
  std::atomic<bool> stopping{false};

  std::mutex sessions_mutex;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;
  std::uint64_t next_session_id = 0;
};

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category();
}

Request to_request(http::request<http::string_body>& message) {
  Request request;
  auto method = message.method_string();
  request.method = parse_method(std::string_view(method.data(), method.size()));
  request.target = std::string(message.target());
  for (const auto& field : message) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    request.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  request.body = std::move(message.body());
  return request;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : tls_(shared->current_tls()),
        stream_(std::move(socket), tls_->context),
        shared_(std::move(shared)) {}

  ~Session() {
    {
      std::lock_guard lock(shared_->sessions_mutex);
      shared_->sessions.erase(id_);
    }
    const auto open = shared_->connections.fetch_sub(1);
    MEDLEDGER_ASSERT(open > 0);  // counted by the listener before the session was made
    shared_->metrics->adjust_gauge(metric::kConnections, -1);
  }

  void run() {
    {
      std::lock_guard lock(shared_->sessions_mutex);
      id_ = shared_->next_session_id++;
      shared_->sessions.emplace(id_, weak_from_this());
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::do_handshake, shared_from_this()));
  }

  // Graceful stop: a connection without a request in flight closes now (also one
  // waiting for the client's close_notify); one with a request in flight closes
  // after writing its response.
  void stop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->state_ != State::kHandling && self->state_ != State::kWriting) {
        beast::get_lowest_layer(self->stream_).close();
      }
    });
  }

 private:
  enum class State { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing };

  void do_handshake() {
    state_ = State::kHandshake;
    beast::get_lowest_layer(stream_).expires_after(shared_->config.limits.handshake_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&Session::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return on_transport_error(ec, "handshake");
    identity_.peer_chain = peer_certificate_chain(stream_.native_handle());
    do_read();
  }

  void do_read() {
    if (shared_->stopping) {
      // No request pending and none will be read: no TLS goodbye needed.
      state_ = State::kClosing;
      beast::get_lowest_layer(stream_).close();
      return;
    }
    parser_.emplace();
    parser_->body_limit(shared_->config.limits.max_body_bytes);
    static_assert(kMaxHeaderBytes <= std::numeric_limits<std::uint32_t>::max());
    parser_->header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
    if (buffer_.size() > 0) return do_read_header();  // the next request is already here
    // Idle: wait for the first byte of the next request under the idle timeout.
    state_ = State::kIdle;
    beast::get_lowest_layer(stream_).expires_after(shared_->config.limits.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(kFirstReadBytes),
        beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, std::size_t bytes) {
    if (ec) return on_transport_error(ec, "idle");
    buffer_.commit(bytes);
    do_read_header();
  }

  void do_read_header() {
    // The whole header must arrive within header_timeout: a client sending one
    // byte a second cannot hold the connection (slowloris).
    state_ = State::kReading;
    beast::get_lowest_layer(stream_).expires_after(shared_->config.limits.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::on_read_header, shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec, "header");
    if (parser_->is_done()) return on_request();
    auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) return do_write_continue();
    do_read_body();
  }

  void do_write_continue() {
    continue_.emplace(http::status::continue_, parser_->get().version());
    beast::get_lowest_layer(stream_).expires_after(shared_->config.limits.write_timeout);
    http::async_write(stream_, *continue_,
                      beast::bind_front_handler(&Session::on_write_continue, shared_from_this()));
  }

  void on_write_continue(beast::error_code ec, std::size_t) {
    if (ec) return on_transport_error(ec, "write");
    do_read_body();
  }

  void do_read_body() {
    beast::get_lowest_layer(stream_).expires_after(shared_->config.limits.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read_body, shared_from_this()));
  }

  void on_read_body(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec, "body");
    on_request();
  }

  void on_read_error(beast::error_code ec, const char* phase) {
    if (ec == http::error::body_limit) {
      return respond_and_close(
          ErrorCode::kBodyTooLarge,
          "the body exceeds " + std::to_string(shared_->config.limits.max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit) {
      return respond_and_close(ErrorCode::kHeadersTooLarge, "the request headers exceed the limit");
    }
    if (is_http_error(ec) && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      return respond_and_close(ErrorCode::kInvalidArgument,
                               "malformed HTTP request: " + ec.message());
    }
    on_transport_error(ec, phase);
  }

  // Connection-level failures end the connection without a response.
  void on_transport_error(beast::error_code ec, const char* phase) {
    log_event(LogLevel::kDebug, "connection_error",
              {{"phase", phase}, {"category", ec.category().name()}, {"reason", ec.message()}});
    if (ec == beast::error::timeout) {
      // beast's stream has closed the socket already.
      shared_->metrics->add(metric::kConnectionsTimedOut, {{"phase", phase}});
      return;
    }
    if (ec == net::error::operation_aborted || ec == net::error::bad_descriptor)
      return;  // closed by stop()
    do_close();
  }

  void on_request() {
    // One request at a time per connection: the next is read only after this one's answer.
    MEDLEDGER_ASSERT(state_ == State::kReading);
    state_ = State::kHandling;
    shared_->in_flight.fetch_add(1);
    shared_->metrics->adjust_gauge(metric::kInFlight, 1);
    auto& message = parser_->get();
    MEDLEDGER_ASSERT(message.body().size() <= shared_->config.limits.max_body_bytes);
    Reply reply{message.version(), message.keep_alive(), message.method() == http::verb::head,
                true};
    auto request = std::make_shared<Request>(to_request(message));
    // Handlers may block (token, commit): they run on the handler pool, and the
    // response comes back to this connection's strand.
    // An async handler (a write waiting for its block) answers later from the
    // ledger's writer thread; nothing waits in between.
    net::post(shared_->handlers, [self = shared_from_this(), request, reply] {
      self->shared_->dispatcher.handle(
          *request, self->identity_,
          [self, reply](Response response) {
            net::post(self->stream_.get_executor(),
                      [self, reply, response = std::move(response)]() mutable {
                        self->do_write(std::move(response), reply);
                      });
          },
          [shared = self->shared_](std::function<void()> work) {
            net::post(shared->handlers, std::move(work));
          });
    });
  }

  struct Reply {
    unsigned version;
    bool keep_alive;
    bool head;
    bool counted;  // an in-flight request (not a transport rejection)
  };

  void respond_and_close(ErrorCode code, std::string message) {
    auto method = parser_->get().method_string();
    Response response = shared_->dispatcher.reject(core::make_error(code, std::move(message)),
                                                   std::string_view(method.data(), method.size()));
    do_write(std::move(response), Reply{11, false, false, false});
  }

  void do_write(Response response, Reply reply) {
    // The dispatcher answers once (Responder: the first answer counts); a refusal while reading.
    MEDLEDGER_ASSERT(reply.counted ? state_ == State::kHandling : state_ == State::kReading);
    state_ = State::kWriting;
    reply_ = reply;
    response_.emplace(static_cast<http::status>(response.status), reply.version);
    response_->set(http::field::content_type, response.content_type);
    // Answers may hold health data: never cached, never sniffed.
    response_->set(http::field::cache_control, "no-store");
    response_->set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : response.headers) response_->set(name, value);
    response_->body() = std::move(response.body);
    response_->keep_alive(reply.keep_alive && !shared_->stopping);
    response_->prepare_payload();
    if (reply.head) response_->body().clear();  // Content-Length stays that of the GET
    beast::get_lowest_layer(stream_).expires_after(shared_->config.limits.write_timeout);
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    MEDLEDGER_ASSERT(state_ == State::kWriting);
    if (reply_.counted) {
      const auto before = shared_->in_flight.fetch_sub(1);
      MEDLEDGER_ASSERT(before > 0);
      shared_->metrics->adjust_gauge(metric::kInFlight, -1);
    }
    if (ec) return on_transport_error(ec, "write");
    if (!response_->keep_alive()) return do_close();
    response_.reset();
    do_read();
  }

  void do_close() {
    state_ = State::kClosing;
    if (!beast::get_lowest_layer(stream_).socket().is_open())
      return;  // closed by stop() or a timeout
    beast::get_lowest_layer(stream_).expires_after(kCloseTimeout);
    stream_.async_shutdown(beast::bind_front_handler(&Session::on_shutdown, shared_from_this()));
  }

  void on_shutdown(beast::error_code) {
    // The peer may close without close_notify: either way the socket closes with us.
  }

  std::shared_ptr<ServingTls> tls_;  // before stream_: the context it was built from
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> response_;
  Reply reply_{11, false, false, false};
  detail::ConnectionIdentity identity_;
  std::shared_ptr<Shared> shared_;
  std::uint64_t id_ = 0;
  State state_ = State::kHandshake;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, std::shared_ptr<Shared> shared)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), shared_(std::move(shared)) {}

  core::Result<void> open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    auto fail = [&](const char* what) {
      return core::make_error(ErrorCode::kIoError, std::string("listen ") +
                                                       endpoint.address().to_string() + ":" +
                                                       std::to_string(endpoint.port()) + ": " +
                                                       what + ": " + ec.message());
    };
    if (acceptor_.open(endpoint.protocol(), ec); ec) return fail("open");
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec)
      return fail("SO_REUSEADDR");
    if (acceptor_.bind(endpoint, ec); ec) return fail("bind");
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen");
    return core::success();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void run() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
  }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;  // stopped
    if (ec) {
      log_event(LogLevel::kWarn, "accept_failed", {{"reason", ec.message()}});
    } else if (shared_->stopping ||
               shared_->connections.load() >= shared_->config.limits.max_connections) {
      // Over the limit: refuse at once rather than queue (the client retries elsewhere).
      shared_->metrics->add(metric::kConnectionsRefused);
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      shared_->connections.fetch_add(1);
      shared_->metrics->adjust_gauge(metric::kConnections, 1);
      std::make_shared<Session>(std::move(socket), shared_)->run();
    }
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
};
}  // namespace

struct Server::Impl {
  Impl(const ServerConfig& config, ServerParts& parts)
      : handler_pool(config.threads.handlers),
        ioc(static_cast<int>(config.threads.io)),
        work(net::make_work_guard(ioc)),
        shared(std::make_shared<Shared>(
            config, parts.tls,
            detail::Dispatcher(parts.router, parts.authenticator, parts.metrics,
                               config.limits.answer_timeout),
            parts.metrics, handler_pool)),
        on_drain(std::move(parts.on_drain)) {}

  void stop() {
    if (shared->stopping.exchange(true)) return;
    log_event(LogLevel::kInfo, "stopping", {{"in_flight", shared->in_flight.load()}});
    listener->stop();
    std::vector<std::shared_ptr<Session>> open;
    {
      std::lock_guard lock(shared->sessions_mutex);
      for (auto& [id, weak] : shared->sessions) {
        if (auto session = weak.lock()) open.push_back(std::move(session));
      }
    }
    for (auto& session : open) session->stop();
    {
      std::lock_guard lock(state_mutex);
      stop_requested = true;
    }
    state_changed.notify_all();
  }

  void wait() {
    std::lock_guard waiter(wait_mutex);
    if (finished) return;
    {
      std::unique_lock lock(state_mutex);
      state_changed.wait(lock, [&] { return stop_requested; });
    }
    const auto deadline = std::chrono::steady_clock::now() + shared->config.limits.shutdown_grace;
    while ((shared->in_flight.load() > 0 || shared->connections.load() > 0) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(kDrainPoll);
    }
    if (on_drain) on_drain();
    // on_drain committed what was queued: the answers of requests that were still
    // waiting for that commit are on their way to the connections; let them out.
    const auto answers_deadline = std::chrono::steady_clock::now() + kAnswersAfterDrain;
    while (shared->in_flight.load() > 0 && std::chrono::steady_clock::now() < answers_deadline) {
      std::this_thread::sleep_for(kDrainPoll);
    }
    work.reset();
    ioc.stop();
    for (auto& thread : io_threads) thread.join();
    handler_pool.join();
    if (signals) {
      beast::error_code ignored;
      signals->cancel(ignored);
    }
    finished = true;
    log_event(LogLevel::kInfo, "stopped", {{"unfinished_requests", shared->in_flight.load()}});
    flush_logs();
  }

  net::thread_pool handler_pool;
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::shared_ptr<Shared> shared;
  std::shared_ptr<Listener> listener;
  std::optional<net::signal_set> signals;
  std::optional<net::steady_timer> answer_timer;
  std::function<void()> on_reload;
  std::function<core::Result<TlsContext>()> reload_tls;

  std::mutex reload_mutex;  // two quick SIGHUPs: the later file read is the one installed

  void reload_tls_context() {
    std::lock_guard lock(reload_mutex);
    auto next = reload_tls();
    if (next) {
      if (auto valid = next->leaf_valid_now(); !valid) next = valid.error();
    }
    if (!next) {
      log_event(LogLevel::kError, "tls_reload",
                {{"error", core::error_code_name(next.error().code)},
                 {"message", next.error().message + "; the certificate in force is kept"}});
      return;
    }
    shared->replace_tls(*next);
    log_event(LogLevel::kInfo, "tls_reload",
              {{"result", "reloaded"}, {"certificate", next->leaf_summary()}});
  }

  // Async requests still unanswered past limits.answer_timeout are answered
  // from here; one wait is outstanding at a time, re-armed by its own handler.
  void expire_unanswered_at(std::chrono::steady_clock::time_point at) {
    answer_timer->expires_at(at);
    answer_timer->async_wait([this](beast::error_code error) {
      if (error) return;
      expire_unanswered_at(shared->dispatcher.expire_unanswered(
          std::chrono::steady_clock::now(),
          [this](std::function<void()> work) { net::post(handler_pool, std::move(work)); }));
    });
  }

  // SIGHUP: reload on the handler pool (it may read files) and wait again;
  // SIGTERM / SIGINT: a graceful stop.
  void wait_for_signal() {
    signals->async_wait([this](beast::error_code error, int signal) {
      if (error) return;
      if (signal == SIGHUP) {
        log_event(LogLevel::kInfo, "signal", {{"signal", "SIGHUP"}});
        net::post(handler_pool, [this] {
          if (on_reload) on_reload();
          if (reload_tls) reload_tls_context();
        });
        wait_for_signal();
        return;
      }
      log_event(LogLevel::kInfo, "signal", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      stop();
    });
  }
  std::vector<std::thread> io_threads;
  std::function<void()> on_drain;

  std::mutex state_mutex;
  std::condition_variable state_changed;
  bool stop_requested = false;
  std::mutex wait_mutex;
  bool finished = false;
};

core::Result<std::unique_ptr<Server>> Server::start(const ServerConfig& config, ServerParts parts) {
  MEDLEDGER_TRY(validate_server_config(config));
  if (!parts.router || !parts.authenticator || !parts.metrics) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "a server needs a router, an authenticator and metrics");
  }
  beast::error_code ec;
  auto address = net::ip::make_address(config.listen.address, ec);
  if (ec) return core::make_error(ErrorCode::kConfigInvalid, "listen.address: " + ec.message());

  auto impl = std::make_unique<Impl>(config, parts);
  impl->listener = std::make_shared<Listener>(impl->ioc, impl->shared);
  MEDLEDGER_TRY(impl->listener->open(tcp::endpoint(address, config.listen.port)));
  impl->listener->run();
  impl->answer_timer.emplace(impl->ioc);
  impl->expire_unanswered_at(std::chrono::steady_clock::now() + config.limits.answer_timeout);
  if (parts.handle_signals) {
    impl->signals.emplace(impl->ioc, SIGINT, SIGTERM);
    if (parts.on_reload || parts.reload_tls) impl->signals->add(SIGHUP);
    impl->on_reload = parts.on_reload;
    impl->reload_tls = parts.reload_tls;
    impl->wait_for_signal();
  }
  for (std::uint32_t i = 0; i < config.threads.io; ++i)
    impl->io_threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
  log_event(LogLevel::kInfo, "listening",
            {{"address", config.listen.address},
             {"port", impl->listener->port()},
             {"io_threads", config.threads.io},
             {"handler_threads", config.threads.handlers},
             {"allocator", core::allocator_name()}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
  wait();
}

std::uint16_t Server::port() const { return impl_->listener->port(); }
void Server::stop() { impl_->stop(); }
bool Server::stopping() const { return impl_->shared->stopping.load(); }
void Server::wait() { impl_->wait(); }
void Server::replace_tls(const TlsContext& next) { impl_->shared->replace_tls(next); }

}  // namespace medledger::api

// The HTTPS client's Boost.Beast/Asio code (the module's only translation unit that
// includes Beast, which is slow to compile). One asynchronous Connection state
// machine serves both shapes: HttpsClient runs it on the caller's thread
// (io_context::run until the one request completes), HttpsConnectionPool runs N
// of them on one I/O thread.
//
// Connection steps:  open -> on_resolve -> on_connect -> on_handshake -> do_write ->
// on_write -> on_read -> finish   (a reused connection starts at do_write)
// A streamed response (HttpsClient::stream) reads instead: on_write -> on_stream_header ->
// (read_stream_body -> on_stream_body)* -> finish_stream.
#include <atomic>
#include <deque>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/crypto.h>

#include "client_tls.h"
#include "medledger/net/https_client.h"

namespace medledger::net {

namespace {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using core::ErrorCode;

// The TLS close_notify exchange when a client closes may take this long.
constexpr std::chrono::seconds kShutdownTimeout{1};
constexpr std::uint16_t kDefaultHttpsPort = 443;
constexpr const char* kUserAgent = "medledger-https-client";
// The most a streamed response hands over at once (HttpsClient::stream promises it).
constexpr std::size_t kStreamPieceBytes = 64u << 10;

enum class Step { kResolve, kConnect, kHandshake, kWrite, kRead };

std::string_view step_name(Step step) {
  switch (step) {
    case Step::kResolve:
      return "resolve";
    case Step::kConnect:
      return "connect";
    case Step::kHandshake:
      return "TLS handshake";
    case Step::kWrite:
      return "write request";
    case Step::kRead:
      return "read response";
  }
  return "?";
}

struct ConnectionSettings {
  HttpsEndpoint endpoint;
  std::string server_name;  // what the server certificate must name
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds request_timeout;
  std::string where() const { return endpoint.host + ":" + std::to_string(endpoint.port); }
};

// The stable code for a transport failure at `step` (see https_client.h); `limit` is the
// deadline that applied to it.
core::Error transport_error(Step step, const beast::error_code& ec, SSL* ssl,
                            const ConnectionSettings& settings, std::chrono::milliseconds limit) {
  std::string what = std::string(step_name(step)) + " with " + settings.where() + ": ";
  if (ec == beast::error::timeout) {
    return core::make_error(ErrorCode::kRequestTimeout,
                            what + "timed out after " + std::to_string(limit.count()) + " ms");
  }
  if (step == Step::kResolve || step == Step::kConnect) {
    return core::make_error(ErrorCode::kConnectionRefused, what + ec.message());
  }
  if (step == Step::kHandshake) {
    std::string reason = ssl != nullptr ? detail::verify_failure(ssl) : std::string();
    if (!reason.empty())
      reason = "server certificate: " + reason;
    else
      reason = ec.message();
    return core::make_error(ErrorCode::kTlsHandshakeFailed, what + reason);
  }
  // A TLS alert after the handshake (e.g. TLS 1.3 client certificate refused) is a TLS failure too.
  if (ec.category() == asio::error::get_ssl_category()) {
    return core::make_error(ErrorCode::kTlsHandshakeFailed, what + ec.message());
  }
  return core::make_error(ErrorCode::kIoError, what + ec.message());
}

// A keep-alive connection the server closed while idle fails its next exchange with
// one of these before any byte of a response arrives: safe to resend once.
bool closed_while_idle(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

std::string host_header(const HttpsEndpoint& endpoint) {
  std::string host =
      endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]" : endpoint.host;
  if (endpoint.port != kDefaultHttpsPort) host += ":" + std::to_string(endpoint.port);
  return host;
}

// Status and headers (names lowercased) of a response, without its body.
HttpsResponse response_head(const http::response_header<>& head) {
  HttpsResponse response;
  response.status = static_cast<int>(head.result_int());
  for (const auto& field : head) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    response.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  return response;
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Done = std::function<void(core::Result<HttpsResponse>)>;
  using OnBody = std::function<bool(std::string_view piece)>;

  Connection(asio::any_io_executor executor, ssl::context& tls, const ConnectionSettings& settings,
             std::atomic<std::size_t>& opened)
      : executor_(executor), tls_(tls), settings_(settings), opened_(opened), resolver_(executor) {}

  // Runs one exchange; call on the executor, one at a time. `done` is always called
  // later (never from inside run).
  void run(const HttpsRequest& request, Done done) {
    on_body_ = nullptr;
    start(request, std::move(done));
  }

  // As run, but the response body goes to `on_body` as it arrives, each read bounded by
  // `idle_timeout` (HttpsClient::stream). `on_body` must outlive the exchange.
  void run_stream(const HttpsRequest& request, std::chrono::milliseconds idle_timeout,
                  const OnBody& on_body, Done done) {
    on_body_ = &on_body;
    idle_timeout_ = idle_timeout;
    if (!piece_) piece_ = std::make_unique<char[]>(kStreamPieceBytes);
    start(request, std::move(done));
  }

  // Sends close_notify (bounded by kShutdownTimeout) and closes; then `done`.
  void shutdown(std::function<void()> done) {
    if (!stream_) return asio::post(executor_, std::move(done));
    beast::get_lowest_layer(*stream_).expires_after(kShutdownTimeout);
    stream_->async_shutdown([self = shared_from_this(), done = std::move(done)](beast::error_code) {
      self->reset();
      done();
    });
  }

  bool is_open() const { return stream_.has_value(); }

 private:
  void start(const HttpsRequest& request, Done done) {
    done_ = std::move(done);
    retried_ = false;
    build_request(request);
    if (stream_) {
      reused_ = true;
      do_write();
    } else {
      open();
    }
  }

  void build_request(const HttpsRequest& request) {
    request_ = {};
    request_.version(11);
    http::verb verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown)
      request_.method_string(request.method);
    else
      request_.method(verb);
    head_ = verb == http::verb::head;
    request_.target(request.target);
    request_.set(http::field::host, host_header(settings_.endpoint));
    request_.set(http::field::user_agent, kUserAgent);
    for (const auto& [name, value] : request.headers) request_.set(name, value);
    if (!request.body.empty() && request_.find(http::field::content_type) == request_.end()) {
      request_.set(http::field::content_type, "application/json");
    }
    request_.body() = request.body;
    request_.prepare_payload();
  }

  void open() {
    reused_ = false;
    resolver_.async_resolve(settings_.endpoint.host, std::to_string(settings_.endpoint.port),
                            beast::bind_front_handler(&Connection::on_resolve, shared_from_this()));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail(Step::kResolve, ec);
    stream_.emplace(executor_, tls_);
    if (!detail::expect_server_name(stream_->native_handle(), settings_.server_name)) {
      reset();
      return finish(
          core::make_error(ErrorCode::kTlsHandshakeFailed,
                           "cannot expect the server name '" + settings_.server_name + "'"));
    }
    beast::get_lowest_layer(*stream_).expires_after(settings_.connect_timeout);
    beast::get_lowest_layer(*stream_).async_connect(
        results, beast::bind_front_handler(&Connection::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (ec) return fail(Step::kConnect, ec);
    opened_.fetch_add(1);
    // A request's header and body leave as separate TLS records: without this, Nagle holds
    // the body until the server's delayed ACK (tens of ms per request).
    beast::error_code ignored;
    beast::get_lowest_layer(*stream_).socket().set_option(tcp::no_delay(true), ignored);
    stream_->async_handshake(
        ssl::stream_base::client,
        beast::bind_front_handler(&Connection::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail(Step::kHandshake, ec);
    do_write();
  }

  void do_write() {
    // One deadline for the whole exchange: the write and the read of the response.
    beast::get_lowest_layer(*stream_).expires_after(settings_.request_timeout);
    http::async_write(*stream_, request_,
                      beast::bind_front_handler(&Connection::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return retry_or_fail(Step::kWrite, ec, 0);
    if (on_body_ != nullptr) return read_stream_header();
    parser_.emplace();
    parser_->body_limit(kMaxResponseBodyBytes);
    parser_->header_limit(static_cast<std::uint32_t>(kMaxResponseHeaderBytes));
    if (head_) parser_->skip(true);
    buffer_.clear();
    http::async_read(*stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Connection::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t bytes) {
    if (ec) return retry_or_fail(Step::kRead, ec, bytes + buffer_.size());
    auto& message = parser_->get();
    HttpsResponse response = response_head(message);
    response.body = std::move(message.body());
    const bool keep_alive = message.keep_alive();
    parser_.reset();
    complete(std::move(response), keep_alive);
  }

  // A stream has no total deadline and no size limit: each read gets idle_timeout_.
  void read_stream_header() {
    stream_parser_.emplace();
    stream_parser_->body_limit(boost::none);
    stream_parser_->header_limit(static_cast<std::uint32_t>(kMaxResponseHeaderBytes));
    if (head_) stream_parser_->skip(true);
    buffer_.clear();
    beast::get_lowest_layer(*stream_).expires_after(idle_timeout_);
    http::async_read_header(
        *stream_, buffer_, *stream_parser_,
        beast::bind_front_handler(&Connection::on_stream_header, shared_from_this()));
  }

  void on_stream_header(beast::error_code ec, std::size_t bytes) {
    if (ec) return retry_or_fail(Step::kRead, ec, bytes + buffer_.size());
    read_stream_body();
  }

  void read_stream_body() {
    if (stream_parser_->is_done()) return finish_stream(true);
    auto& body = stream_parser_->get().body();
    body.data = piece_.get();
    body.size = kStreamPieceBytes;
    beast::get_lowest_layer(*stream_).expires_after(idle_timeout_);
    http::async_read_some(
        *stream_, buffer_, *stream_parser_,
        beast::bind_front_handler(&Connection::on_stream_body, shared_from_this()));
  }

  void on_stream_body(beast::error_code ec, std::size_t) {
    if (ec == http::error::need_buffer) ec = {};  // the piece is full: hand it over
    if (ec) return fail(Step::kRead, ec);
    const std::size_t filled = kStreamPieceBytes - stream_parser_->get().body().size;
    if (filled > 0 && !(*on_body_)(std::string_view(piece_.get(), filled))) {
      return finish_stream(false);
    }
    read_stream_body();
  }

  // `body_ended` false: the caller stopped and the rest is unread, so the connection
  // cannot carry another exchange.
  void finish_stream(bool body_ended) {
    HttpsResponse response = response_head(stream_parser_->get());
    const bool keep_alive = body_ended && stream_parser_->get().keep_alive();
    stream_parser_.reset();
    complete(std::move(response), keep_alive);
  }

  // Keeps the connection for the next exchange, or closes it; then reports `response`.
  void complete(HttpsResponse response, bool keep_alive) {
    if (keep_alive)
      beast::get_lowest_layer(*stream_).expires_never();
    else
      reset();
    finish(std::move(response));
  }

  void retry_or_fail(Step step, const beast::error_code& ec, std::size_t response_bytes) {
    if (reused_ && !retried_ && response_bytes == 0 && closed_while_idle(ec)) {
      retried_ = true;
      reset();
      return open();
    }
    fail(step, ec);
  }

  void fail(Step step, const beast::error_code& ec) {
    std::chrono::milliseconds limit = settings_.request_timeout;
    if (step <= Step::kHandshake)
      limit = settings_.connect_timeout;
    else if (step == Step::kRead && on_body_ != nullptr)
      limit = idle_timeout_;
    core::Error error =
        transport_error(step, ec, stream_ ? stream_->native_handle() : nullptr, settings_, limit);
    reset();
    finish(std::move(error));
  }

  void finish(core::Result<HttpsResponse> result) {
    // Bodies may carry PINs (record store, read): wipe our copy once it is sent.
    OPENSSL_cleanse(request_.body().data(), request_.body().size());
    Done done = std::move(done_);
    done_ = nullptr;
    on_body_ = nullptr;
    done(std::move(result));
  }

  void reset() {
    stream_.reset();
    parser_.reset();
    stream_parser_.reset();
    buffer_.clear();
  }

  asio::any_io_executor executor_;
  ssl::context& tls_;
  const ConnectionSettings& settings_;
  std::atomic<std::size_t>& opened_;
  tcp::resolver resolver_;
  std::optional<ssl::stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::optional<http::response_parser<http::buffer_body>> stream_parser_;
  const OnBody* on_body_ = nullptr;  // set while a streamed exchange runs
  std::chrono::milliseconds idle_timeout_{0};
  std::unique_ptr<char[]> piece_;  // kStreamPieceBytes, allocated by the first stream
  Done done_;
  bool reused_ = false;   // this exchange runs on a connection that already carried one
  bool retried_ = false;  // the exchange was already resent once
  bool head_ = false;     // HEAD: the response has no body whatever Content-Length says
};

ConnectionSettings settings_for(const HttpsEndpoint& endpoint, const HttpsClientOptions& options) {
  return ConnectionSettings{endpoint,
                            options.server_name.empty() ? endpoint.host : options.server_name,
                            options.connect_timeout, options.request_timeout};
}

}  // namespace

// ---------------------------------------------------------------- HttpsClient

struct HttpsClient::Impl {
  Impl(detail::SslCtxPtr ctx, ConnectionSettings s) : tls(ctx.release()), settings(std::move(s)) {
    connection = std::make_shared<Connection>(io.get_executor(), tls, settings, opened);
  }
  asio::io_context io{1};
  ssl::context tls;
  ConnectionSettings settings;
  std::atomic<std::size_t> opened{0};
  std::shared_ptr<Connection> connection;

  // Runs the io_context on this thread until `start`'s work is done.
  void run_here(const std::function<void()>& start) {
    io.restart();
    asio::post(io, start);
    io.run();
  }

  // Runs one exchange that `start` begins with the completion it is given; its outcome.
  core::Result<HttpsResponse> exchange(const std::function<void(Connection::Done)>& start) {
    std::optional<core::Result<HttpsResponse>> outcome;
    run_here([&] { start([&](core::Result<HttpsResponse> r) { outcome.emplace(std::move(r)); }); });
    if (!outcome)
      return core::make_error(ErrorCode::kInternal, "HTTPS exchange ended without an outcome");
    return std::move(*outcome);
  }
};

core::Result<HttpsClient> HttpsClient::connect_to(const HttpsEndpoint& endpoint,
                                                  const HttpsClientOptions& options) {
  auto ctx = detail::make_client_ssl_context(options);
  MEDLEDGER_TRY(ctx);
  return HttpsClient(std::make_unique<Impl>(std::move(*ctx), settings_for(endpoint, options)));
}

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::HttpsClient(HttpsClient&&) noexcept = default;
HttpsClient& HttpsClient::operator=(HttpsClient&&) noexcept = default;
HttpsClient::~HttpsClient() { close(); }

core::Result<HttpsResponse> HttpsClient::request(const HttpsRequest& request) {
  return impl_->exchange(
      [&](Connection::Done done) { impl_->connection->run(request, std::move(done)); });
}

core::Result<HttpsResponse> HttpsClient::request(
    std::string_view method, std::string_view target, std::string body,
    std::vector<std::pair<std::string, std::string>> headers) {
  return request(
      HttpsRequest{std::string(method), std::string(target), std::move(headers), std::move(body)});
}

core::Result<HttpsResponse> HttpsClient::stream(
    const HttpsRequest& request, std::chrono::milliseconds idle_timeout,
    const std::function<bool(std::string_view piece)>& on_body) {
  return impl_->exchange([&](Connection::Done done) {
    impl_->connection->run_stream(request, idle_timeout, on_body, std::move(done));
  });
}

bool HttpsClient::connected() const { return impl_ && impl_->connection->is_open(); }

std::size_t HttpsClient::connections_opened() const { return impl_ ? impl_->opened.load() : 0; }

void HttpsClient::close() {
  if (!impl_ || !impl_->connection->is_open()) return;
  impl_->run_here([&] { impl_->connection->shutdown([] {}); });
}

// -------------------------------------------------------- HttpsConnectionPool

struct HttpsConnectionPool::Impl {
  struct Pending {
    HttpsRequest request;
    HttpsCompletion done;
  };

  Impl(detail::SslCtxPtr ctx, ConnectionSettings s) : tls(ctx.release()), settings(std::move(s)) {}

  asio::io_context io{1};
  ssl::context tls;
  ConnectionSettings settings;
  std::atomic<std::size_t> opened{0};
  std::atomic<std::size_t> outstanding{0};
  std::atomic<bool> closed{false};
  // Touched on the I/O thread only.
  std::vector<std::shared_ptr<Connection>> idle;
  std::deque<Pending> queue;
  bool stopping = false;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;

  // Hands queued requests to idle connections (I/O thread).
  void pump() {
    while (!idle.empty() && !queue.empty()) {
      std::shared_ptr<Connection> connection = std::move(idle.back());
      idle.pop_back();
      Pending next = std::move(queue.front());
      queue.pop_front();
      connection->run(next.request, [this, connection,
                                     done = std::move(next.done)](core::Result<HttpsResponse> r) {
        outstanding.fetch_sub(1);
        done(std::move(r));
        if (stopping) return connection->shutdown([] {});
        idle.push_back(connection);
        pump();
      });
      OPENSSL_cleanse(next.request.body.data(), next.request.body.size());  // run() copied it
    }
  }

  // Fails the queue and closes idle connections; busy ones close when they finish (I/O thread).
  void begin_stop() {
    stopping = true;
    while (!queue.empty()) {
      Pending next = std::move(queue.front());
      queue.pop_front();
      outstanding.fetch_sub(1);
      next.done(core::make_error(ErrorCode::kIoError, "HTTPS connection pool stopped"));
    }
    for (auto& connection : idle) connection->shutdown([] {});
    idle.clear();
  }
};

core::Result<std::unique_ptr<HttpsConnectionPool>> HttpsConnectionPool::start(
    const HttpsEndpoint& endpoint, const HttpsClientOptions& options, std::size_t connections) {
  if (connections == 0 || connections > kMaxConnections) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "connections must be 1.." + std::to_string(kMaxConnections));
  }
  auto ctx = detail::make_client_ssl_context(options);
  MEDLEDGER_TRY(ctx);
  auto impl = std::make_shared<Impl>(std::move(*ctx), settings_for(endpoint, options));
  for (std::size_t i = 0; i < connections; ++i) {
    impl->idle.push_back(std::make_shared<Connection>(impl->io.get_executor(), impl->tls,
                                                      impl->settings, impl->opened));
  }
  impl->work.emplace(impl->io.get_executor());
  impl->thread = std::thread([raw = impl.get()] { raw->io.run(); });
  return std::unique_ptr<HttpsConnectionPool>(new HttpsConnectionPool(std::move(impl)));
}

HttpsConnectionPool::HttpsConnectionPool(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

bool HttpsConnectionPool::submit(HttpsRequest request, HttpsCompletion done) {
  if (impl_->closed.load() || impl_->outstanding.load() >= kMaxQueued) return false;
  impl_->outstanding.fetch_add(1);
  asio::post(impl_->io, [impl = impl_.get(),
                         pending = Impl::Pending{std::move(request), std::move(done)}]() mutable {
    if (impl->stopping) {
      impl->outstanding.fetch_sub(1);
      return pending.done(core::make_error(ErrorCode::kIoError, "HTTPS connection pool stopped"));
    }
    impl->queue.push_back(std::move(pending));
    impl->pump();
  });
  return true;
}

std::size_t HttpsConnectionPool::outstanding() const { return impl_->outstanding.load(); }

std::size_t HttpsConnectionPool::connections_opened() const { return impl_->opened.load(); }

void HttpsConnectionPool::stop() {
  if (impl_->closed.exchange(true)) return;
  asio::post(impl_->io, [impl = impl_.get()] { impl->begin_stop(); });
  impl_->work.reset();
  if (impl_->thread.joinable()) impl_->thread.join();
}

HttpsConnectionPool::~HttpsConnectionPool() { stop(); }

}  // namespace medledger::net

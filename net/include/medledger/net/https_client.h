// An HTTPS client (no Beast types here; the implementation is net/src/client_beast.cpp):
// the appliance's API for tests and `medledger bench`, etcd's JSON gateway for cluster/.
//
// TLS 1.2 minimum (1.3 preferred by OpenSSL); the server's certificate must chain
// to the given CA bundle and name the URL's host (DNS name or IP address); an
// optional client certificate authenticates the caller (its role decides what it
// may call).
//
//     auto client = HttpsClient::connect_to(*parse_https_url("https://127.0.0.1:8443"),
//                                           {.ca_bundle = "ca.pem", .client_certificate =
//                                           "node.pem",
//                                            .client_key = "node.key"});
//     if (!client) return client.error();
//     auto reply = client->request("GET", "/v1/ledger/head");
//     if (reply && reply->status == 200) use(reply->body);
//
// Two shapes: HttpsClient (one keep-alive connection, blocking calls including a
// streamed response, not thread-safe) and HttpsConnectionPool (N keep-alive connections driven
// asynchronously by one I/O thread; completions run on that thread).
//
// Errors (stable codes, docs/errors.md): kConnectionRefused (nothing listens / cannot
// resolve), kTlsHandshakeFailed (untrusted or misnamed server, refused client
// certificate), kRequestTimeout (connect, handshake or exchange too slow), kIoError
// (the connection broke mid-exchange, malformed HTTP), kConfigInvalid (unreadable
// CA bundle / certificate / key, or a key that does not match its certificate).
// An HTTP error status (4xx/5xx) is NOT an error of the client: it is a response.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/types.h>

#include "medledger/core/result.h"

namespace medledger::net {

/// Where to connect: from "https://host:port" (port 443 if absent; no path).
struct HttpsEndpoint {
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  std::uint16_t port = 443;
};

/// Parses "https://host[:port][/]". kInvalidArgument for any other scheme, a
/// path, user info, or a bad port. Cost: none.
core::Result<HttpsEndpoint> parse_https_url(std::string_view url);

/// Upper bounds: a response larger than this is refused (kIoError), so a broken
/// server cannot exhaust the client's memory. HttpsClient::stream has no body bound
/// (the caller consumes the body as it arrives), only the header one.
inline constexpr std::size_t kMaxResponseBodyBytes = 64u << 20;
inline constexpr std::size_t kMaxResponseHeaderBytes = 64u << 10;

struct HttpsClientOptions {
  std::filesystem::path ca_bundle;  // PEM CA certificates trusted for the server (required)
  std::filesystem::path
      client_certificate;            // PEM, leaf first then issuers; empty: no client certificate
  std::filesystem::path client_key;  // PEM private key of client_certificate
  /// Alternatively the client key as an object (e.g. from a Signer-backed provider);
  /// takes precedence over client_key. The client keeps its own reference.
  EVP_PKEY* client_key_object = nullptr;
  /// The name the server's certificate must carry (SNI too, if a DNS name); empty:
  /// the endpoint's host. For connecting to an address while verifying a DNS name.
  std::string server_name;
  std::chrono::milliseconds connect_timeout{5000};   // TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{30000};  // write the request + read the response
};

struct HttpsResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercase, in order
  std::string body;

  /// The first header `name` (give it lowercase), if present.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpsRequest {
  std::string method = "GET";  // "GET", "POST", ...
  std::string target = "/";    // path and query, already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // Host and Content-Length are added
  std::string body;  // sent with Content-Type application/json unless a header says otherwise;
                     // the client's copies are wiped after sending (bodies may carry PINs)
};

/// One keep-alive HTTPS connection with blocking calls. Not thread-safe: one
/// caller at a time. Movable, not copyable (a copy would share the TLS session).
class HttpsClient {
 public:
  /// Prepares the TLS context (reads the PEM files) without connecting; the first
  /// request connects. kConfigInvalid for unreadable or mismatched files.
  static core::Result<HttpsClient> connect_to(const HttpsEndpoint& endpoint,
                                              const HttpsClientOptions& options);

  HttpsClient(HttpsClient&&) noexcept;
  HttpsClient& operator=(HttpsClient&&) noexcept;
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;
  ~HttpsClient();

  /// Sends one request and reads its response, (re)connecting first if needed:
  /// TCP connect + TLS handshake on the first call, then reusing the connection.
  /// A reused connection that the server had closed while idle is reopened once
  /// and the request resent (nothing of it was read). Errors: see the file comment;
  /// after an error the connection is closed and the next call reconnects.
  core::Result<HttpsResponse> request(const HttpsRequest& request);
  /// Shorthand for request({method, target, headers, body}).
  core::Result<HttpsResponse> request(
      std::string_view method, std::string_view target, std::string body = {},
      std::vector<std::pair<std::string, std::string>> headers = {});

  /// Sends one request and hands the response body to `on_body` piece by piece as it
  /// arrives (a chunked or long-lived response such as etcd's watch stream), whatever the
  /// status. Returns the response with status and headers (body empty) when the body ends,
  /// or when `on_body` returns false (the connection is then closed, since the rest of the
  /// body is unread). kRequestTimeout when no data arrives for `idle_timeout` (the
  /// connection is closed; the caller may re-issue the request); request_timeout bounds
  /// only the sending. Other errors as request(). Body bytes beyond kMaxResponseBodyBytes
  /// in total are fine here (a stream is unbounded); each piece handed over is at most
  /// 64 KiB and its bytes are valid only during the call. `on_body` runs on this thread.
  core::Result<HttpsResponse> stream(const HttpsRequest& request,
                                     std::chrono::milliseconds idle_timeout,
                                     const std::function<bool(std::string_view piece)>& on_body);

  /// Whether a connection is open now (it may still have been closed by the server).
  bool connected() const;
  /// How many TCP+TLS connections this client has opened so far (keep-alive check).
  std::size_t connections_opened() const;
  /// Closes the connection (TLS close_notify, bounded by connect_timeout). Idempotent.
  void close();

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Called once per submitted request, on the pool's I/O thread: keep it short.
using HttpsCompletion = std::function<void(core::Result<HttpsResponse>)>;

/// N keep-alive connections served by one I/O thread (asynchronous: one thread
/// drives them all). Requests queue until a connection is free. Thread-safe submit.
class HttpsConnectionPool {
 public:
  /// Upper bound on the pool size (file descriptors, TLS state ~50 KiB each).
  static constexpr std::size_t kMaxConnections = 1024;
  /// Upper bound on queued (not yet sent) requests; submit refuses beyond it.
  static constexpr std::size_t kMaxQueued = 1u << 20;

  /// Starts the I/O thread; connections open lazily as requests need them.
  /// kInvalidArgument for 0 or more than kMaxConnections; kConfigInvalid as HttpsClient.
  static core::Result<std::unique_ptr<HttpsConnectionPool>> start(const HttpsEndpoint& endpoint,
                                                                  const HttpsClientOptions& options,
                                                                  std::size_t connections);

  /// Queues a request; `done` runs on the I/O thread with the response or error
  /// (no resend on a broken connection except, as HttpsClient, an idle one closed
  /// by the server). False (and `done` is not called) if the queue is full or the
  /// pool is stopping. Cost: one post to the I/O thread.
  bool submit(HttpsRequest request, HttpsCompletion done);

  /// Requests submitted and not completed yet (queued + in flight).
  std::size_t outstanding() const;
  /// Connections opened so far (reconnections counted).
  std::size_t connections_opened() const;

  /// Fails every queued request (kIoError "pool stopped"), lets in-flight ones
  /// finish up to request_timeout, closes the connections and joins the thread.
  /// Idempotent; the destructor calls it.
  void stop();
  ~HttpsConnectionPool();

  HttpsConnectionPool(const HttpsConnectionPool&) = delete;
  HttpsConnectionPool& operator=(const HttpsConnectionPool&) = delete;

  struct Impl;

 private:
  explicit HttpsConnectionPool(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace medledger::net

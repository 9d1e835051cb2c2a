// net::HttpsClient::stream against a scripted TLS server on a loopback port: the server
// writes raw HTTP/1.1 bytes (chunked bodies, pauses, silence) that the api server cannot
// produce, over real TLS with the api tests' PKI.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api_test_support.h"
#include "medledger/net/https_client.h"

namespace medledger::net {
namespace {

using core::ErrorCode;
using namespace std::chrono_literals;

// A TLS server on 127.0.0.1 (free port) serving one connection at a time on its own
// thread. For each request it calls the handler with the request target and a writer
// of raw bytes; the handler returns whether to keep the connection for another request.
class ScriptedTlsServer {
 public:
  using Write = std::function<bool(const std::string& bytes)>;
  using Handler = std::function<bool(const std::string& target, const Write& write)>;

  ScriptedTlsServer(const api::testing::Pki& pki, Handler handler) : handler_(std::move(handler)) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx_, pki.server_chain.c_str()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, pki.server_key.c_str(), SSL_FILETYPE_PEM), 1);
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener_, 8), 0);
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedTlsServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept
    int connection = connection_.load();
    if (connection >= 0) ::shutdown(connection, SHUT_RDWR);  // wakes a blocked read
    thread_.join();
    ::close(listener_);
    SSL_CTX_free(ctx_);
  }
  ScriptedTlsServer(const ScriptedTlsServer&) = delete;
  ScriptedTlsServer& operator=(const ScriptedTlsServer&) = delete;

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void serve() {
    while (!stopping_) {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      connection_ = fd;
      if (stopping_) ::shutdown(fd, SHUT_RDWR);
      connections_.fetch_add(1);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) serve_requests(ssl);
      SSL_free(ssl);
      connection_ = -1;
      ::close(fd);
      ERR_clear_error();
    }
  }

  // Reads each request's head (the tests send no body) and runs the handler on it.
  void serve_requests(SSL* ssl) {
    Write write = [ssl](const std::string& bytes) {
      return SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())) > 0;
    };
    std::string pending;
    for (;;) {
      std::size_t end;
      while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        char buffer[4096];
        int n = SSL_read(ssl, buffer, sizeof buffer);
        if (n <= 0) return;  // the client closed (or the test ends)
        pending.append(buffer, static_cast<std::size_t>(n));
      }
      const std::string head = pending.substr(0, end);
      pending.erase(0, end + 4);
      const std::size_t target_begin = head.find(' ') + 1;
      const std::string target =
          head.substr(target_begin, head.find(' ', target_begin) - target_begin);
      if (!handler_(target, write)) return;
    }
  }

  Handler handler_;
  SSL_CTX* ctx_ = nullptr;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connection_{-1};
  std::atomic<int> connections_{0};
};

std::string chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

constexpr const char* kChunkedHead =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::size_t kMaxPiece = 64u << 10;

// GET /plain: a small complete response, so a test can check the connection after a stream.
bool answer_plain(const ScriptedTlsServer::Write& write) {
  return write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

class HttpsStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::signal(SIGPIPE, SIG_IGN);  // the server writes on after a client has gone
    pki_ = api::testing::Pki::create().release();
  }
  static void TearDownTestSuite() { delete pki_; }

  static HttpsClient client_for(const ScriptedTlsServer& server) {
    HttpsClientOptions options;
    options.ca_bundle = pki_->ca_pem;
    options.connect_timeout = 2000ms;
    options.request_timeout = 300ms;  // shorter than the streams: it bounds only the sending
    auto client = HttpsClient::connect_to({"127.0.0.1", server.port()}, options);
    EXPECT_TRUE(client.ok()) << client.error().to_string();
    return std::move(*client);
  }

  static api::testing::Pki* pki_;
};
api::testing::Pki* HttpsStreamTest::pki_ = nullptr;

TEST_F(HttpsStreamTest, ChunkedBodyArrivesInPiecesThatConcatenateToWhatTheServerSent) {
  // Small chunks spaced 100 ms (longer in total than request_timeout and than the idle
  // timeout), then one chunk larger than a piece.
  std::string sent;
  ScriptedTlsServer server(*pki_, [&](const std::string& target, const auto& write) {
    if (target == "/plain") return answer_plain(write);
    write(kChunkedHead);
    for (int i = 0; i < 8; ++i) {
      std::string event = "{\"event\":" + std::to_string(i) + "}\n";
      write(chunk(event));
      std::this_thread::sleep_for(100ms);
    }
    write(chunk(std::string(3 * kMaxPiece + 123, 'x')) + "0\r\n\r\n");
    return true;
  });
  for (int i = 0; i < 8; ++i) sent += "{\"event\":" + std::to_string(i) + "}\n";
  sent += std::string(3 * kMaxPiece + 123, 'x');

  HttpsClient client = client_for(server);
  std::string received;
  std::size_t pieces = 0;
  std::size_t largest = 0;
  auto response = client.stream({"POST", "/v3/watch", {}, "{}"}, 500ms, [&](std::string_view p) {
    received.append(p);
    ++pieces;
    largest = std::max(largest, p.size());
    return true;
  });
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(received, sent);
  EXPECT_GE(pieces, 8u + 4u);  // each event as it came, the big chunk in 64 KiB pieces
  EXPECT_LE(largest, kMaxPiece);

  // The completed stream leaves the connection reusable.
  auto plain = client.request("GET", "/plain");
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_EQ(plain->body, "ok");
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST_F(HttpsStreamTest, BodyBeyondTheResponseBodyLimitIsFineForAStream) {
  const std::string block(1u << 20, 'b');
  const std::size_t blocks = kMaxResponseBodyBytes / block.size() + 2;
  ScriptedTlsServer server(*pki_, [&](const std::string&, const auto& write) {
    write(kChunkedHead);
    for (std::size_t i = 0; i < blocks; ++i) write(chunk(block));
    write("0\r\n\r\n");
    return true;
  });
  HttpsClient client = client_for(server);
  std::size_t total = 0;
  bool all_b = true;
  auto response = client.stream({"GET", "/big", {}, {}}, 5000ms, [&](std::string_view p) {
    total += p.size();
    all_b = all_b && p.find_first_not_of('b') == std::string_view::npos;
    return true;
  });
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  EXPECT_GT(total, kMaxResponseBodyBytes);
  EXPECT_EQ(total, blocks * block.size());
  EXPECT_TRUE(all_b);
}

TEST_F(HttpsStreamTest, OnBodyFalseStopsEarlyAndTheNextRequestReconnects) {
  ScriptedTlsServer server(*pki_, [&](const std::string& target, const auto& write) {
    if (target == "/plain") return answer_plain(write);
    write(kChunkedHead);
    // An endless stream: events until the client goes away.
    for (int i = 0; i < 200 && write(chunk("{\"event\":1}\n")); ++i) {
      std::this_thread::sleep_for(20ms);
    }
    return true;
  });
  HttpsClient client = client_for(server);
  int calls = 0;
  auto response = client.stream({"POST", "/v3/watch", {}, "{}"}, 2000ms, [&](std::string_view) {
    ++calls;
    return false;
  });
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(client.connected());  // the rest of the body is unread

  auto plain = client.request("GET", "/plain");
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_EQ(plain->body, "ok");
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST_F(HttpsStreamTest, SilenceLongerThanTheIdleTimeoutIsRequestTimeoutWithinABoundedTime) {
  ScriptedTlsServer server(*pki_, [&](const std::string& target, const auto& write) {
    if (target == "/plain") return answer_plain(write);
    write(std::string(kChunkedHead) + chunk("{\"event\":1}\n"));
    return true;  // then silence: the server waits for a next request that never comes
  });
  HttpsClient client = client_for(server);
  std::string received;
  const auto started = std::chrono::steady_clock::now();
  auto response = client.stream({"POST", "/v3/watch", {}, "{}"}, 400ms, [&](std::string_view p) {
    received.append(p);
    return true;
  });
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kRequestTimeout) << response.error().to_string();
  EXPECT_EQ(received, "{\"event\":1}\n");
  EXPECT_GE(elapsed, 400ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_FALSE(client.connected());

  // The caller may re-issue: the client reconnects.
  auto plain = client.request("GET", "/plain");
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST_F(HttpsStreamTest, ErrorStatusIsAResponseAndItsBodyIsStreamed) {
  const std::string error = R"({"error":"not found","code":5})";
  ScriptedTlsServer server(*pki_, [&](const std::string&, const auto& write) {
    write("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: " +
          std::to_string(error.size()) + "\r\n\r\n" + error);
    return true;
  });
  HttpsClient client = client_for(server);
  std::string received;
  auto response = client.stream({"POST", "/v3/nothing", {}, "{}"}, 2000ms, [&](std::string_view p) {
    received.append(p);
    return true;
  });
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  EXPECT_EQ(response->status, 404);
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(received, error);
}

}  // namespace
}  // namespace medledger::net

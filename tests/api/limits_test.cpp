// Limits and faults: slow clients, idle connections, the connection limit and a
// graceful stop on SIGTERM. Timeouts are shortened by the config so that every
// test ends in a few seconds.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "api_test_support.h"

namespace medledger::api {
namespace {

using namespace std::chrono_literals;
using testing::curl;
using testing::Pki;
using testing::RawTlsClient;

// The client sees the close a moment before the server's handler counts it.
double eventually(const std::function<double()>& read, double expected) {
  for (int i = 0; i < 100 && read() != expected; ++i) std::this_thread::sleep_for(5ms);
  return read();
}

class LimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = Pki::create().release(); }
  static void TearDownTestSuite() { delete pki_; }
  static Pki* pki_;
};
Pki* LimitsTest::pki_ = nullptr;

TEST_F(LimitsTest, SlowClientSendingHeadersByteByByteIsDisconnectedAfterTheHeaderTimeout) {
  testing::TestServerOptions options;
  options.tweak_config = [](ServerConfig& c) { c.limits.header_timeout = 1000ms; };
  auto server = testing::start_server(*pki_, options);
  RawTlsClient client;
  ASSERT_TRUE(client.connect(*pki_, server->port()));
  const std::string request =
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(200, 'a') + "\r\n\r\n";
  const auto started = std::chrono::steady_clock::now();
  std::size_t sent = 0;
  bool closed = false;
  // One byte every 250 ms: the whole header would take over 50 s.
  while (sent < request.size() && std::chrono::steady_clock::now() - started < 6s) {
    if (!client.send(request.substr(sent, 1))) {
      closed = true;
      break;
    }
    ++sent;
    if (client.closed_within(250)) {
      closed = true;
      break;
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(closed);
  EXPECT_LT(sent, request.size());
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_EQ(
      eventually(
          [&] {
            return server->metrics->value(metric::kConnectionsTimedOut, {{"phase", "header"}});
          },
          1),
      1);
}

TEST_F(LimitsTest, IdleConnectionIsClosedAfterTheIdleTimeout) {
  testing::TestServerOptions options;
  options.tweak_config = [](ServerConfig& c) { c.limits.idle_timeout = 500ms; };
  auto server = testing::start_server(*pki_, options);
  RawTlsClient client;
  ASSERT_TRUE(client.connect(*pki_, server->port()));
  EXPECT_FALSE(client.closed_within(200));
  EXPECT_TRUE(client.closed_within(2000));
  EXPECT_EQ(eventually(
                [&] {
                  return server->metrics->value(metric::kConnectionsTimedOut, {{"phase", "idle"}});
                },
                1),
            1);
}

TEST_F(LimitsTest, KeepAliveConnectionServesSeveralRequests) {
  auto server = testing::start_server(*pki_);
  RawTlsClient client;
  ASSERT_TRUE(client.connect(*pki_, server->port(), testing::kDoctor));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send("GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string response = client.read_all(300);
    EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
    EXPECT_NE(response.find("\"id\":\"dr-1\""), std::string::npos);
  }
}

TEST_F(LimitsTest, ConnectionsBeyondTheLimitAreRefused) {
  testing::TestServerOptions options;
  options.tweak_config = [](ServerConfig& c) { c.limits.max_connections = 2; };
  auto server = testing::start_server(*pki_, options);
  auto first = std::make_unique<RawTlsClient>();
  RawTlsClient second;
  ASSERT_TRUE(first->connect(*pki_, server->port()));
  ASSERT_TRUE(second.connect(*pki_, server->port()));
  RawTlsClient third;
  EXPECT_FALSE(third.connect(*pki_, server->port()));
  EXPECT_EQ(server->metrics->value(metric::kConnectionsRefused), 1);
  // A slot frees when a connection ends.
  first.reset();
  bool admitted = false;
  for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
    RawTlsClient again;
    admitted = again.connect(*pki_, server->port());
    if (!admitted) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(admitted);
}

TEST_F(LimitsTest, OversizedHeadersAre431) {
  auto server = testing::start_server(*pki_);
  auto result = curl(*pki_, server->port(), "/healthz", "",
                     "-H 'X-Big: " + std::string(kMaxHeaderBytes + 100, 'b') + "'");
  EXPECT_EQ(result.status, 431);
  EXPECT_NE(result.body.find("HEADERS_TOO_LARGE"), std::string::npos);
}

TEST_F(LimitsTest, MalformedHttpIs400) {
  auto server = testing::start_server(*pki_);
  RawTlsClient client;
  ASSERT_TRUE(client.connect(*pki_, server->port()));
  ASSERT_TRUE(client.send("GET /healthz HTTP/1.1\r\nBad Header Without Colon\r\n\r\n"));
  std::string response = client.read_all(2000);
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
  EXPECT_NE(response.find("INVALID_ARGUMENT"), std::string::npos);
}

// SIGTERM during a request: the request completes, the listener closes, the
// drain hook runs after it, and wait() returns.
TEST_F(LimitsTest, SigtermFinishesTheInFlightRequestThenStops) {
  std::atomic<bool> handler_started{false};
  std::atomic<bool> handler_finished{false};
  std::atomic<bool> drained_after_finish{false};
  testing::TestServerOptions options;
  options.handle_signals = true;
  options.extra_routes = [&](Router& router) {
    Route slow;
    slow.method = Method::kGet;
    slow.pattern = "/v1/test/slow";
    slow.handler = [&](const Request&, const Principal*) -> core::Result<Response> {
      handler_started = true;
      std::this_thread::sleep_for(1000ms);
      handler_finished = true;
      return json_response(boost::json::object{{"done", true}});
    };
    ASSERT_TRUE(router.add(std::move(slow)).ok());
  };
  options.on_drain = [&] { drained_after_finish = handler_finished.load(); };
  auto server = testing::start_server(*pki_, options);
  const auto port = server->port();

  testing::HttpResult in_flight;
  std::thread client([&] { in_flight = curl(*pki_, port, "/v1/test/slow", testing::kNode); });
  for (int i = 0; i < 500 && !handler_started; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(handler_started);
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  server->server->wait();
  client.join();

  EXPECT_EQ(in_flight.status, 200);
  EXPECT_EQ(in_flight.body, "{\"done\":true}");
  EXPECT_TRUE(drained_after_finish);
  EXPECT_TRUE(server->server->stopping());
  auto after = curl(*pki_, port, "/healthz");
  EXPECT_EQ(after.status, 0);
  EXPECT_EQ(after.curl_exit, 7);  // connection refused: nothing listens any more
}

TEST_F(LimitsTest, StopClosesIdleKeepAliveConnections) {
  auto server = testing::start_server(*pki_);
  RawTlsClient client;
  ASSERT_TRUE(client.connect(*pki_, server->port()));
  const auto started = std::chrono::steady_clock::now();
  server->server->stop();
  server->server->wait();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);  // idle timeout is 3 s
  EXPECT_TRUE(client.closed_within(500));
}

}  // namespace
}  // namespace medledger::api

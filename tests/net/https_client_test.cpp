// net::HttpsClient and net::HttpsConnectionPool against the api server on an
// ephemeral loopback port (tests/api support PKI), and against sockets that
// refuse or never answer.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/json/parse.hpp>

#include <openssl/pem.h>

#include "api_test_support.h"
#include "medledger/net/https_client.h"
#include "medledger/core/openssl.h"

namespace medledger::api {
namespace {

using core::ErrorCode;
using net::HttpsClient;
using net::HttpsClientOptions;
using net::HttpsConnectionPool;
using net::HttpsResponse;
using net::parse_https_url;
using testing::Pki;

// A loopback TCP socket: listening (the kernel completes TCP handshakes but nobody
// ever answers) or bound only (connections are refused).
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    if (listening) {
      EXPECT_EQ(::listen(fd_, 8), 0);
    }
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~LoopbackSocket() { ::close(fd_); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

std::string json_string(const std::string& body, const char* member) {
  auto value = boost::json::parse(body);
  return std::string(value.at(member).as_string());
}

// GET /v1/test/slow: answers after kSlowRouteDelay (for request timeouts).
constexpr std::chrono::milliseconds kSlowRouteDelay{1500};
void add_test_routes(Router& router) {
  Route slow;
  slow.method = Method::kGet;
  slow.pattern = "/v1/test/slow";
  slow.access = Access::any_role();
  slow.handler = [](const Request&, const Principal*) -> core::Result<Response> {
    std::this_thread::sleep_for(kSlowRouteDelay);
    return json_response(boost::json::object{{"slow", true}});
  };
  ASSERT_TRUE(router.add(std::move(slow)).ok());
  Route echo;
  echo.method = Method::kPost;
  echo.pattern = "/v1/test/echo";
  echo.access = Access::any_role();
  echo.handler = [](const Request& request, const Principal*) -> core::Result<Response> {
    auto object = parse_json_object(request);
    if (!object) return object.error();
    return json_response(*object);
  };
  ASSERT_TRUE(router.add(std::move(echo)).ok());
}

class HttpsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = Pki::create().release(); }
  static void TearDownTestSuite() { delete pki_; }

  HttpsClientOptions options_for(const std::string& client) const {
    HttpsClientOptions options;
    options.ca_bundle = pki_->ca_pem;
    if (!client.empty()) {
      options.client_certificate = pki_->cert(client);
      options.client_key = pki_->key(client);
    }
    options.connect_timeout = std::chrono::milliseconds(2000);
    options.request_timeout = std::chrono::milliseconds(5000);
    return options;
  }

  std::unique_ptr<testing::TestServer> start(std::function<void(ServerConfig&)> tweak = {}) {
    testing::TestServerOptions options;
    options.extra_routes = add_test_routes;
    options.tweak_config = std::move(tweak);
    return testing::start_server(*pki_, options);
  }

  static HttpsClient client_for(std::uint16_t port, const HttpsClientOptions& options,
                                const std::string& host = "127.0.0.1") {
    auto client = HttpsClient::connect_to({host, port}, options);
    EXPECT_TRUE(client.ok()) << client.error().to_string();
    return std::move(*client);
  }

  static Pki* pki_;
};
Pki* HttpsClientTest::pki_ = nullptr;

TEST_F(HttpsClientTest, RequestsReuseOneKeptAliveConnectionAndCarryTheClientCertificate) {
  auto server = start();
  auto client = client_for(server->port(), options_for(testing::kDoctor));
  for (int i = 0; i < 3; ++i) {
    auto reply = client.request("GET", "/v1/whoami");
    ASSERT_TRUE(reply.ok()) << reply.error().to_string();
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(json_string(reply->body, "id"), testing::kDoctor);
    EXPECT_TRUE(reply->header("content-type").has_value());
  }
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_TRUE(client.connected());
  client.close();
  EXPECT_FALSE(client.connected());
}

TEST_F(HttpsClientTest, HostNameLocalhostMatchesTheServerCertificateDnsName) {
  auto server = start();
  auto client = client_for(server->port(), options_for(""), "localhost");
  auto reply = client.request("GET", "/healthz");
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(reply->status, 200);
}

TEST_F(HttpsClientTest, HttpErrorStatusIsAResponseNotAClientError) {
  auto server = start();
  auto client = client_for(server->port(), options_for(""));
  auto reply = client.request("GET", "/v1/whoami");
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(reply->status, 401);
  EXPECT_NE(reply->body.find("CLIENT_CERTIFICATE_REQUIRED"), std::string::npos);
}

TEST_F(HttpsClientTest, PostSendsTheBodyAsJson) {
  auto server = start();
  auto client = client_for(server->port(), options_for(testing::kNode));
  auto reply = client.request("POST", "/v1/test/echo", R"({"hello":"world"})");
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  ASSERT_EQ(reply->status, 200) << reply->body;
  EXPECT_EQ(json_string(reply->body, "hello"), "world");
}

TEST_F(HttpsClientTest, ClientKeyAsAnEvpPkeyObjectAuthenticates) {
  auto server = start();
  core::BioPtr bio(BIO_new_file(pki_->key(testing::kAuditor).c_str(), "r"));
  ASSERT_TRUE(bio);
  core::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(key);
  HttpsClientOptions options = options_for("");
  options.client_certificate = pki_->cert(testing::kAuditor);
  options.client_key_object = key.get();
  auto client = client_for(server->port(), options);
  key.reset();  // the client holds its own reference
  auto reply = client.request("GET", "/v1/whoami");
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(json_string(reply->body, "id"), testing::kAuditor);
}

TEST_F(HttpsClientTest, ServerClosingAnIdleConnectionIsReopenedOnce) {
  auto server = start(
      [](ServerConfig& config) { config.limits.idle_timeout = std::chrono::milliseconds(200); });
  auto client = client_for(server->port(), options_for(testing::kDoctor));
  ASSERT_TRUE(client.request("GET", "/v1/whoami").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the server's idle timeout
  auto reply = client.request("GET", "/v1/whoami");
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST_F(HttpsClientTest, NothingListeningIsConnectionRefused) {
  LoopbackSocket bound_only(false);
  auto client = client_for(bound_only.port(), options_for(""));
  auto reply = client.request("GET", "/healthz");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kConnectionRefused) << reply.error().to_string();
  EXPECT_FALSE(client.connected());
}

TEST_F(HttpsClientTest, ServerNotChainingToTheCaBundleIsTlsHandshakeFailed) {
  auto server = start();
  HttpsClientOptions options = options_for("");
  options.ca_bundle = pki_->foreign_ca_pem;
  auto client = client_for(server->port(), options);
  auto reply = client.request("GET", "/healthz");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kTlsHandshakeFailed);
  EXPECT_NE(reply.error().message.find("server certificate"), std::string::npos)
      << reply.error().message;
}

TEST_F(HttpsClientTest, ServerCertificateWithoutTheExpectedNameIsTlsHandshakeFailed) {
  auto server = start();
  HttpsClientOptions options = options_for("");
  options.server_name = "other-node.example";  // the certificate names 127.0.0.1 and localhost
  auto client = client_for(server->port(), options);
  auto reply = client.request("GET", "/healthz");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kTlsHandshakeFailed);
  EXPECT_NE(reply.error().message.find("mismatch"), std::string::npos) << reply.error().message;
}

TEST_F(HttpsClientTest, UnresolvableHostIsConnectionRefused) {
  auto client = client_for(1, options_for(""), "no-such-host.invalid");
  auto reply = client.request("GET", "/healthz");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kConnectionRefused);
}

TEST_F(HttpsClientTest, SilentServerIsRequestTimeoutWithinTheConnectTimeout) {
  LoopbackSocket silent(true);
  HttpsClientOptions options = options_for("");
  options.connect_timeout = std::chrono::milliseconds(200);
  auto client = client_for(silent.port(), options);
  auto reply = client.request("GET", "/healthz");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kRequestTimeout);
  EXPECT_NE(reply.error().message.find("TLS handshake"), std::string::npos)
      << reply.error().message;
}

TEST_F(HttpsClientTest, SlowResponseIsRequestTimeoutAndTheNextRequestReconnects) {
  auto server = start();
  HttpsClientOptions options = options_for(testing::kDoctor);
  options.request_timeout = std::chrono::milliseconds(300);
  auto client = client_for(server->port(), options);
  auto slow = client.request("GET", "/v1/test/slow");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, ErrorCode::kRequestTimeout);
  auto next = client.request("GET", "/v1/whoami");
  ASSERT_TRUE(next.ok()) << next.error().to_string();
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST_F(HttpsClientTest, UnreadableOrMismatchedFilesAreConfigInvalid) {
  HttpsClientOptions missing_ca = options_for("");
  missing_ca.ca_bundle = pki_->dir.path() / "no-such-ca.pem";
  auto a = HttpsClient::connect_to({"127.0.0.1", 1}, missing_ca);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::kConfigInvalid);

  HttpsClientOptions mismatched = options_for(testing::kDoctor);
  mismatched.client_key = pki_->key(testing::kPatient);
  auto b = HttpsClient::connect_to({"127.0.0.1", 1}, mismatched);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kConfigInvalid);

  HttpsClientOptions key_only = options_for("");
  key_only.client_key = pki_->key(testing::kPatient);
  auto c = HttpsClient::connect_to({"127.0.0.1", 1}, key_only);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kConfigInvalid);
}

TEST(HttpsUrl, ParsesHostAndPortAndRefusesAnythingElse) {
  auto plain = parse_https_url("https://127.0.0.1:8443");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 8443);
  auto default_port = parse_https_url("https://node.example/");
  ASSERT_TRUE(default_port.ok());
  EXPECT_EQ(default_port->port, 443);
  auto v6 = parse_https_url("https://[::1]:9000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
  for (const char* bad : {"http://127.0.0.1:80", "https://", "https://h:0", "https://h:70000",
                          "https://h:8x", "https://h:1/v1", "https://u@h:1", "https://h:"}) {
    auto result = parse_https_url(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

// Waits until `expected` completions have been counted.
struct Completions {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<core::Result<HttpsResponse>> results;
  void add(core::Result<HttpsResponse> result) {
    std::lock_guard lock(mutex);
    results.push_back(std::move(result));
    changed.notify_all();
  }
  bool wait_for(std::size_t expected) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(20),
                            [&] { return results.size() >= expected; });
  }
};

TEST_F(HttpsClientTest, PoolServesManyRequestsOverAtMostItsConnections) {
  auto server = start();
  constexpr std::size_t kConnections = 4;
  constexpr std::size_t kRequests = 64;
  auto pool = HttpsConnectionPool::start({"127.0.0.1", server->port()}, options_for(testing::kNode),
                                         kConnections);
  ASSERT_TRUE(pool.ok()) << pool.error().to_string();
  Completions completions;
  for (std::size_t i = 0; i < kRequests; ++i) {
    ASSERT_TRUE((*pool)->submit({"GET", "/v1/whoami", {}, {}}, [&](core::Result<HttpsResponse> r) {
      completions.add(std::move(r));
    }));
  }
  ASSERT_TRUE(completions.wait_for(kRequests));
  for (auto& result : completions.results) {
    ASSERT_TRUE(result.ok()) << result.error().to_string();
    EXPECT_EQ(result->status, 200);
  }
  EXPECT_EQ((*pool)->outstanding(), 0u);
  EXPECT_GE((*pool)->connections_opened(), 1u);
  EXPECT_LE((*pool)->connections_opened(), kConnections);
  (*pool)->stop();
  EXPECT_FALSE(
      (*pool)->submit({"GET", "/healthz", {}, {}}, [](core::Result<HttpsResponse>) { FAIL(); }));
}

TEST_F(HttpsClientTest, PoolStopFailsQueuedRequestsAndFinishesTheOneInFlight) {
  auto server = start();
  auto pool =
      HttpsConnectionPool::start({"127.0.0.1", server->port()}, options_for(testing::kNode), 1);
  ASSERT_TRUE(pool.ok()) << pool.error().to_string();
  Completions completions;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        (*pool)->submit({"GET", "/v1/test/slow", {}, {}},
                        [&](core::Result<HttpsResponse> r) { completions.add(std::move(r)); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the first is in flight
  (*pool)->stop();
  ASSERT_EQ(completions.results.size(), 3u);
  int ok = 0, stopped = 0;
  for (auto& result : completions.results) {
    if (result.ok()) {
      ++ok;
      EXPECT_EQ(result->status, 200);
    } else {
      ++stopped;
      EXPECT_EQ(result.error().code, ErrorCode::kIoError);
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(stopped, 2);
}

TEST_F(HttpsClientTest, PoolRefusesZeroOrTooManyConnections) {
  auto zero = HttpsConnectionPool::start({"127.0.0.1", 1}, options_for(""), 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
  auto many = HttpsConnectionPool::start({"127.0.0.1", 1}, options_for(""),
                                         HttpsConnectionPool::kMaxConnections + 1);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(HttpsClientTest, PoolReportsConnectionRefusedPerRequest) {
  LoopbackSocket bound_only(false);
  auto pool = HttpsConnectionPool::start({"127.0.0.1", bound_only.port()}, options_for(""), 2);
  ASSERT_TRUE(pool.ok());
  Completions completions;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE((*pool)->submit({"GET", "/healthz", {}, {}}, [&](core::Result<HttpsResponse> r) {
      completions.add(std::move(r));
    }));
  }
  ASSERT_TRUE(completions.wait_for(4));
  for (auto& result : completions.results) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::kConnectionRefused);
  }
}

}  // namespace
}  // namespace medledger::api

// The real server on an ephemeral loopback port, driven by curl with real
// client certificates made by the ca library.
#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>

#include <boost/json/parse.hpp>

#include <openssl/ssl.h>

#include "api_test_support.h"
#include "medledger/api/client_auth.h"
#include "medledger/api/tls.h"

namespace medledger::api {
namespace {

using testing::curl;
using testing::Pki;

boost::json::value parse(const std::string& body) {
  boost::json::error_code ec;
  auto value = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  return value;
}

std::string error_code_of(const std::string& body) {
  auto value = parse(body);
  if (!value.is_object() || !value.as_object().contains("error")) return "";
  return std::string(value.at("error").at("code").as_string());
}

// A POST route that echoes a JSON object: exercises body parsing.
void add_echo_route(Router& router) {
  Route route;
  route.method = Method::kPost;
  route.pattern = "/v1/test/echo";
  route.access = Access::any_role();
  route.handler = [](const Request& request, const Principal*) -> core::Result<Response> {
    auto object = parse_json_object(request);
    if (!object) return object.error();
    return json_response(*object);
  };
  ASSERT_TRUE(router.add(std::move(route)).ok());
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = Pki::create().release(); }
  static void TearDownTestSuite() { delete pki_; }
  static Pki* pki_;
};
Pki* ServerTest::pki_ = nullptr;

TEST_F(ServerTest, HealthzAnswersWithoutClientCertificate) {
  auto server = testing::start_server(*pki_);
  auto result = curl(*pki_, server->port(), "/healthz");
  ASSERT_EQ(result.curl_exit, 0);
  EXPECT_EQ(result.status, 200);
  auto body = parse(result.body);
  EXPECT_EQ(body.at("status").as_string(), "ok");
  EXPECT_EQ(body.at("checks").at("token").at("status").as_string(), "not_configured");
}

TEST_F(ServerTest, HealthzIs503WithTheFailingCheckNamed) {
  testing::TestServerOptions options;
  options.probes.token = [] {
    return core::Result<boost::json::object>(
        core::make_error(core::ErrorCode::kTokenUnavailable, "gone"));
  };
  options.probes.ledger = [] {
    return core::Result<boost::json::object>(boost::json::object{{"height", 7}});
  };
  auto server = testing::start_server(*pki_, options);
  auto result = curl(*pki_, server->port(), "/healthz");
  EXPECT_EQ(result.status, 503);
  auto body = parse(result.body);
  EXPECT_EQ(body.at("status").as_string(), "unavailable");
  EXPECT_EQ(body.at("checks").at("token").at("code").as_string(), "TOKEN_UNAVAILABLE");
  EXPECT_EQ(body.at("checks").at("ledger").at("status").as_string(), "ok");
}

TEST_F(ServerTest, WhoamiWithoutClientCertificateIs401) {
  auto server = testing::start_server(*pki_);
  auto result = curl(*pki_, server->port(), "/v1/whoami");
  EXPECT_EQ(result.status, 401);
  EXPECT_EQ(error_code_of(result.body), "CLIENT_CERTIFICATE_REQUIRED");
}

TEST_F(ServerTest, UnknownPathsAreToldOnlyToAuthenticatedCallers) {
  auto server = testing::start_server(*pki_);
  // Without a certificate (or with an untrusted one) a path that does not exist
  // answers as one that does: the route table is not probed anonymously.
  auto anonymous = curl(*pki_, server->port(), "/v1/no-such-route");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  EXPECT_NE(anonymous.body.find("CLIENT_CERTIFICATE_REQUIRED"), std::string::npos)
      << anonymous.body;
  auto foreign = curl(*pki_, server->port(), "/v1/no-such-route", testing::kForeignDoctor);
  EXPECT_EQ(foreign.status, 401) << foreign.body;
  auto wrong_method = curl(*pki_, server->port(), "/v1/whoami", "", "-X DELETE");
  EXPECT_EQ(wrong_method.status, 401) << wrong_method.body;
  // An authenticated caller learns 404 / 405; the public /healthz path says 405 to anyone.
  auto known = curl(*pki_, server->port(), "/v1/no-such-route", testing::kAuditor);
  EXPECT_EQ(known.status, 404) << known.body;
  EXPECT_NE(known.body.find("ROUTE_NOT_FOUND"), std::string::npos) << known.body;
  EXPECT_EQ(curl(*pki_, server->port(), "/v1/whoami", testing::kAuditor, "-X DELETE").status, 405);
  EXPECT_EQ(curl(*pki_, server->port(), "/healthz", "", "-X POST").status, 405);
}

TEST_F(ServerTest, WhoamiWithValidCertificateReturnsThePrincipal) {
  auto server = testing::start_server(*pki_);
  auto result = curl(*pki_, server->port(), "/v1/whoami", testing::kDoctor);
  ASSERT_EQ(result.status, 200) << result.body;
  auto body = parse(result.body);
  EXPECT_EQ(body.at("role").as_string(), "doctor");
  EXPECT_EQ(body.at("id").as_string(), "dr-1");
  EXPECT_EQ(body.at("hospital").as_string(), "hospital-a");
  EXPECT_EQ(body.at("fingerprint").as_string().size(), 64u);
}

TEST_F(ServerTest, RevokedCertificateIsRefusedWithCertificateRevoked) {
  auto server = testing::start_server(*pki_);
  auto result = curl(*pki_, server->port(), "/v1/whoami", testing::kRevokedDoctor);
  EXPECT_EQ(result.status, 401);
  EXPECT_EQ(error_code_of(result.body), "CERTIFICATE_REVOKED");
}

TEST_F(ServerTest, CertificateFromForeignCaIsRefusedAsUntrusted) {
  auto server = testing::start_server(*pki_);
  auto result = curl(*pki_, server->port(), "/v1/whoami", testing::kForeignDoctor);
  EXPECT_EQ(result.status, 401);
  EXPECT_EQ(error_code_of(result.body), "CERTIFICATE_UNTRUSTED");
}

TEST_F(ServerTest, RoleOutsideTheRouteIsForbidden) {
  auto server = testing::start_server(*pki_);
  auto result = curl(*pki_, server->port(), "/metrics", testing::kPatient);
  EXPECT_EQ(result.status, 403);
  EXPECT_EQ(error_code_of(result.body), "ROLE_FORBIDDEN");
}

TEST_F(ServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  auto server = testing::start_server(*pki_);
  auto missing = curl(*pki_, server->port(), "/v1/nothing-here", testing::kAdmin);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(error_code_of(missing.body), "ROUTE_NOT_FOUND");
  auto wrong = curl(*pki_, server->port(), "/v1/whoami", testing::kAdmin, "-X DELETE");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(error_code_of(wrong.body), "METHOD_NOT_ALLOWED");
  auto allow =
      curl(*pki_, server->port(), "/v1/whoami", testing::kAdmin, "-X DELETE -o /dev/null -D -");
  EXPECT_NE(allow.body.find("Allow: GET"), std::string::npos) << allow.body;
}

TEST_F(ServerTest, MalformedJsonIs400JsonMalformed) {
  testing::TestServerOptions options;
  options.extra_routes = add_echo_route;
  auto server = testing::start_server(*pki_, options);
  auto bad = curl(*pki_, server->port(), "/v1/test/echo", testing::kDoctor,
                  "-H 'Content-Type: application/json' --data-binary '{\"a\": [1, 2'");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_code_of(bad.body), "JSON_MALFORMED");
  auto not_object =
      curl(*pki_, server->port(), "/v1/test/echo", testing::kDoctor, "--data-binary '[1]'");
  EXPECT_EQ(not_object.status, 400);
  EXPECT_EQ(error_code_of(not_object.body), "INVALID_ARGUMENT");
  auto good = curl(*pki_, server->port(), "/v1/test/echo", testing::kDoctor,
                   "--data-binary '{\"a\":[1,2]}'");
  EXPECT_EQ(good.status, 200);
  EXPECT_EQ(good.body, "{\"a\":[1,2]}");
}

TEST_F(ServerTest, OversizedBodyIs413BodyTooLarge) {
  testing::TestServerOptions options;
  options.extra_routes = add_echo_route;
  options.tweak_config = [](ServerConfig& c) { c.limits.max_body_bytes = 1024; };
  auto server = testing::start_server(*pki_, options);
  auto file = pki_->dir.write("big.json", "{\"pad\":\"" + std::string(4096, 'x') + "\"}");
  auto result = curl(*pki_, server->port(), "/v1/test/echo", testing::kDoctor,
                     "--data-binary @" + file.string());
  EXPECT_EQ(result.status, 413);
  EXPECT_EQ(error_code_of(result.body), "BODY_TOO_LARGE");
  // Just under the limit is fine.
  auto fits = pki_->dir.write("fits.json", "{\"pad\":\"" + std::string(1000, 'x') + "\"}");
  EXPECT_EQ(curl(*pki_, server->port(), "/v1/test/echo", testing::kDoctor,
                 "--data-binary @" + fits.string())
                .status,
            200);
}

TEST_F(ServerTest, EightConcurrentClientsAllGetTheirOwnPrincipal) {
  auto server = testing::start_server(*pki_);
  const std::vector<std::string> clients{testing::kAdmin,   testing::kDoctor, testing::kPatient,
                                         testing::kAuditor, testing::kNode,   testing::kAdmin,
                                         testing::kDoctor,  testing::kPatient};
  std::vector<testing::HttpResult> results(clients.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = curl(*pki_, server->port(), "/v1/whoami", clients[i]); });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t i = 0; i < clients.size(); ++i) {
    ASSERT_EQ(results[i].status, 200) << clients[i];
    EXPECT_EQ(parse(results[i].body).at("id").as_string(), clients[i]);
  }
}

TEST_F(ServerTest, MetricsAreValidPrometheusTextWithRequestCounts) {
  auto server = testing::start_server(*pki_);
  ASSERT_EQ(curl(*pki_, server->port(), "/healthz").status, 200);
  ASSERT_EQ(curl(*pki_, server->port(), "/v1/whoami").status, 401);
  auto result = curl(*pki_, server->port(), "/metrics", testing::kAuditor);
  ASSERT_EQ(result.status, 200);
  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::istringstream lines(result.body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("#", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, comment)) << line;
    } else {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
      ++samples;
    }
  }
  EXPECT_GT(samples, 10);
  EXPECT_NE(result.body.find(
                R"(medledger_http_requests_total{method="GET",route="/healthz",status="200"} 1)"),
            std::string::npos);
  EXPECT_NE(
      result.body.find(R"(medledger_http_errors_total{code="CLIENT_CERTIFICATE_REQUIRED"} 1)"),
      std::string::npos);
  EXPECT_NE(result.body.find(
                "medledger_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(result.body.find("medledger_ledger_commits_total 0"), std::string::npos);
  EXPECT_NE(result.body.find("medledger_http_requests_in_flight 1"),
            std::string::npos);  // this request
}

// The TLS key used only through core::Signer (as with a key in the token): every
// handshake signature goes through sign_digest.
TEST_F(ServerTest, TlsKeyBehindASignerSignsEveryHandshake) {
  struct CountingSigner final : core::Signer {
    explicit CountingSigner(std::shared_ptr<core::Signer> inner) : inner_(std::move(inner)) {}
    core::Result<core::Bytes> sign_digest(const core::Digest& digest) override {
      ++signatures;
      return inner_->sign_digest(digest);
    }
    const core::Bytes& public_key_spki() const override { return inner_->public_key_spki(); }
    core::KeyAlgorithm algorithm() const override { return inner_->algorithm(); }
    std::shared_ptr<core::Signer> inner_;
    std::atomic<int> signatures{0};
  };
  auto counting = std::make_shared<CountingSigner>(pki_->server_signer);
  auto key = std::make_shared<SignerTlsKey>(counting);
  auto tls = make_tls_context(pki_->server_chain, key);
  ASSERT_TRUE(tls.ok()) << tls.error().to_string();

  auto metrics = std::make_shared<MetricsRegistry>();
  auto router = std::make_shared<Router>();
  ASSERT_TRUE(add_appliance_routes(*router, {{}, metrics}).ok());
  ServerParts parts;
  parts.tls = *tls;
  parts.router = router;
  parts.authenticator = std::make_shared<ChainValidatingAuthenticator>([] { return nullptr; });
  parts.metrics = metrics;
  auto server = Server::start(testing::test_config(*pki_), std::move(parts));
  ASSERT_TRUE(server.ok()) << server.error().to_string();

  EXPECT_EQ(curl(*pki_, (*server)->port(), "/healthz").status, 200);  // TLS 1.3
  EXPECT_EQ(curl(*pki_, (*server)->port(), "/healthz", "", "--tlsv1.2 --tls-max 1.2").status,
            200);  // TLS 1.2
  EXPECT_EQ(counting->signatures.load(), 2);
}

TEST_F(ServerTest, SignerTlsKeyMustBeP256) {
  auto ed25519 = core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(ed25519.ok());
  auto tls =
      make_tls_context(pki_->server_chain, std::make_shared<SignerTlsKey>(std::move(*ed25519)));
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, core::ErrorCode::kUnsupportedAlgorithm);
}

TEST_F(ServerTest, PemKeyThatDoesNotMatchTheCertificateIsRefused) {
  // The CA's certificate with the node's key: a mismatch.
  auto tls = make_tls_context(pki_->ca_pem, std::make_shared<PemFileTlsKey>(pki_->server_key));
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, core::ErrorCode::kConfigInvalid);
}

TEST_F(ServerTest, Tls11IsRefusedAndTls12Accepted) {
  auto server = testing::start_server(*pki_);
  testing::RawTlsClient tls11;
  EXPECT_FALSE(tls11.connect(*pki_, server->port(), "", TLS1_1_VERSION));
  testing::RawTlsClient tls12;
  EXPECT_TRUE(tls12.connect(*pki_, server->port(), "", TLS1_2_VERSION));
}

}  // namespace
}  // namespace medledger::api

// The authorisation matrix: every route the router serves (the table `serve`
// builds, enumerated from Router::routes(), not a hand list) x every caller
// (each certificate role, no certificate, a foreign CA's certificate, a revoked
// one), over TLS against the real server, with the C++ HTTPS client. Each answer
// must be exactly what the route's declared Access says: refused by
// authentication (401), refused by role (403 ROLE_FORBIDDEN), or past
// authentication (any status but 401/403).
#include <gtest/gtest.h>

#include <map>
#include <optional>

#include <boost/json/parse.hpp>

#include "api_test_support.h"
#include "medledger/net/https_client.h"
#include "medledger/api/node_routes.h"

namespace medledger::api {
namespace {

// A caller of the matrix: a certificate of the test PKI (empty: none) and, for a
// valid one, its role.
struct Caller {
  std::string name;
  std::string certificate;       // Pki file stem; empty: no client certificate
  std::optional<ca::Role> role;  // nullopt: must fail authentication
};

std::string pki_certificate_of(ca::Role role) {
  switch (role) {
    case ca::Role::kAdmin:
      return testing::kAdmin;
    case ca::Role::kDoctor:
      return testing::kDoctor;
    case ca::Role::kPatient:
      return testing::kPatient;
    case ca::Role::kAuditor:
      return testing::kAuditor;
    case ca::Role::kNode:
      return testing::kNode;
  }
  return "";
}

// "/v1/records/{id}/read" -> "/v1/records/1/read": any value reaches the route.
std::string concrete_path(const std::string& pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      out += '1';
      i = pattern.find('}', i);
    } else {
      out += pattern[i];
    }
  }
  return out;
}

std::string error_code_of(const std::string& body) {
  boost::json::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object() || !value.as_object().contains("error")) return "";
  return std::string(value.at("error").at("code").as_string());
}

TEST(AuthorizationMatrix, EveryRouteTimesEveryCallerAnswersAsItsAccessDeclares) {
  auto pki = testing::Pki::create();
  // The table `medledger serve` serves (infrastructure-only: node routes answer 503
  // after authentication, which is all this test looks at).
  auto probe_router = std::make_shared<Router>();
  ASSERT_TRUE(
      add_appliance_routes(*probe_router, {{}, std::make_shared<MetricsRegistry>()}, nullptr).ok());
  const std::vector<Route> routes = probe_router->routes();
  ASSERT_GE(routes.size(), 10u);
  auto server = testing::start_server(*pki);

  std::vector<Caller> callers;
  for (const auto& profile : ca::all_profiles()) {
    const std::string certificate = pki_certificate_of(profile.role);
    ASSERT_FALSE(certificate.empty())
        << "no test certificate for role " << ca::role_name(profile.role);
    callers.push_back({std::string(ca::role_name(profile.role)), certificate, profile.role});
  }
  callers.push_back({"no certificate", "", std::nullopt});
  callers.push_back({"foreign CA", testing::kForeignDoctor, std::nullopt});
  callers.push_back({"revoked", testing::kRevokedDoctor, std::nullopt});

  std::size_t checked = 0;
  for (const auto& caller : callers) {
    net::HttpsClientOptions options;
    options.ca_bundle = pki->ca_pem;
    if (!caller.certificate.empty()) {
      options.client_certificate = pki->cert(caller.certificate);
      options.client_key = pki->key(caller.certificate);
    }
    auto client = net::HttpsClient::connect_to({"127.0.0.1", server->port()}, options);
    ASSERT_TRUE(client.ok()) << client.error().to_string();
    for (const auto& route : routes) {
      const std::string method(method_name(route.method));
      const std::string where = caller.name + " " + method + " " + route.pattern + " (access " +
                                route.access.describe() + ")";
      auto reply = client->request(method, concrete_path(route.pattern),
                                   route.method == Method::kPost ? "{}" : "");
      ASSERT_TRUE(reply.ok()) << where << ": " << reply.error().to_string();
      const std::string code = error_code_of(reply->body);
      if (route.access.is_public()) {
        EXPECT_NE(reply->status, 401) << where;
        EXPECT_NE(reply->status, 403) << where;
      } else if (!caller.role) {
        EXPECT_EQ(reply->status, 401) << where << ": " << reply->body;
        EXPECT_TRUE(code == "CLIENT_CERTIFICATE_REQUIRED" || code == "CERTIFICATE_UNTRUSTED" ||
                    code == "CERTIFICATE_REVOKED")
            << where << ": " << code;
      } else if (!route.access.allows(*caller.role)) {
        EXPECT_EQ(reply->status, 403) << where << ": " << reply->body;
        EXPECT_EQ(code, "ROLE_FORBIDDEN") << where;
      } else {
        EXPECT_NE(reply->status, 401) << where << ": " << reply->body;
        EXPECT_NE(reply->status, 403) << where << ": " << reply->body;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, routes.size() * callers.size());
  // The three kinds of bad certificate fail for their own reasons.
  std::map<std::string, std::string> expected_code{
      {"no certificate", "CLIENT_CERTIFICATE_REQUIRED"},
      {"foreign CA", "CERTIFICATE_UNTRUSTED"},
      {"revoked", "CERTIFICATE_REVOKED"}};
  for (const auto& [name, certificate] :
       std::vector<std::pair<std::string, std::string>>{{"no certificate", ""},
                                                        {"foreign CA", testing::kForeignDoctor},
                                                        {"revoked", testing::kRevokedDoctor}}) {
    net::HttpsClientOptions options;
    options.ca_bundle = pki->ca_pem;
    if (!certificate.empty()) {
      options.client_certificate = pki->cert(certificate);
      options.client_key = pki->key(certificate);
    }
    auto client = net::HttpsClient::connect_to({"127.0.0.1", server->port()}, options);
    ASSERT_TRUE(client.ok());
    auto reply = client->request("GET", "/v1/whoami");
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(error_code_of(reply->body), expected_code[name]) << name;
  }
}

}  // namespace
}  // namespace medledger::api

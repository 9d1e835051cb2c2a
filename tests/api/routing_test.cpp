// Unit tests of the parts without a network: routing, error mapping, metrics text, config.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "api_test_support.h"
#include "medledger/api/config.h"
#include "medledger/api/http.h"
#include "medledger/api/metrics.h"
#include "medledger/api/router.h"

namespace medledger::api {
namespace {

using core::ErrorCode;

Handler ok_handler(std::string tag) {
  return [tag](const Request&, const Principal*) -> core::Result<Response> {
    return Response{200, "text/plain", tag, {}, {}};
  };
}

Route route(Method method, std::string pattern, std::string tag = "") {
  Route r;
  r.method = method;
  r.pattern = std::move(pattern);
  r.handler = ok_handler(std::move(tag));
  return r;
}

TEST(Router, MatchesParametersAndPrefersLiteralSegments) {
  Router router;
  ASSERT_TRUE(router.add(route(Method::kGet, "/v1/records/{id}", "by-id")).ok());
  ASSERT_TRUE(router.add(route(Method::kGet, "/v1/records/latest", "latest")).ok());
  ASSERT_TRUE(
      router.add(route(Method::kGet, "/v1/patients/{patient}/records/{id}", "nested")).ok());

  auto by_id = router.match(Method::kGet, "/v1/records/r-17");
  ASSERT_NE(by_id.route, nullptr);
  EXPECT_EQ(by_id.route->pattern, "/v1/records/{id}");
  EXPECT_EQ(by_id.params.at("id"), "r-17");
  EXPECT_EQ(router.match(Method::kGet, "/v1/records/latest").route->pattern, "/v1/records/latest");
  auto nested = router.match(Method::kGet, "/v1/patients/p1/records/r2");
  ASSERT_NE(nested.route, nullptr);
  EXPECT_EQ(nested.params.at("patient"), "p1");
  EXPECT_EQ(nested.params.at("id"), "r2");
  EXPECT_EQ(router.match(Method::kHead, "/v1/records/x").route->pattern, "/v1/records/{id}");
}

TEST(Router, UnknownPathIsRouteNotFoundAndOtherMethodIsMethodNotAllowed) {
  Router router;
  ASSERT_TRUE(router.add(route(Method::kGet, "/v1/things/{id}")).ok());
  ASSERT_TRUE(router.add(route(Method::kPut, "/v1/things/{id}")).ok());
  auto missing = router.match(Method::kGet, "/v1/other");
  EXPECT_EQ(missing.route, nullptr);
  EXPECT_EQ(missing.error.code, ErrorCode::kRouteNotFound);
  EXPECT_EQ(router.match(Method::kGet, "/v1/things").error.code, ErrorCode::kRouteNotFound);
  EXPECT_EQ(router.match(Method::kGet, "/v1/things/").error.code,
            ErrorCode::kRouteNotFound);  // empty {id}
  auto wrong = router.match(Method::kPost, "/v1/things/1");
  EXPECT_EQ(wrong.error.code, ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(wrong.allowed, (std::vector<Method>{Method::kGet, Method::kPut}));
}

TEST(Router, RefusesMalformedAndDuplicatePatterns) {
  Router router;
  EXPECT_EQ(router.add(route(Method::kGet, "v1/x")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add(route(Method::kGet, "/v1//x")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add(route(Method::kGet, "/v1/x{id}")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add(route(Method::kGet, "/v1/{id}/{id}")).error().code,
            ErrorCode::kInvalidArgument);
  Route no_handler = route(Method::kGet, "/v1/y");
  no_handler.handler = nullptr;
  EXPECT_EQ(router.add(std::move(no_handler)).error().code, ErrorCode::kInvalidArgument);
  Route both = route(Method::kGet, "/v1/z");  // a handler and an async handler: which one?
  both.async_handler = [](const Request&, const Principal*, Responder) {};
  auto refused = router.add(std::move(both));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("both"), std::string::npos) << refused.error().message;
  ASSERT_TRUE(router.add(route(Method::kGet, "/v1/x/{a}")).ok());
  EXPECT_EQ(router.add(route(Method::kGet, "/v1/x/{b}")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(router.add(route(Method::kPost, "/v1/x/{b}")).ok());
}

TEST(Access, PublicRolesAndAnyRole) {
  EXPECT_TRUE(Access::public_route().is_public());
  auto admin_only = Access::roles({ca::Role::kAdmin});
  EXPECT_TRUE(admin_only.allows(ca::Role::kAdmin));
  EXPECT_FALSE(admin_only.allows(ca::Role::kDoctor));
  EXPECT_EQ(admin_only.describe(), "admin");
  EXPECT_EQ(Access::any_role().describe(), "doctor,patient,node,auditor,admin");
}

TEST(ErrorMapping, StableCodesMapToFittingStatuses) {
  EXPECT_EQ(http_status_for(ErrorCode::kJsonMalformed), 400);
  EXPECT_EQ(http_status_for(ErrorCode::kClientCertificateRequired), 401);
  EXPECT_EQ(http_status_for(ErrorCode::kCertificateRevoked), 401);
  EXPECT_EQ(http_status_for(ErrorCode::kRoleForbidden), 403);
  EXPECT_EQ(http_status_for(ErrorCode::kPinIncorrect), 403);
  EXPECT_EQ(http_status_for(ErrorCode::kNotFound), 404);
  EXPECT_EQ(http_status_for(ErrorCode::kTxDuplicate), 409);
  EXPECT_EQ(http_status_for(ErrorCode::kTxTooLarge), 413);
  EXPECT_EQ(http_status_for(ErrorCode::kTxRejected), 422);
  EXPECT_EQ(http_status_for(ErrorCode::kTokenUnavailable), 503);
  EXPECT_EQ(http_status_for(ErrorCode::kInternal), 500);
  EXPECT_EQ(http_status_for(ErrorCode::kLedgerStorage), 500);
}

TEST(ErrorMapping, ErrorBodyHasCodeAndMessage) {
  Response response = error_response(core::make_error(ErrorCode::kTxDuplicate, "seen \"before\""));
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(response.error_code, "TX_DUPLICATE");
  auto body = boost::json::parse(response.body);
  EXPECT_EQ(body.at("error").at("code").as_string(), "TX_DUPLICATE");
  EXPECT_EQ(body.at("error").at("message").as_string(), "seen \"before\"");
}

TEST(Metrics, RendersCountersGaugesAndCumulativeHistograms) {
  MetricsRegistry metrics;
  metrics.describe("demo_total", "counter", "demo");
  metrics.add("demo_total", {{"k", "a\"b\\c\nd"}}, 2);
  metrics.adjust_gauge("demo_open", 3);
  metrics.adjust_gauge("demo_open", -1);
  metrics.observe_seconds("demo_seconds", 0.003);
  metrics.observe_seconds("demo_seconds", 0.2);
  const std::string text = metrics.render_prometheus();
  EXPECT_NE(text.find("# HELP demo_total demo\n# TYPE demo_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("demo_total{k=\"a\\\"b\\\\c\\nd\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("demo_open 2\n"), std::string::npos);
  EXPECT_NE(text.find("demo_seconds_bucket{le=\"0.0025\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("demo_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("demo_seconds_bucket{le=\"0.25\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("demo_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("demo_seconds_count 2\n"), std::string::npos);
}

TEST(Metrics, SeriesPerFamilyAreBounded) {
  MetricsRegistry metrics;
  for (std::size_t i = 0; i < kMaxSeriesPerFamily + 10; ++i)
    metrics.add("many_total", {{"i", std::to_string(i)}});
  EXPECT_EQ(metrics.value("many_total", {{"overflow", "true"}}), 10);
  EXPECT_EQ(metrics.value("many_total", {{"i", "0"}}), 1);
}

// --- config ---

class ConfigTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text) {
    return dir_.write("medledger.toml", text);
  }
  std::string tls_section() {
    dir_.write("cert.pem", "x");
    dir_.write("key.pem", "x");
    dir_.write("ca.pem", "x");
    return "[tls]\ncertificate = \"cert.pem\"\nprivate_key = \"key.pem\"\nclient_ca = \"ca.pem\"\n";
  }
  core::Error expect_invalid(const std::string& text) {
    auto config = load_server_config(write(text));
    EXPECT_FALSE(config.ok());
    return config ? core::Error{} : config.error();
  }
  testing::TempDir dir_;
};

TEST_F(ConfigTest, FullFileIsReadWithRelativePathsResolved) {
  auto config = load_server_config(write(tls_section() + R"(
[listen]
address = "0.0.0.0"
port = 9443
[limits]
max_body_bytes = 2048
max_connections = 10
header_timeout_ms = 1500
answer_timeout_ms = 4000
shutdown_grace_ms = 0
[threads]
io = 1
handlers = 3
[log]
level = "debug"
[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
label = "hospital-a"
pin = "env:MEDLEDGER_PIN"
[ledger]
path = "ledger"
[batch]
max_transactions = 100
max_delay_ms = 2
)"));
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->listen.address, "0.0.0.0");
  EXPECT_EQ(config->listen.port, 9443);
  EXPECT_EQ(config->tls.certificate, dir_.path() / "cert.pem");
  EXPECT_EQ(config->limits.max_body_bytes, 2048u);
  EXPECT_EQ(config->limits.header_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(config->limits.answer_timeout, std::chrono::milliseconds(4000));
  EXPECT_EQ(config->threads.handlers, 3u);
  EXPECT_EQ(config->token.label, "hospital-a");
  EXPECT_EQ(config->ledger.path, dir_.path() / "ledger");
  EXPECT_EQ(config->batch.max_delay, std::chrono::milliseconds(2));
  EXPECT_EQ(config->limits.idle_timeout, std::chrono::milliseconds(60'000));  // default kept
}

// Found by fuzz/config_fuzzer.cpp (fuzz/corpus/config/regression-literal-string-not-utf8):
// toml11 3.7 read out of bounds (ASan: heap-buffer-overflow) when it reported invalid
// UTF-8 inside a '...' literal string. Such a file is refused before toml11 reads it.
TEST_F(ConfigTest, FileThatIsNotUtf8IsRefusedNamingTheByte) {
  const std::string tls = tls_section();
  const core::Error error = expect_invalid(tls + "[listen]\naddress = '\xf6\x8f'\n");
  EXPECT_EQ(error.code, core::ErrorCode::kConfigInvalid);
  EXPECT_NE(error.message.find("not UTF-8 (byte " + std::to_string(tls.size() + 20) + ")"),
            std::string::npos)
      << error.message;
}

TEST_F(ConfigTest, EveryBadValueIsRefusedNamingItsKey) {
  const std::string tls = tls_section();
  struct Case {
    std::string text;
    std::string key;
  };
  const std::vector<Case> cases{
      {tls + "[listen]\nport = 70000\n", "listen.port"},
      {tls + "[listen]\nport = \"8443\"\n", "listen.port"},
      {tls + "[listen]\naddress = \"localhost\"\n", "listen.address"},
      {tls + "[listen]\nprot = 1\n", "listen.prot"},
      {tls + "[lmits]\n", "lmits"},
      {tls + "[limits]\nmax_body_bytes = 0\n", "limits.max_body_bytes"},
      {tls + "[limits]\nmax_body_bytes = 1073741824\n", "limits.max_body_bytes"},
      {tls + "[limits]\nheader_timeout_ms = 1\n", "limits.header_timeout_ms"},
      {tls + "[limits]\nanswer_timeout_ms = 0\n", "limits.answer_timeout_ms"},
      {tls + "[limits]\nanswer_timeout_ms = 600001\n", "limits.answer_timeout_ms"},
      {tls + "[threads]\nio = 0\n", "threads.io"},
      {tls + "[log]\nlevel = \"loud\"\n", "log.level"},
      {tls + "[log]\nfile = \"/nonexistent-medledger-dir/log.jsonl\"\n", "log.file"},
      {tls + "[token]\npin = \"1234\"\n", "token.pin"},
      {tls + "[batch]\nmax_delay_ms = -1\n", "batch.max_delay_ms"},
      {"[tls]\ncertificate = \"cert.pem\"\n", "tls.private_key"},
      {"[tls]\ncertificate = \"missing.pem\"\nprivate_key = \"key.pem\"\nclient_ca = \"ca.pem\"\n",
       "tls.certificate"},
      {tls + "[ledger]\nmin_free_mb = -1\n", "ledger.min_free_mb"},
      {tls + "[node]\ndata_dir = \"n\"\n", "token.label"},
      {tls + "[[hospital]]\ntoken_label = \"a\"\n", "hospital[0].data_dir"},
      {tls + "[[hospital]]\ndata_dir = \"a\"\ntoken_label = \"a\"\ntoken_pin = \"1234\"\n",
       "hospital[0].token_pin"},
      {tls + "[token]\nlabel = \"h\"\nmodule_args = \"configdir='sql:x' password=p\"\n[node]\n"
             "data_dir = \"n\"\n",
       "token.module_args"},
      {tls + "[[hospital]]\ndata_dir = \"a\"\ntoken_label = \"a\"\ntoken_module_args = \"x\"\n",
       "hospital[0].token_module_args"},
      {"[tls]\ncertificate = \"cert.pem\"\nprivate_key = \"pkcs11:object=tls\"\nclient_ca = "
       "\"ca.pem\"\n",
       "tls.private_key"},
      {tls + "[[hospital]]\ndata_dir = \"a\"\ntoken_label = \"a\"\n[[hospital]]\ndata_dir = "
             "\"a\"\ntoken_label = \"b\"\n",
       "hospital[1].data_dir"},
  };
  for (const auto& c : cases) {
    core::Error error = expect_invalid(c.text);
    EXPECT_EQ(error.code, ErrorCode::kConfigInvalid) << c.text;
    EXPECT_EQ(error.message.rfind(c.key + ":", 0), 0u)
        << "expected the message to start with " << c.key << ": got " << error.message;
  }
}

// [ordering]: each bad value is CONFIG_INVALID naming its key, whatever else is right.
TEST_F(ConfigTest, BadOrderingIsRefusedNamingItsKey) {
  const std::string node = tls_section() + "[token]\nlabel = \"h\"\n[node]\ndata_dir = \"n\"\n";
  dir_.write("etcd-ca.pem", "x");
  dir_.write("etcd-client.pem", "x");
  dir_.write("etcd-client.key", "x");
  const std::string endpoints = "endpoints = [\"https://127.0.0.1:2379\"]\n";
  const std::string files =
      "ca_file = \"etcd-ca.pem\"\nclient_certificate = \"etcd-client.pem\"\n"
      "client_key = \"etcd-client.key\"\n";
  const std::string etcd = node + "[ordering]\nkind = \"etcd\"\n" + endpoints;
  // Every key of a good etcd section but `key`.
  auto without = [&](const std::string& key) {
    std::string text = node + "[ordering]\nkind = \"etcd\"\n" + endpoints + files;
    auto at = text.find(key + " = ");
    text.erase(at, text.find('\n', at) - at + 1);
    return text;
  };
  struct Case {
    std::string text;
    std::string key;
  };
  const std::vector<Case> cases{
      {node + "[ordering]\nkind = \"raft\"\n", "ordering.kind"},
      {node + "[ordering]\nkind = 1\n", "ordering.kind"},
      {node + "[ordering]\nkind = \"etcd\"\n" + files, "ordering.endpoints"},
      {node + "[ordering]\nkind = \"etcd\"\nendpoints = []\n" + files, "ordering.endpoints"},
      {node + "[ordering]\nkind = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\"]\n" + files,
       "ordering.endpoints"},
      {node + "[ordering]\nkind = \"etcd\"\nendpoints = \"https://127.0.0.1:2379\"\n" + files,
       "ordering.endpoints"},
      {etcd + files + "prefix = \"medledger\"\n", "ordering.prefix"},
      {etcd + files + "prefix = \"/medledger/\"\n", "ordering.prefix"},
      {etcd + files + "prefix = \"\"\n", "ordering.prefix"},
      {etcd + files + "node_name = \"hospital/a\"\n", "ordering.node_name"},
      {without("ca_file"), "ordering.ca_file"},
      {without("client_certificate"), "ordering.client_certificate"},
      {without("client_key"), "ordering.client_key"},
      {etcd + "ca_file = \"absent-ca.pem\"\nclient_certificate = \"etcd-client.pem\"\n"
              "client_key = \"etcd-client.key\"\n",
       "ordering.ca_file"},
      {etcd + "ca_file = \"etcd-ca.pem\"\nclient_certificate = \"absent.pem\"\n"
              "client_key = \"etcd-client.key\"\n",
       "ordering.client_certificate"},
      {etcd + "ca_file = \"etcd-ca.pem\"\nclient_certificate = \"etcd-client.pem\"\n"
              "client_key = \"absent.key\"\n",
       "ordering.client_key"},
      {etcd + "ca_file = \"etcd-ca.pem\"\nclient_certificate = \"etcd-client.pem\"\n"
              "client_key = \".\"\n",
       "ordering.client_key"},
      {etcd + files + "peers = [\"http://10.0.0.2:8443\"]\n", "ordering.peers"},
      {node + "[ordering]\nkind = \"solo\"\n" + endpoints, "ordering.endpoints"},
      {node + "[ordering]\n" + endpoints, "ordering.endpoints"},
      {tls_section() + "[ordering]\nkind = \"etcd\"\n" + endpoints + files +
           "[[hospital]]\ndata_dir = \"a\"\ntoken_label = \"a\"\n"
           "[[hospital]]\ndata_dir = \"b\"\ntoken_label = \"b\"\n",
       "ordering.kind"},
      {tls_section() + "[ordering]\nkind = \"etcd\"\n" + endpoints + files, "ordering.kind"},
      {etcd + files + "lease_ms = 100\n", "ordering.lease_ms"},
      {etcd + files + "request_timeout_ms = 1\n", "ordering.request_timeout_ms"},
      {etcd + files + "poll_interval_ms = 600001\n", "ordering.poll_interval_ms"},
      {etcd + files + "keep_blocks = -1\n", "ordering.keep_blocks"},
      {etcd + files + "advertise_url = \"http://10.0.0.1:8443\"\n", "ordering.advertise_url"},
      {etcd + files + "advertise_url = \"https://a b\"\n", "ordering.advertise_url"},
      {etcd + files + "proposer_ttl_ms = 999\n", "ordering.proposer_ttl_ms"},
      {etcd + files + "forward_timeout_ms = 0\n", "ordering.forward_timeout_ms"},
  };
  for (const auto& c : cases) {
    core::Error error = expect_invalid(c.text);
    EXPECT_EQ(error.code, ErrorCode::kConfigInvalid) << c.text;
    EXPECT_EQ(error.message.rfind(c.key + ":", 0), 0u)
        << "expected the message to start with " << c.key << ": got " << error.message;
  }
}

TEST_F(ConfigTest, EtcdOrderingIsReadWithItsValues) {
  dir_.write("etcd-ca.pem", "x");
  dir_.write("etcd-client.pem", "x");
  dir_.write("etcd-client.key", "x");
  auto config = load_server_config(write(tls_section() + R"([token]
label = "hospital-a"
[node]
data_dir = "node"
[ledger]
path = "replica"
[ordering]
kind = "etcd"
endpoints = ["https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"]
prefix = "/medledger/consortium-1"
node_name = "hospital-a-1"
ca_file = "etcd-ca.pem"
client_certificate = "etcd-client.pem"
client_key = "etcd-client.key"
dial_timeout_ms = 700
request_timeout_ms = 1500
max_future_skew_ms = 0
poll_interval_ms = 250
keep_blocks = 0
advertise_url = "https://10.0.0.1:8443"
proposer_ttl_ms = 4000
forward_timeout_ms = 1500
)"));
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  const auto& o = config->ordering;
  EXPECT_EQ(o.kind, "etcd");
  EXPECT_EQ(o.endpoints, (std::vector<std::string>{"https://10.0.0.1:2379", "https://10.0.0.2:2379",
                                                   "https://10.0.0.3:2379"}));
  EXPECT_EQ(o.prefix, "/medledger/consortium-1");
  EXPECT_EQ(o.node_name, "hospital-a-1");
  EXPECT_EQ(o.ca_file, dir_.path() / "etcd-ca.pem");
  EXPECT_EQ(o.client_certificate, dir_.path() / "etcd-client.pem");
  EXPECT_EQ(o.client_key, dir_.path() / "etcd-client.key");
  EXPECT_EQ(o.dial_timeout, std::chrono::milliseconds(700));
  EXPECT_EQ(o.request_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(o.max_future_skew, std::chrono::milliseconds(0));
  EXPECT_EQ(o.poll_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(o.keep_blocks, 0u);
  EXPECT_EQ(o.advertise_url, "https://10.0.0.1:8443");
  EXPECT_EQ(o.proposer_ttl, std::chrono::milliseconds(4000));
  EXPECT_EQ(o.forward_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(config->ledger.path, dir_.path() / "replica");
  // One [[hospital]] table is the one node too.
  auto one = load_server_config(
      write(tls_section() +
            "[ordering]\nkind = \"etcd\"\nendpoints = [\"https://127.0.0.1:2379\"]\nca_file = "
            "\"etcd-ca.pem\"\nclient_certificate = \"etcd-client.pem\"\nclient_key = "
            "\"etcd-client.key\"\n[[hospital]]\ndata_dir = \"a\"\ntoken_label = \"a\"\n"));
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  EXPECT_EQ(one->ordering.prefix, "/medledger");  // the defaults
  EXPECT_TRUE(one->ordering.node_name.empty());
  EXPECT_EQ(one->ordering.request_timeout, std::chrono::milliseconds(5'000));
  EXPECT_EQ(one->ordering.keep_blocks, 1'000u);
  EXPECT_TRUE(one->ordering.advertise_url.empty());  // proposes its own blocks
}

TEST_F(ConfigTest, SoloIsTheDefaultOrdering) {
  auto config = load_server_config(write(tls_section()));
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->ordering.kind, "solo");
  EXPECT_TRUE(config->ordering.endpoints.empty());
}

TEST_F(ConfigTest, HospitalArrayListsEveryNodeWithItsOwnToken) {
  dir_.write("cert.pem", "x");
  auto config = load_server_config(write(R"([tls]
certificate = "cert.pem"
private_key = "pkcs11:object=node-tls;id=%01%ab"
[token]
module = "/opt/hsm.so"
[[hospital]]
data_dir = "a"
token_label = "hospital-a"
token_pin = "file:/run/a.pin"
[[hospital]]
data_dir = "b"
token_label = "hospital-b"
token_module = "/opt/other.so"
)"));
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  auto hospitals = served_hospitals(*config);
  ASSERT_EQ(hospitals.size(), 2u);
  EXPECT_EQ(hospitals[0].data_dir, dir_.path() / "a");
  EXPECT_EQ(hospitals[0].token.label, "hospital-a");
  EXPECT_EQ(hospitals[0].token.module, "/opt/hsm.so");  // [token] module is the default
  EXPECT_EQ(hospitals[0].token.pin_source, "file:/run/a.pin");
  EXPECT_EQ(hospitals[1].token.module, "/opt/other.so");
  EXPECT_EQ(hospitals[1].token.pin_source, "prompt");
  EXPECT_TRUE(config->tls.private_key.empty());
  EXPECT_EQ(config->tls.private_key_in_token.label, "node-tls");
  EXPECT_EQ(config->tls.private_key_in_token.id_hex, "01ab");
  EXPECT_TRUE(config->tls.client_ca.empty());  // trust comes from the ledger
}

TEST_F(ConfigTest, OneNodeFormIsOneServedHospital) {
  auto config = load_server_config(
      write(tls_section() + "[token]\nlabel = \"h\"\n[node]\ndata_dir = \"n\"\n"));
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  auto hospitals = served_hospitals(*config);
  ASSERT_EQ(hospitals.size(), 1u);
  EXPECT_EQ(hospitals[0].data_dir, dir_.path() / "n");
  EXPECT_EQ(hospitals[0].token.label, "h");
}

TEST(TokenKeyUri, ParsesObjectAndIdAndRefusesTheRest) {
  auto both = parse_token_key_uri("pkcs11:object=tls%20key;id=%00%ff", "k");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->label, "tls key");
  EXPECT_EQ(both->id_hex, "00ff");
  for (const char* bad : {"pkcs11:", "pkcs11:token=x", "pkcs11:object", "pkcs11:id=%zz",
                          "pkcs11:id=%0", "file:x", "pkcs11:object="}) {
    auto refused = parse_token_key_uri(bad, "tls.private_key");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kConfigInvalid);
    EXPECT_EQ(refused.error().message.rfind("tls.private_key:", 0), 0u) << refused.error().message;
  }
}

TEST_F(ConfigTest, SyntaxErrorIsConfigInvalidShowingTheLine) {
  core::Error error = expect_invalid(tls_section() + "[listen]\nport = = 3\n");
  EXPECT_EQ(error.code, ErrorCode::kConfigInvalid);
  EXPECT_NE(error.message.find("6 | port = = 3"), std::string::npos)
      << error.message;  // toml11 shows line 6
}

TEST_F(ConfigTest, MissingFileOrADirectoryIsConfigInvalidNamingIt) {
  auto missing = load_server_config(dir_.path() / "absent.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kConfigInvalid);
  EXPECT_NE(missing.error().message.find("absent.toml: no such file"), std::string::npos)
      << missing.error().message;
  auto directory = load_server_config(dir_.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, ErrorCode::kConfigInvalid);
  EXPECT_NE(directory.error().message.find("not a regular file"), std::string::npos)
      << directory.error().message;
}

}  // namespace
}  // namespace medledger::api

// `medledger serve` with [tls] private_key = "pkcs11:...": the TLS key is a token
// object (SignerTlsKey) and never leaves the token; `openssl s_client` completes a
// handshake verified against the certificate's CA and gets an answer.
#include <gtest/gtest.h>

#include <stdlib.h>

#include "api_test_support.h"
#include "medledger/net/https_client.h"
#include "medledger/ca/authority.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/token.h"
#include "result_expect.h"
#include "serve_process.h"
#include "softhsm_fixture.h"

namespace medledger::api {
namespace {

using medledger::testing::expect_ok;
using medledger::testing::secret;

constexpr const char* kLabel = "hospital-a";
constexpr const char* kSoPin = "so-secret-1234";
constexpr const char* kUserPin = "user-secret-5678";
constexpr const char* kPinVariable = "MEDLEDGER_SERVE_TLS_KEY_TEST_PIN";

class ServeTokenTlsKey : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testing::Pki::create();
    auto module = expect_ok(hsm::Module::load(medledger::testing::SoftHsmDirectory::module_path()));
    (void)expect_ok(hsm::init_token(*module, kLabel, secret(kSoPin), secret(kUserPin)));
    auto pool = expect_ok(
        hsm::SessionPool::open(module, hsm::TokenSelector::by_label(kLabel), secret(kUserPin)));
    hsm::KeyStore keys(pool);
    auto key = expect_ok(keys.generate({"node-tls", core::KeyAlgorithm::kEcdsaP256}));
    key_id_hex_ = core::hex_encode(key.id);
    // A CA (software, for the test) certifies the token key for the server.
    ca_signer_ = expect_ok(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256));
    ca::CaOptions options;
    options.hospital_id = "hospital-a";
    const std::time_t now = std::time(nullptr) - 300;
    ca_cert_ = std::make_unique<ca::Certificate>(
        expect_ok(ca::CertificateAuthority::self_signed(*ca_signer_, options, now)));
    key_spki_ = key.public_key_spki;
    auto server_cert = issue_server_certificate(key_spki_);
    tls_ca_ = pki_->dir.write("tls-ca.pem", ca_cert_->to_pem());
    chain_ = pki_->dir.write("token-chain.pem", server_cert.to_pem() + ca_cert_->to_pem());
    ASSERT_EQ(setenv(kPinVariable, kUserPin, 1), 0);
  }

  // A node certificate of the test CA for `spki` (each with a fresh serial).
  ca::Certificate issue_server_certificate(const core::Bytes& spki,
                                           std::time_t not_before = std::time(nullptr) - 300) {
    auto authority = expect_ok(ca::CertificateAuthority::open(*ca_signer_, *ca_cert_, {}));
    ca::IssueRequest request;
    request.role = ca::Role::kNode;
    request.subject_id = "node-1";
    return expect_ok(authority.issue_for_key(spki, request, not_before));
  }

  std::string token_key_uri() const {
    // The id as a pkcs11: URI attribute: %XX per byte.
    std::string id;
    for (std::size_t i = 0; i < key_id_hex_.size(); i += 2) id += "%" + key_id_hex_.substr(i, 2);
    return "pkcs11:object=node-tls;id=" + id;
  }

  // The serial (hex, as `openssl x509 -serial` prints it) of the certificate a
  // fresh TLS connection to `port` is served; empty if the handshake failed.
  std::string served_serial(std::uint16_t port) {
    int exit_code = 0;
    const std::string output = testing::run_command(
        "timeout 20 openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile '" +
            tls_ca_.string() +
            "' -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial "
            "2>/dev/null",
        exit_code);
    const auto at = output.find("serial=");
    if (at == std::string::npos) return "";
    return output.substr(at + 7, output.find_first_of("\r\n", at) - at - 7);
  }

  std::filesystem::path config(const std::string& private_key) {
    return pki_->dir.write(
        "serve.toml", "[listen]\naddress = \"127.0.0.1\"\nport = 0\n[tls]\ncertificate = \"" +
                          chain_.string() + "\"\nprivate_key = \"" + private_key +
                          "\"\nclient_ca = \"" + pki_->ca_pem.string() + "\"\n[log]\nfile = \"" +
                          log_.string() + "\"\n[token]\nlabel = \"" + kLabel +
                          "\"\npin = \"env:" + kPinVariable + "\"\n");
  }

  medledger::testing::SoftHsmDirectory
      softhsm_;  // first: SOFTHSM2_CONF for the module and the child
  std::unique_ptr<testing::Pki> pki_;
  std::string key_id_hex_;
  core::Bytes key_spki_;
  std::unique_ptr<core::SoftwareSigner> ca_signer_;
  std::unique_ptr<ca::Certificate> ca_cert_;
  std::filesystem::path tls_ca_, chain_;
  std::filesystem::path log_ = softhsm_.root() / "serve.jsonl";
};

TEST_F(ServeTokenTlsKey, HandshakeIsSignedByTheTokenKeyAndVerifies) {
  testing::ServeProcess serve(config(token_key_uri()), log_);
  const auto port = serve.start();
  ASSERT_NE(port, 0) << serve.log();
  EXPECT_NE(serve.log().find(R"x("event":"tls_key","source":"signer (ecdsa-p256)")x"),
            std::string::npos)
      << serve.log();

  const auto out = pki_->dir.path() / "s_client.out";
  const std::string command =
      "printf 'GET /v1/whoami HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n' | "
      "timeout 20 openssl s_client -quiet -verify_return_error -connect 127.0.0.1:" +
      std::to_string(port) + " -CAfile '" + tls_ca_.string() + "' -cert '" +
      pki_->cert(testing::kAuditor).string() + "' -key '" + pki_->key(testing::kAuditor).string() +
      "' >'" + out.string() + "' 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << testing::slurp(out);
  const std::string answer = testing::slurp(out);
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"role\":\"auditor\""), std::string::npos) << answer;

  // Both protocol versions sign through the token (the name check is s_client's above: -k).
  for (const char* version : {"--tlsv1.2 --tls-max 1.2", "--tlsv1.3"}) {
    const std::string curl = "curl -sS -k --max-time 15 -o /dev/null -w '%{http_code}' " +
                             std::string(version) + " https://127.0.0.1:" + std::to_string(port) +
                             "/healthz";
    FILE* pipe = popen(curl.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char status[8] = {};
    ASSERT_NE(fgets(status, sizeof status, pipe), nullptr);
    EXPECT_EQ(pclose(pipe), 0);
    EXPECT_STREQ(status, "200") << version;
  }
  ASSERT_TRUE(serve.terminate());
  EXPECT_EQ(serve.exit_code(), 0);
}

// Certificate renewal without a restart (`systemctl reload`): SIGHUP reads
// tls.certificate again; a chain that does not fit the key keeps the one in force.
TEST_F(ServeTokenTlsKey, SighupServesARenewedCertificateAndABadOneKeepsTheCertificateInForce) {
  testing::ServeProcess serve(config(token_key_uri()), log_);
  const auto port = serve.start();
  ASSERT_NE(port, 0) << serve.log();
  const std::string first = served_serial(port);
  ASSERT_FALSE(first.empty()) << serve.log();

  // A connection opened before the reload keeps working after it.
  net::HttpsClientOptions options;
  options.ca_bundle = tls_ca_;
  options.client_certificate = pki_->cert(testing::kAuditor);
  options.client_key = pki_->key(testing::kAuditor);
  options.server_name = "node-1";  // the test certificate's CN; it has no IP SAN
  auto client = expect_ok(net::HttpsClient::connect_to(
      expect_ok(net::parse_https_url("https://127.0.0.1:" + std::to_string(port))), options));
  ASSERT_EQ(expect_ok(client.request("GET", "/v1/whoami")).status, 200);

  auto reload_count = [&] {
    const std::string lines = serve.log();
    std::size_t n = 0;
    for (auto at = lines.find("\"event\":\"tls_reload\""); at != std::string::npos;
         at = lines.find("\"event\":\"tls_reload\"", at + 1)) {
      ++n;
    }
    return n;
  };
  auto reload = [&](std::size_t before) {
    ASSERT_EQ(kill(serve.pid(), SIGHUP), 0);
    for (int i = 0; i < 1000 && reload_count() == before; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(reload_count(), before + 1) << serve.log();
  };

  // A chain whose leaf is another key's: refused, the certificate in force stays.
  pki_->dir.write("token-chain.pem", testing::slurp(pki_->server_chain));
  reload(0);
  EXPECT_NE(serve.log().find("\"error\":\"CONFIG_INVALID\",\"message\":\"the signer key does not "
                             "match tls.certificate"),
            std::string::npos)
      << serve.log();
  EXPECT_NE(serve.log().find("the certificate in force is kept"), std::string::npos) << serve.log();
  EXPECT_EQ(served_serial(port), first);

  // One of this key, but valid only from tomorrow: refused too.
  const auto early = issue_server_certificate(key_spki_, std::time(nullptr) + 86'400);
  pki_->dir.write("token-chain.pem", early.to_pem() + ca_cert_->to_pem());
  reload(1);
  EXPECT_NE(
      serve.log().find(
          "tls.certificate: the certificate is not valid yet; the certificate in force is kept"),
      std::string::npos)
      << serve.log();
  EXPECT_EQ(served_serial(port), first);

  // The renewed certificate (same token key, new serial) is served to new connections.
  const auto renewed = issue_server_certificate(key_spki_);
  pki_->dir.write("token-chain.pem", renewed.to_pem() + ca_cert_->to_pem());
  reload(2);
  const std::string second = served_serial(port);
  EXPECT_EQ(second, renewed.serial_hex()) << serve.log();
  EXPECT_NE(second, first);
  EXPECT_NE(
      serve.log().find("\"result\":\"reloaded\",\"certificate\":\"serial " + renewed.serial_hex()),
      std::string::npos)
      << serve.log();
  EXPECT_EQ(expect_ok(client.request("GET", "/v1/whoami")).status, 200);
  EXPECT_EQ(client.connections_opened(), 1u);  // on the connection opened before both reloads

  ASSERT_TRUE(serve.terminate());
  EXPECT_EQ(serve.exit_code(), 0);
}

TEST_F(ServeTokenTlsKey, KeyNotInTheTokenRefusesToStart) {
  int exit_code = 0;
  const std::string output = testing::serve_refused(config("pkcs11:object=no-such-key"), exit_code);
  EXPECT_EQ(exit_code, core::exit_code_for(core::ErrorCode::kConfigInvalid)) << output;
  EXPECT_NE(output.find("CONFIG_INVALID: tls.private_key: no such key in token 'hospital-a'"),
            std::string::npos)
      << output;
}

TEST_F(ServeTokenTlsKey, TokenKeyOfAnotherCertificateIsRefused) {
  hsm::KeyStore keys(expect_ok(hsm::SessionPool::open(
      expect_ok(hsm::Module::load(medledger::testing::SoftHsmDirectory::module_path())),
      hsm::TokenSelector::by_label(kLabel), secret(kUserPin))));
  (void)expect_ok(keys.generate({"other-key", core::KeyAlgorithm::kEcdsaP256}));
  int exit_code = 0;
  const std::string output = testing::serve_refused(config("pkcs11:object=other-key"), exit_code);
  EXPECT_EQ(exit_code, core::exit_code_for(core::ErrorCode::kConfigInvalid)) << output;
  EXPECT_NE(output.find("does not match"), std::string::npos) << output;
}

}  // namespace
}  // namespace medledger::api

// Client trust from the ledger (api::LedgerTrust): a real server in process on a
// real consortium ledger (tests/node fixture: two SoftHSM2 tokens, token CAs,
// hospital B admitted by A), called with curl and client certificates issued by
// the hospitals' token CAs. No trust file: only what the ledger says.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <openssl/rand.h>

#include <boost/json/parse.hpp>

#include "../node/hospital_node_fixture.h"
#include "api_test_support.h"
#include "medledger/api/client_auth.h"
#include "medledger/net/https_client.h"
#include "medledger/api/ledger_trust.h"
#include "medledger/api/logging.h"
#include "medledger/api/tls.h"
#include "serve_process.h"

namespace medledger::api {
namespace {

using node::testing::expect_ok;

std::string error_code_of(const testing::HttpResult& result) {
  boost::json::error_code ec;
  auto value = boost::json::parse(result.body, ec);
  if (ec || !value.is_object() || !value.as_object().contains("error"))
    return "(no error) " + result.body;
  return std::string(value.at("error").at("code").as_string());
}

class LedgerTrustTest : public node::testing::TwoHospitals {
 protected:
  void SetUp() override {
    TwoHospitals::SetUp();
    pki_ = testing::Pki::create();
    trust_ = std::make_shared<LedgerTrust>(ledger_->ledger(), nullptr);
    ServerConfig config = testing::test_config(*pki_);
    ASSERT_TRUE(configure_logging(config.log).ok());
    auto metrics = std::make_shared<MetricsRegistry>();
    auto router = std::make_shared<Router>();
    ASSERT_TRUE(add_whoami_route(*router).ok());
    ServerParts parts;
    parts.tls = expect_ok(make_tls_context(
        config.tls.certificate, std::make_shared<PemFileTlsKey>(config.tls.private_key)));
    parts.router = router;
    parts.authenticator = std::make_shared<ChainValidatingAuthenticator>(
        [trust = trust_] { return trust->current(); });
    parts.metrics = metrics;
    server_ = expect_ok(Server::start(config, std::move(parts)));
  }

  testing::HttpResult whoami(const std::string& client) {
    return testing::curl(*pki_, server_->port(), "/v1/whoami", client);
  }

  ledger::Transaction ca_signed(std::string_view type, boost::json::object body,
                                const std::shared_ptr<hsm::SessionPool>& pool,
                                const std::filesystem::path& ca_dir) {
    ledger::Transaction tx;
    tx.type = std::string(type);
    tx.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    tx.nonce.resize(ledger::kMinNonceBytes);
    EXPECT_EQ(RAND_bytes(tx.nonce.data(), static_cast<int>(tx.nonce.size())), 1);
    tx.body = std::move(body);
    auto directory = expect_ok(ca::CaDirectory::open(ca_dir));
    hsm::KeyStore keys(pool);
    auto signer =
        expect_ok(keys.signer(expect_ok(core::hex_decode(directory.settings().key_id_hex))));
    EXPECT_TRUE(ledger::add_signature(tx, *signer,
                                      ledger::certificate_fingerprint(directory.chain().front()))
                    .ok());
    return tx;
  }

  // A doctor's certificate from hospital A's token CA, registered on the ledger by that CA.
  ca::Certificate registered_doctor(const std::string& name) {
    auto cert = testing::issue_from_token_ca(pool_a_, root_ / "a-ca", ca::Role::kDoctor, name,
                                             pki_->dir.path());
    (void)expect_ok(node::accepted_or_error(
        ledger_->submit(ca_signed(ledger::kTxCertRegister, ledger::make_cert_register_body(cert),
                                  pool_a_, root_ / "a-ca")),
        "cert.register"));
    return cert;
  }

  // Hospital A's token CA revokes `cert` on the ledger.
  void revoke_on_ledger(const ca::Certificate& cert, std::string_view reason) {
    (void)expect_ok(node::accepted_or_error(
        ledger_->submit(
            ca_signed(ledger::kTxCertRevoke,
                      ledger::make_cert_revoke_body(ledger::certificate_fingerprint(cert), reason),
                      pool_a_, root_ / "a-ca")),
        "cert.revoke"));
  }

  std::unique_ptr<testing::Pki> pki_;
  std::shared_ptr<LedgerTrust> trust_;
  std::unique_ptr<Server> server_;
};

TEST_F(LedgerTrustTest, CertificateOfAnAdmittedHospitalCaIsAccepted) {
  testing::issue_from_token_ca(pool_b_, root_ / "b-ca", ca::Role::kAuditor, "auditor-b",
                               pki_->dir.path());
  auto result = whoami("auditor-b");
  ASSERT_EQ(result.status, 200) << result.body;
  auto body = boost::json::parse(result.body);
  EXPECT_EQ(body.at("hospital").as_string(), "hospital-b");
  EXPECT_EQ(body.at("role").as_string(), "auditor");
}

TEST_F(LedgerTrustTest, CertificateOfACaNotOnTheLedgerIsRefused) {
  // The api test PKI's CA (also named hospital-a) was never admitted.
  auto result = whoami(testing::kAdmin);
  EXPECT_EQ(result.status, 401) << result.body;
  EXPECT_EQ(error_code_of(result), "CERTIFICATE_UNTRUSTED");
}

TEST_F(LedgerTrustTest, HospitalAdmittedWhileServingIsAcceptedAfterwards) {
  (void)expect_ok(hsm::init_token(*module_, "hospital-c",
                                  node::testing::secret(node::testing::kSoPin),
                                  node::testing::secret(node::testing::kUserPin)));
  auto pool_c =
      expect_ok(hsm::SessionPool::open(module_, hsm::TokenSelector::by_label("hospital-c"),
                                       node::testing::secret(node::testing::kUserPin)));
  node::testing::make_token_ca(pool_c, "hospital-c", root_ / "c-ca");
  testing::issue_from_token_ca(pool_c, root_ / "c-ca", ca::Role::kAdmin, "admin-c",
                               pki_->dir.path());
  auto before = whoami("admin-c");
  EXPECT_EQ(before.status, 401);
  EXPECT_EQ(error_code_of(before), "CERTIFICATE_UNTRUSTED");
  const auto generation = trust_->current()->generation;

  (void)expect_ok(node::HospitalNode::provision(root_ / "c", pool_c, setup("hospital-c", "c-ca")));
  auto node_c = expect_ok(node::HospitalNode::open(root_ / "c", pool_c, *ledger_, options()));
  auto request = expect_ok(node_c->ca().admission_request());
  (void)expect_ok(node_a_->ca().countersign_admission(request.tx));

  auto after = whoami("admin-c");
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(boost::json::parse(after.body).at("hospital").as_string(), "hospital-c");
  EXPECT_GT(trust_->current()->generation, generation);
}

TEST_F(LedgerTrustTest, CertificateRevokedOnTheLedgerIsRefusedOnTheNextConnection) {
  auto cert = registered_doctor("dr-tls");
  ASSERT_EQ(whoami("dr-tls").status, 200);

  revoke_on_ledger(cert, "keyCompromise");
  auto refused = whoami("dr-tls");
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_EQ(error_code_of(refused), "CERTIFICATE_REVOKED");
  // Other certificates of the same CA are unaffected.
  testing::issue_from_token_ca(pool_a_, root_ / "a-ca", ca::Role::kAuditor, "auditor-a",
                               pki_->dir.path());
  EXPECT_EQ(whoami("auditor-a").status, 200);
}

TEST_F(LedgerTrustTest, KeepAliveConnectionIsReauthenticatedAfterARevocation) {
  auto cert = registered_doctor("dr-keep");
  net::HttpsClientOptions options;
  options.ca_bundle = pki_->ca_pem;
  options.client_certificate = pki_->cert("dr-keep");
  options.client_key = pki_->key("dr-keep");
  auto client = expect_ok(net::HttpsClient::connect_to({"127.0.0.1", server_->port()}, options));
  ASSERT_EQ(expect_ok(client.request("GET", "/v1/whoami")).status, 200);

  revoke_on_ledger(cert, "keyCompromise");
  // The same TLS connection: the trust generation moved, so it authenticates again.
  auto refused = expect_ok(client.request("GET", "/v1/whoami"));
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_NE(refused.body.find("CERTIFICATE_REVOKED"), std::string::npos) << refused.body;
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST_F(LedgerTrustTest, GenerationMovesOnlyWhenTrustMayHaveChanged) {
  const auto first = trust_->current();
  // An enrolment (cert.register) adds blocks but changes no anchor or revocation.
  (void)expect_ok(node_a_->persons().enrol(
      {ca::Role::kPatient, "pat-x", node::testing::secret(node::testing::kPatientPin), {}}));
  EXPECT_EQ(trust_->current()->generation, first->generation);
  EXPECT_EQ(trust_->current(), first);  // the same snapshot: no rebuild

  auto cert = registered_doctor("dr-gen");
  revoke_on_ledger(cert, "superseded");
  EXPECT_GT(trust_->current()->generation, first->generation);
  EXPECT_TRUE(
      expect_ok(revoked_on_ledger(ledger_->ledger(), ledger::certificate_fingerprint(cert))));
}

TEST_F(LedgerTrustTest, ExtraFileAnchorsSetWhileServingAreTrustedUnderANewGeneration) {
  // The api test PKI's CA is not on the ledger: refused until it is given as an extra anchor.
  EXPECT_EQ(whoami(testing::kAdmin).status, 401);
  const auto before = trust_->current();
  std::ifstream in(pki_->ca_pem);
  std::stringstream pem;
  pem << in.rdbuf();
  trust_->set_extra(expect_ok(trust_snapshot_from_pem(pem.str(), {}, 1)));
  const auto after = trust_->current();
  EXPECT_GT(after->generation, before->generation);
  EXPECT_EQ(whoami(testing::kAdmin).status, 200);
  // The ledger's anchors are still there.
  testing::issue_from_token_ca(pool_b_, root_ / "b-ca", ca::Role::kAuditor, "auditor-b2",
                               pki_->dir.path());
  EXPECT_EQ(whoami("auditor-b2").status, 200);
  trust_->set_extra(nullptr);
  EXPECT_EQ(whoami(testing::kAdmin).status, 401);
}

}  // namespace
}  // namespace medledger::api

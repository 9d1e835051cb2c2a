// Revocation for relying parties over HTTPS without a client certificate: the
// CRL (DER and PEM) checked with `openssl crl -verify` and `openssl verify
// -crl_check`, and the OCSP responder asked by `openssl ocsp` (good, revoked,
// unknown, malformed request, unknown issuer, nonce, CA-signed and delegated).
#include <fstream>
#include <string>

#include "medledger/ca/authority.h"
#include "medledger/ca/limits.h"
#include "medledger/ca/store.h"
#include "medledger/hsm/key_store.h"
#include "node_routes_fixture.h"

namespace medledger::api {
namespace {

using node::testing::expect_ok;
using testing::kAdmin;

class RevocationRoutes : public NodeRoutes {
 protected:
  std::filesystem::path ca_dir() const { return root_ / "a-ca"; }
  std::string ca_pem() const { return (ca_dir() / "ca.pem").string(); }

  // The certificate of a person enrolled at hospital-a, written to <root>/<id>.pem.
  std::string person_pem(const std::string& id) {
    auto person = expect_ok(node_a_->persons().find("hospital-a/" + id));
    const auto file = root_ / (id + ".pem");
    std::ofstream(file) << person.cert_pem;
    return file.string();
  }
  std::string serial_of(const std::string& id) {
    auto person = expect_ok(node_a_->persons().find("hospital-a/" + id));
    return expect_ok(ca::Certificate::from_pem(person.cert_pem)).serial_hex();
  }

  // Anonymous GET (no client certificate), the body written to `file`.
  testing::HttpResult anonymous_get(const std::string& path, const std::filesystem::path& file) {
    auto result = testing::curl(*pki_, server_->port(), path);
    std::ofstream(file, std::ios::binary) << result.body;
    return result;
  }

  void revoke(const std::string& id, const std::string& reason) {
    auto answer = post("/v1/persons/" + id + "/revoke", "{\"reason\":\"" + reason + "\"}", kAdmin);
    ASSERT_EQ(answer.status, 200) << answer.body;
  }

  // `openssl ocsp` against the server's responder (https, TLS not verified by the
  // ocsp app; the response is verified against `ca`).
  Command ocsp(const std::string& what, const std::string& ca, const std::string& extra = "") {
    return run("openssl ocsp -issuer '" + ca + "' " + what +
               " -url 'https://127.0.0.1:" + std::to_string(server_->port()) +
               "/v1/ocsp' -CAfile '" + ca + "' -resp_text " + extra);
  }

  // A delegated responder key in hospital-a's token, its certificate from the CA,
  // both named in ca.json, and node A reopened to use them.
  void use_delegated_responder() {
    hsm::KeyStore keys(pool_a_);
    auto key = expect_ok(keys.generate({"ocsp-hospital-a", core::KeyAlgorithm::kEcdsaP256}));
    auto store = expect_ok(ca::CaDirectory::open(ca_dir()));
    auto ca_signer = expect_ok(keys.signer(*core::hex_decode(store.settings().key_id_hex)));
    auto authority =
        expect_ok(ca::CertificateAuthority::open(*ca_signer, store.chain().front(), {}));
    auto responder_signer = expect_ok(keys.signer(key.id));
    auto cert = expect_ok(authority.issue_ocsp_responder(responder_signer->public_key_spki(), 30,
                                                         std::time(nullptr)));
    expect_ok(store.save_responder_certificate(cert));
    auto settings = store.settings();
    settings.revocation.ocsp_responder_key_id_hex = core::hex_encode(key.id);
    expect_ok(store.save_settings(settings));
    node_a_.reset();
    node_a_ = expect_ok(node::HospitalNode::open(root_ / "a", pool_a_, *ledger_, options()));
  }
};

TEST_F(RevocationRoutes, CrlOfARevocationThroughTheApiIsPublishedAnonymouslyAndVerifies) {
  serve(node_a_.get(), pool_a_);
  revoke("dr-a", "keyCompromise");

  const auto der = root_ / "a.crl";
  auto fetched = anonymous_get("/v1/crl/hospital-a.crl", der);
  ASSERT_EQ(fetched.status, 200) << fetched.body;
  auto text = run("openssl crl -inform DER -in '" + der.string() + "' -CAfile '" + ca_pem() +
                  "' -noout -text");
  ASSERT_EQ(text.exit, 0) << text.output;
  EXPECT_NE(text.output.find("verify OK"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("Key Compromise"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find(serial_of("dr-a")), std::string::npos) << text.output;

  const auto pem = root_ / "a-crl.pem";
  auto fetched_pem = anonymous_get("/v1/crl/hospital-a.pem", pem);
  ASSERT_EQ(fetched_pem.status, 200);
  EXPECT_EQ(fetched_pem.body.rfind("-----BEGIN X509 CRL-----", 0), 0u);
  // The same CRL in both encodings.
  EXPECT_EQ(expect_ok(ca::Crl::parse(core::to_bytes(fetched_pem.body))).to_der(),
            core::to_bytes(fetched.body));

  auto revoked = run("openssl verify -crl_check -CRLfile '" + pem.string() + "' -CAfile '" +
                     ca_pem() + "' '" + person_pem("dr-a") + "'");
  EXPECT_NE(revoked.exit, 0) << revoked.output;
  EXPECT_NE(revoked.output.find("certificate revoked"), std::string::npos) << revoked.output;
  auto valid = run("openssl verify -crl_check -CRLfile '" + pem.string() + "' -CAfile '" +
                   ca_pem() + "' '" + person_pem("pat-a") + "'");
  EXPECT_EQ(valid.exit, 0) << valid.output;
}

TEST_F(RevocationRoutes, CrlIsSignedWhenARevocationCommitsNotPerRequestAndNumbersGrowByOne) {
  serve(node_a_.get(), pool_a_);
  auto first = anonymous_get("/v1/crl/hospital-a.crl", root_ / "1.crl");
  auto again = anonymous_get("/v1/crl/hospital-a.crl", root_ / "2.crl");
  auto by_client = get("/v1/ca/crl", testing::kDoctor);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.body, again.body);  // no new signature, no new number
  auto number = expect_ok(ca::Crl::parse(core::to_bytes(first.body))).number();
  ASSERT_TRUE(number);
  EXPECT_EQ(expect_ok(ca::Crl::parse(core::to_bytes(by_client.body))).number(), number);

  revoke("dr-a", "superseded");
  // Signed at the commit: the published file already holds the next number.
  auto stored = expect_ok(expect_ok(ca::CaDirectory::open(ca_dir())).current_crl());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->number(), *number + 1);
  auto after = anonymous_get("/v1/crl/hospital-a.crl", root_ / "3.crl");
  auto crl = expect_ok(ca::Crl::parse(core::to_bytes(after.body)));
  EXPECT_EQ(crl.number(), *number + 1);
  EXPECT_EQ(crl.revoked_serials(), std::vector<std::string>{serial_of("dr-a")});
  EXPECT_EQ(anonymous_get("/v1/crl/hospital-a.crl", root_ / "4.crl").body, after.body);
}

TEST_F(RevocationRoutes, CrlRouteNamesNothingItDoesNotPublish) {
  serve(node_a_.get(), pool_a_);
  for (const std::string path :
       {"/v1/crl/hospital-b.crl", "/v1/crl/nobody.pem", "/v1/crl/hospital-a.txt"}) {
    auto answer = anonymous_get(path, root_ / "x");
    EXPECT_EQ(answer.status, 404) << path;
    EXPECT_EQ(error_code_of(answer), "NOT_FOUND") << path;
    EXPECT_EQ(answer.body.find("hospital-a"), std::string::npos) << answer.body;
  }
}

TEST_F(RevocationRoutes, OcspAnswersGoodRevokedAndUnknownSignedByTheCaWithTheNonce) {
  serve(node_a_.get(), pool_a_);
  revoke("dr-a", "keyCompromise");
  auto good = ocsp("-cert '" + person_pem("pat-a") + "'", ca_pem());
  ASSERT_EQ(good.exit, 0) << good.output;
  EXPECT_NE(good.output.find("Response verify OK"), std::string::npos) << good.output;
  EXPECT_NE(good.output.find(": good"), std::string::npos) << good.output;
  EXPECT_NE(good.output.find("OCSP Nonce"), std::string::npos) << good.output;
  EXPECT_EQ(good.output.find("WARNING"), std::string::npos) << good.output;  // nonce matched
  EXPECT_NE(good.output.find("Next Update"), std::string::npos) << good.output;

  auto revoked = ocsp("-cert '" + person_pem("dr-a") + "'", ca_pem());
  ASSERT_EQ(revoked.exit, 0) << revoked.output;
  EXPECT_NE(revoked.output.find("Response verify OK"), std::string::npos) << revoked.output;
  EXPECT_NE(revoked.output.find(": revoked"), std::string::npos) << revoked.output;
  EXPECT_NE(revoked.output.find("Reason: keyCompromise"), std::string::npos) << revoked.output;
  EXPECT_NE(revoked.output.find("Revocation Time"), std::string::npos) << revoked.output;

  auto unknown = ocsp("-serial 0x4242424242", ca_pem());
  ASSERT_EQ(unknown.exit, 0) << unknown.output;
  EXPECT_NE(unknown.output.find("Response verify OK"), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find(": unknown"), std::string::npos) << unknown.output;
}

TEST_F(RevocationRoutes, OcspRefusesMalformedRequestsAndIssuersItDoesNotServe) {
  serve(node_a_.get(), pool_a_);
  const auto answer = root_ / "answer.der";
  for (const std::string& body :
       {std::string("not DER"), std::string(ca::kMaxOcspRequestBytes + 1, '\x30')}) {
    const auto file = root_ / "bad.req";
    std::ofstream(file, std::ios::binary) << body;
    auto posted = testing::curl(
        *pki_, server_->port(), "/v1/ocsp", "",
        "-H 'Content-Type: application/ocsp-request' --data-binary @" + file.string());
    ASSERT_EQ(posted.status, 200) << posted.body;  // RFC 6960: the error is the OCSP status
    std::ofstream(answer, std::ios::binary) << posted.body;
    auto text = run("openssl ocsp -respin '" + answer.string() + "' -resp_text -noverify");
    EXPECT_NE(text.output.find("malformedrequest (1)"), std::string::npos) << text.output;
  }
  auto garbage_get = anonymous_get("/v1/ocsp/bm90LWRlcg", answer);
  ASSERT_EQ(garbage_get.status, 200);
  auto text = run("openssl ocsp -respin '" + answer.string() + "' -resp_text -noverify");
  EXPECT_NE(text.output.find("malformedrequest (1)"), std::string::npos) << text.output;

  // Hospital B's CA is not served here: unauthorized, and nothing about hospital-a.
  auto foreign = ocsp("-serial 0x01", (root_ / "b-ca" / "ca.pem").string());
  EXPECT_NE(foreign.output.find("unauthorized (6)"), std::string::npos) << foreign.output;
  EXPECT_EQ(foreign.output.find("hospital-a"), std::string::npos) << foreign.output;
  // Errors are counted and logged under their stable codes.
  const std::string log = read_file(log_file_);
  EXPECT_NE(log.find("OCSP_REQUEST_MALFORMED"), std::string::npos);
  EXPECT_NE(log.find("OCSP_ISSUER_UNKNOWN"), std::string::npos);
}

TEST_F(RevocationRoutes, OcspGetFormAnswersLikePost) {
  serve(node_a_.get(), pool_a_);
  const auto request = root_ / "req.der";
  auto made = run("openssl ocsp -issuer '" + ca_pem() + "' -cert '" + person_pem("pat-a") +
                  "' -reqout '" + request.string() + "'");
  ASSERT_EQ(made.exit, 0) << made.output;
  auto der = core::to_bytes(read_file(request));
  const auto answer = root_ / "get.der";
  auto fetched = anonymous_get("/v1/ocsp/" + core::base64url_encode(der), answer);
  ASSERT_EQ(fetched.status, 200);
  // The same request read back: its nonce must be the one echoed.
  auto text = run("openssl ocsp -respin '" + answer.string() + "' -reqin '" + request.string() +
                  "' -CAfile '" + ca_pem() + "' -verify_other '" + ca_pem() + "' -resp_text");
  EXPECT_NE(text.output.find("Response verify OK"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("Cert Status: good"), std::string::npos) << text.output;
  EXPECT_EQ(text.output.find("Nonce Verify error"), std::string::npos) << text.output;
}

TEST_F(RevocationRoutes, DelegatedResponderSignsWithItsOwnTokenKey) {
  use_delegated_responder();
  serve(node_a_.get(), pool_a_);
  revoke("dr-a", "affiliationChanged");
  auto revoked = ocsp("-cert '" + person_pem("dr-a") + "'", ca_pem());
  ASSERT_EQ(revoked.exit, 0) << revoked.output;
  EXPECT_NE(revoked.output.find("Response verify OK"), std::string::npos) << revoked.output;
  EXPECT_NE(revoked.output.find(": revoked"), std::string::npos) << revoked.output;
  EXPECT_NE(revoked.output.find("Reason: affiliationChanged"), std::string::npos) << revoked.output;
  EXPECT_NE(revoked.output.find("OCSP Responder"), std::string::npos) << revoked.output;
  EXPECT_NE(revoked.output.find("OCSP No Check"), std::string::npos) << revoked.output;
}

TEST_F(RevocationRoutes, IssuedCertificatesNameTheOcspAndCrlUrlsOfTheConfig) {
  auto store = expect_ok(ca::CaDirectory::open(ca_dir()));
  auto settings = store.settings();
  settings.revocation.ocsp_url = "https://ocsp.hospital-a.example/v1/ocsp";
  settings.revocation.crl_url = "https://pki.hospital-a.example/v1/crl/hospital-a.crl";
  expect_ok(store.save_settings(settings));
  node_a_.reset();
  node_a_ = expect_ok(node::HospitalNode::open(root_ / "a", pool_a_, *ledger_, options()));
  serve(node_a_.get(), pool_a_);
  auto enrolled =
      post("/v1/persons", R"({"role":"doctor","id":"dr-url","pin":"new-doctor-pin-42"})", kAdmin);
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  auto text = run("openssl x509 -noout -text -in '" + person_pem("dr-url") + "'");
  EXPECT_NE(text.output.find("OCSP - URI:https://ocsp.hospital-a.example/v1/ocsp"),
            std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find("URI:https://pki.hospital-a.example/v1/crl/hospital-a.crl"),
            std::string::npos)
      << text.output;
  // The AIA URL is what `openssl ocsp` would ask; here it asks this server directly.
  auto good = ocsp("-cert '" + person_pem("dr-url") + "'", ca_pem());
  EXPECT_NE(good.output.find(": good"), std::string::npos) << good.output;
}

}  // namespace
}  // namespace medledger::api

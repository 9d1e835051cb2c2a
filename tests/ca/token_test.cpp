// The CA with its key in a real SoftHSM2 token (hsm::TokenSigner), and the
// `medledger ca` command line end to end.
#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca_test_support.h"
#include "medledger/ca/store.h"
#include "medledger/ca/validation.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token.h"
#include "medledger/hsm/token_signer.h"
#include "softhsm_fixture.h"

namespace medledger::ca {
namespace {

using testing::run;

constexpr const char* kTokenLabel = "ca-test";
constexpr const char* kUserPin = "user-pin-5678";

std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

// A fresh P-256 public key as PEM (what `openssl pkey -pubout` writes).
std::string public_key_pem() {
  core::EvpPkeyPtr key = testing::generate_key(testing::TestKey::kP256);
  core::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

class TokenCa : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.init_token_with_softhsm_util(kTokenLabel, "so-pin-1234", kUserPin);
    auto module = hsm::Module::load(medledger::testing::SoftHsmDirectory::module_path());
    ASSERT_TRUE(module.ok()) << module.error().to_string();
    auto pool = hsm::SessionPool::open(*module, hsm::TokenSelector::by_label(kTokenLabel),
                                       core::SecretBytes(core::to_bytes(kUserPin)));
    ASSERT_TRUE(pool.ok()) << pool.error().to_string();
    pool_ = *pool;
  }

  std::unique_ptr<hsm::TokenSigner> token_key(const std::string& label,
                                              core::KeyAlgorithm algorithm) {
    hsm::KeyStore keys(pool_);
    auto info = keys.generate({label, algorithm});
    EXPECT_TRUE(info.ok()) << info.error().to_string();
    auto signer = keys.signer(info->id);
    EXPECT_TRUE(signer.ok());
    return std::move(*signer);
  }

  medledger::testing::SoftHsmDirectory dir_;  // first: sets SOFTHSM2_CONF
  std::shared_ptr<hsm::SessionPool> pool_;
};

TEST_F(TokenCa, CaKeyInTokenIssuesCertificatesAndCrlsThatValidate) {
  auto signer = token_key("ca-hospital-a", core::KeyAlgorithm::kEcdsaP256);
  auto cert =
      CertificateAuthority::self_signed(*signer, testing::ca_options("hospital-a"), testing::kNow);
  ASSERT_TRUE(cert.ok()) << cert.error().to_string();
  auto ca = CertificateAuthority::open(*signer, *cert, {});
  ASSERT_TRUE(ca.ok()) << ca.error().to_string();

  // The subject key also lives in the token: issue for its public key.
  auto doctor_key = token_key("dr-1", core::KeyAlgorithm::kEcdsaP256);
  auto doctor = ca->issue_for_key(doctor_key->public_key_spki(),
                                  testing::request(Role::kDoctor, "dr-1"), testing::kNow);
  ASSERT_TRUE(doctor.ok()) << doctor.error().to_string();
  auto patient =
      ca->issue(testing::make_csr(testing::CsrSpec().with_key(testing::TestKey::kEd25519)),
                testing::request(Role::kPatient, "p-1"), testing::kNow);
  ASSERT_TRUE(patient.ok()) << patient.error().to_string();

  TrustAnchors anchors{{*cert}, {}};
  auto crl =
      ca->make_crl({{patient->serial_hex(), testing::kNow, RevocationReason::kAffiliationChanged}},
                   1, testing::kNow, 7);
  ASSERT_TRUE(crl.ok()) << crl.error().to_string();
  EXPECT_TRUE(validate_chain(*doctor, anchors, {*crl}, testing::kNow + 60, Role::kDoctor).ok());
  auto revoked = validate_chain(*patient, anchors, {*crl}, testing::kNow + 60, Role::kPatient);
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code, core::ErrorCode::kCertificateRevoked);
}

TEST_F(TokenCa, Ed25519TokenKeyCannotBeACaKey) {
  auto signer = token_key("ca-ed", core::KeyAlgorithm::kEd25519);
  auto cert =
      CertificateAuthority::self_signed(*signer, testing::ca_options("hospital-a"), testing::kNow);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, core::ErrorCode::kUnsupportedAlgorithm);
}

TEST_F(TokenCa, IntermediateInTokenUnderSoftwareRootVerifiesWithOpenssl) {
  auto root = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  auto root_cert = CertificateAuthority::self_signed(
      **root, testing::ca_options("hospital-a", 0, 1, "hospital-a Root CA"), std::time(nullptr));
  ASSERT_TRUE(root_cert.ok());
  auto root_ca = CertificateAuthority::open(**root, *root_cert, {});
  auto signer = token_key("ca-hospital-a", core::KeyAlgorithm::kEcdsaP256);
  auto csr = CertificateAuthority::intermediate_request(*signer, testing::ca_options("hospital-a"));
  ASSERT_TRUE(csr.ok()) << csr.error().to_string();
  auto intermediate_cert =
      root_ca->issue_intermediate(*csr, testing::ca_options("hospital-a"), std::time(nullptr));
  ASSERT_TRUE(intermediate_cert.ok()) << intermediate_cert.error().to_string();
  auto ca = CertificateAuthority::open(*signer, *intermediate_cert, {*root_cert});
  ASSERT_TRUE(ca.ok()) << ca.error().to_string();
  auto node =
      ca->issue(testing::make_csr(), testing::request(Role::kNode, "node-1"), std::time(nullptr));
  ASSERT_TRUE(node.ok());

  testing::TempDir temp;
  auto result = run("openssl verify -x509_strict -CAfile " +
                    quoted(temp.write("root.pem", root_cert->to_pem())) + " -untrusted " +
                    quoted(temp.write("int.pem", intermediate_cert->to_pem())) + " " +
                    quoted(temp.write("node.pem", node->to_pem())));
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

// ---- the command line ----------------------------------------------------------

class CaCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.init_token_with_softhsm_util(kTokenLabel, "so-pin-1234", kUserPin);
    pin_ = dir_.write_private_file("user.pin", kUserPin);
    ca_dir_ = temp_.path() / "ca";
  }
  testing::CommandResult cli(const std::string& args) {
    return run(std::string("'") + MEDLEDGER_CLI + "' " + args);
  }
  std::string token_args() const {
    return std::string("--token ") + kTokenLabel + " --pin file:" + quoted(pin_) + " --ca-dir " +
           quoted(ca_dir_);
  }
  std::string dir_args() const { return "--ca-dir " + quoted(ca_dir_); }

  medledger::testing::SoftHsmDirectory dir_;
  testing::TempDir temp_;
  std::filesystem::path pin_;
  std::filesystem::path ca_dir_;
};

TEST_F(CaCli, InitIssueRevokeCrlExportRoundTripThroughOpenssl) {
  auto init = cli("ca init --hospital hospital-a " + token_args());
  ASSERT_EQ(init.exit_code, 0) << init.output;
  auto csr = temp_.path() / "dr.csr";
  ASSERT_EQ(run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                quoted(temp_.path() / "dr.key") + " -out " + quoted(csr) + " -subj /CN=dr-1")
                .exit_code,
            0);
  auto cert = temp_.path() / "dr.pem";
  auto issued = cli("ca issue --csr " + quoted(csr) + " --role doctor --id dr-1 --out " +
                    quoted(cert) + " " + token_args());
  ASSERT_EQ(issued.exit_code, 0) << issued.output;
  auto chain = temp_.path() / "chain.pem";
  ASSERT_EQ(cli("ca export --out " + quoted(chain) + " " + dir_args()).exit_code, 0);
  auto ok = run("openssl verify -x509_strict -CAfile " + quoted(chain) + " " + quoted(cert));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;

  auto serial = run("openssl x509 -noout -serial -in " + quoted(cert)).output.substr(7);
  serial.erase(serial.find_last_not_of("\n") + 1);
  auto revoke = cli("ca revoke --serial " + serial + " --reason keyCompromise " + dir_args());
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  auto crl = temp_.path() / "crl.pem";
  auto made = cli("ca crl --out " + quoted(crl) + " " + token_args());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto crl_ok =
      run("openssl crl -in " + quoted(crl) + " -CAfile " + quoted(chain) + " -verify -noout");
  EXPECT_NE(crl_ok.output.find("verify OK"), std::string::npos) << crl_ok.output;
  auto rejected = run("openssl verify -crl_check -CAfile " + quoted(chain) + " -CRLfile " +
                      quoted(crl) + " " + quoted(cert));
  EXPECT_NE(rejected.exit_code, 0) << rejected.output;
  auto ours = cli("ca verify --cert " + quoted(cert) + " --crl " + quoted(crl) + " " + dir_args());
  EXPECT_EQ(ours.exit_code, core::exit_code_for(core::ErrorCode::kCertificateRevoked))
      << ours.output;

  auto p7b = temp_.path() / "chain.p7b";
  ASSERT_EQ(
      cli("ca export --format p7b --serial " + serial + " --out " + quoted(p7b) + " " + dir_args())
          .exit_code,
      0);
  auto printed = run("openssl pkcs7 -inform DER -print_certs -noout -in " + quoted(p7b));
  EXPECT_NE(printed.output.find("CN = dr-1"), std::string::npos) << printed.output;
}

TEST_F(CaCli, BadInputsEndWithTheirStableExitCodes) {
  ASSERT_EQ(cli("ca init --hospital hospital-a " + token_args()).exit_code, 0);
  auto again = cli("ca init --hospital hospital-a " + token_args());
  EXPECT_EQ(again.exit_code, core::exit_code_for(core::ErrorCode::kAlreadyExists)) << again.output;
  auto junk = temp_.write(
      "junk.csr",
      std::string(
          "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"));
  auto bad_csr = cli("ca issue --csr " + quoted(junk) + " --role doctor --id dr-1 " + token_args());
  EXPECT_EQ(bad_csr.exit_code, core::exit_code_for(core::ErrorCode::kCsrInvalid)) << bad_csr.output;
  auto csr =
      temp_.write("ca.csr", testing::make_csr(testing::CsrSpec().with_extensions(
                                                  {{NID_basic_constraints, "critical,CA:TRUE"}}))
                                .to_pem());
  auto ca_true = cli("ca issue --csr " + quoted(csr) + " --role admin --id adm-1 " + token_args());
  EXPECT_EQ(ca_true.exit_code, core::exit_code_for(core::ErrorCode::kProfileViolation))
      << ca_true.output;
  auto unknown = cli("ca revoke --serial ABCDEF " + dir_args());
  EXPECT_EQ(unknown.exit_code, core::exit_code_for(core::ErrorCode::kNotFound)) << unknown.output;
  auto no_ca = cli("ca show --ca-dir " + quoted(temp_.path() / "nothing"));
  EXPECT_EQ(no_ca.exit_code, core::exit_code_for(core::ErrorCode::kCaNotInitialized))
      << no_ca.output;
  // The PIN never appears in output.
  EXPECT_EQ(bad_csr.output.find(kUserPin), std::string::npos);
}

TEST_F(CaCli, IntermediateFlowWithOfflineRoot) {
  auto root_key = temp_.path() / "root.key";
  auto root_cert = temp_.path() / "root.pem";
  ASSERT_EQ(cli("ca root-init --hospital hospital-a --key-out " + quoted(root_key) + " --out " +
                quoted(root_cert))
                .exit_code,
            0);
  auto csr = temp_.path() / "int.csr";
  auto init =
      cli("ca init --hospital hospital-a --intermediate-csr " + quoted(csr) + " " + token_args());
  ASSERT_EQ(init.exit_code, 0) << init.output;
  auto pending = cli("ca show " + dir_args());
  EXPECT_EQ(pending.exit_code, core::exit_code_for(core::ErrorCode::kCaNotInitialized))
      << pending.output;
  auto int_cert = temp_.path() / "int.pem";
  auto signed_ = cli("ca sign-intermediate --root-key " + quoted(root_key) + " --root-cert " +
                     quoted(root_cert) + " --csr " + quoted(csr) +
                     " --hospital hospital-a --days 1000 --out " + quoted(int_cert));
  ASSERT_EQ(signed_.exit_code, 0) << signed_.output;
  auto imported = cli("ca import --cert " + quoted(int_cert) + " --chain " + quoted(root_cert) +
                      " " + token_args());
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  auto node_key = temp_.write("node.pub", public_key_pem());
  auto node = temp_.path() / "node.pem";
  auto issued = cli("ca issue --public-key " + quoted(node_key) +
                    " --role node --id node-1 --out " + quoted(node) + " " + token_args());
  ASSERT_EQ(issued.exit_code, 0) << issued.output;
  auto chain = temp_.path() / "chain.pem";
  ASSERT_EQ(cli("ca export --out " + quoted(chain) + " " + dir_args()).exit_code, 0);
  auto ok = run("openssl verify -x509_strict -CAfile " + quoted(root_cert) + " -untrusted " +
                quoted(chain) + " " + quoted(node));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

// A node TLS key that never leaves the token: the CSR is signed by the token key,
// carries the SANs, and the certificate the CA issues from it holds that key.
TEST_F(CaCli, RequestForATokenKeyCarriesItsSansAndIsIssuedForThatKey) {
  ASSERT_EQ(cli("ca init --hospital hospital-a " + token_args()).exit_code, 0);
  const std::string token = std::string("--token ") + kTokenLabel + " --pin file:" + quoted(pin_);
  ASSERT_EQ(cli("key generate --label node-tls " + token).exit_code, 0);
  auto csr = temp_.path() / "node-tls.csr";
  auto made = cli(
      "ca request --key-label node-tls --id node-a --san IP:127.0.0.1 --san DNS:localhost --out " +
      quoted(csr) + " " + token_args());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto checked = run("openssl req -verify -noout -text -in " + quoted(csr));
  EXPECT_NE(checked.output.find("verify OK"), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("IP Address:127.0.0.1"), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("DNS:localhost"), std::string::npos) << checked.output;

  auto cert = temp_.path() / "node-tls.pem";
  auto issued = cli("ca issue --csr " + quoted(csr) + " --role node --id node-a --out " +
                    quoted(cert) + " " + token_args());
  ASSERT_EQ(issued.exit_code, 0) << issued.output;
  auto public_key = temp_.path() / "node-tls.pub";
  ASSERT_EQ(
      cli("key export-public --label node-tls --out " + quoted(public_key) + " " + token).exit_code,
      0);
  auto from_cert = run("openssl x509 -noout -pubkey -in " + quoted(cert));
  EXPECT_EQ(from_cert.output, run("cat " + quoted(public_key)).output)
      << "the certificate is for the token key";
  auto sans = run("openssl x509 -noout -ext subjectAltName -in " + quoted(cert));
  EXPECT_NE(sans.output.find("IP Address:127.0.0.1"), std::string::npos) << sans.output;

  // Bad input: an unknown key, a SAN of another kind.
  auto missing = cli("ca request --key-label no-such-key --id node-a --out " + quoted(csr) + " " +
                     token_args());
  EXPECT_EQ(missing.exit_code, core::exit_code_for(core::ErrorCode::kKeyNotFound))
      << missing.output;
  auto bad_san =
      cli("ca request --key-label node-tls --id node-a --san email:x@example.org --out " +
          quoted(csr) + " " + token_args());
  EXPECT_EQ(bad_san.exit_code, core::exit_code_for(core::ErrorCode::kInvalidArgument))
      << bad_san.output;
}

TEST_F(CaCli, ConfigureAndOcspResponderWriteCaJsonAndCertificatesCarryTheUrls) {
  ASSERT_EQ(cli("ca init --hospital hospital-a " + token_args()).exit_code, 0);
  auto configured =
      cli("ca configure --ocsp-url https://ocsp.example/v1/ocsp --crl-url "
          "https://pki.example/v1/crl/hospital-a.crl --crl-validity-hours 48 " +
          dir_args());
  ASSERT_EQ(configured.exit_code, 0) << configured.output;
  EXPECT_NE(configured.output.find("crl_validity_hours: 48"), std::string::npos);
  // The refresh window (84 h by default) follows a shorter validity.
  EXPECT_NE(configured.output.find("crl_refresh_before_hours: 24"), std::string::npos)
      << configured.output;
  auto bad = cli("ca configure --crl-url ftp://x " + dir_args());
  EXPECT_EQ(bad.exit_code, core::exit_code_for(core::ErrorCode::kConfigInvalid)) << bad.output;

  auto responder = temp_.path() / "responder.pem";
  auto made = cli("ca ocsp-responder --days 7 --out " + quoted(responder) + " " + token_args());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto text = run("openssl x509 -noout -text -in " + quoted(responder));
  EXPECT_NE(text.output.find("OCSP Signing"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("OCSP No Check"), std::string::npos) << text.output;
  auto settings = CaDirectory::read_settings(ca_dir_);
  ASSERT_TRUE(settings.ok());
  EXPECT_FALSE(settings->revocation.ocsp_responder_key_id_hex.empty());
  EXPECT_EQ(settings->revocation.crl_validity_hours, 48);

  auto cert = temp_.path() / "pat.pem";
  auto key = temp_.path() / "pat.pub";
  ASSERT_EQ(run("openssl ecparam -name prime256v1 -genkey -noout | openssl ec -pubout -out " +
                quoted(key))
                .exit_code,
            0);
  ASSERT_EQ(cli("ca issue --public-key " + quoted(key) + " --role patient --id pat-1 --out " +
                quoted(cert) + " " + token_args())
                .exit_code,
            0);
  auto issued = run("openssl x509 -noout -text -in " + quoted(cert));
  EXPECT_NE(issued.output.find("OCSP - URI:https://ocsp.example/v1/ocsp"), std::string::npos)
      << issued.output;
  EXPECT_NE(issued.output.find("URI:https://pki.example/v1/crl/hospital-a.crl"), std::string::npos)
      << issued.output;

  // Each `ca crl` takes the next number and is stored as the published CRL.
  ASSERT_EQ(cli("ca crl --out " + quoted(temp_.path() / "1.crl") + " " + token_args()).exit_code,
            0);
  ASSERT_EQ(cli("ca crl --out " + quoted(temp_.path() / "2.crl") + " " + token_args()).exit_code,
            0);
  auto published = CaDirectory::open(ca_dir_)->current_crl();
  ASSERT_TRUE(published.ok() && published->has_value());
  EXPECT_EQ((*published)->number(), 2u);
}

}  // namespace
}  // namespace medledger::ca

// Interop with the openssl command line: what auditors and clients will run.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include "ca_test_support.h"
#include "medledger/ca/export.h"

namespace medledger::ca {
namespace {

using testing::run;

// The openssl CLI checks validity against the real clock, so these tests issue "now".
std::time_t now() { return std::time(nullptr); }

std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class Interop : public ::testing::Test {
 protected:
  testing::TempDir temp_;
};

TEST_F(Interop, OpensslVerifyAcceptsIssuedChainWithIntermediate) {
  auto [root, intermediate] = testing::make_root_and_intermediate();
  auto leaf =
      intermediate.ca->issue(testing::make_csr(), testing::request(Role::kDoctor, "dr-1"), now());
  ASSERT_TRUE(leaf.ok());
  auto root_file = temp_.write("root.pem", root.ca->certificate().to_pem());
  auto untrusted = temp_.write("intermediate.pem", intermediate.ca->certificate().to_pem());
  auto leaf_file = temp_.write("leaf.pem", leaf->to_pem());
  auto result = run("openssl verify -x509_strict -CAfile " + quoted(root_file) + " -untrusted " +
                    quoted(untrusted) + " " + quoted(leaf_file));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  // Without the intermediate there is no path.
  auto without = run("openssl verify -CAfile " + quoted(root_file) + " " + quoted(leaf_file));
  EXPECT_NE(without.exit_code, 0) << without.output;
}

TEST_F(Interop, OpensslVerifyWithCrlRejectsRevokedAndAcceptsOthers) {
  auto ca = testing::make_ca();
  auto revoked = ca.ca->issue(testing::make_csr(), testing::request(Role::kPatient, "p-1"), now());
  auto kept = ca.ca->issue(testing::make_csr(), testing::request(Role::kPatient, "p-2"), now());
  ASSERT_TRUE(revoked.ok() && kept.ok());
  auto crl = ca.ca->make_crl({{revoked->serial_hex(), now(), RevocationReason::kKeyCompromise}}, 1,
                             now(), 7);
  ASSERT_TRUE(crl.ok());
  auto ca_file = temp_.write("ca.pem", ca.ca->certificate().to_pem());
  auto crl_file = temp_.write("crl.pem", crl->to_pem());
  auto revoked_file = temp_.write("revoked.pem", revoked->to_pem());
  auto kept_file = temp_.write("kept.pem", kept->to_pem());
  std::string base = "openssl verify -crl_check -CAfile " + quoted(ca_file) + " -CRLfile " +
                     quoted(crl_file) + " ";
  auto bad = run(base + quoted(revoked_file));
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_NE(bad.output.find("revoked"), std::string::npos) << bad.output;
  auto good = run(base + quoted(kept_file));
  EXPECT_EQ(good.exit_code, 0) << good.output;
}

TEST_F(Interop, OpensslCrlVerifyAcceptsTheCrlAndPrintsTheReason) {
  auto ca = testing::make_ca();
  auto crl =
      ca.ca->make_crl({{"01AB", now(), RevocationReason::kCessationOfOperation}}, 42, now(), 7);
  ASSERT_TRUE(crl.ok());
  auto ca_file = temp_.write("ca.pem", ca.ca->certificate().to_pem());
  auto crl_file = temp_.write("crl.der", crl->to_der());
  auto result = run("openssl crl -inform DER -in " + quoted(crl_file) + " -CAfile " +
                    quoted(ca_file) + " -verify -noout -text");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("verify OK"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("Cessation Of Operation"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("42"), std::string::npos) << result.output;
  // Another CA's certificate does not verify it.
  auto other = testing::make_ca();
  auto other_file = temp_.write("other.pem", other.ca->certificate().to_pem());
  auto wrong = run("openssl crl -inform DER -in " + quoted(crl_file) + " -CAfile " +
                   quoted(other_file) + " -verify -noout");
  EXPECT_EQ(wrong.output.find("verify OK"), std::string::npos) << wrong.output;
}

TEST_F(Interop, OpensslPkcs7PrintCertsReadsTheExport) {
  auto [root, intermediate] = testing::make_root_and_intermediate("hospital-x");
  auto der = pkcs7_certs_only_der(intermediate.ca->chain());
  ASSERT_TRUE(der.ok());
  auto file = temp_.write("chain.p7b", *der);
  auto result = run("openssl pkcs7 -inform DER -in " + quoted(file) + " -print_certs -noout");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("hospital-x Root CA"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("CN = hospital-x CA"), std::string::npos) << result.output;
}

TEST_F(Interop, CsrFromOpensslReqIsIssuedAndVerifies) {
  auto key = temp_.path() / "key.pem";
  auto csr_file = temp_.path() / "req.pem";
  auto made =
      run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
          quoted(key) + " -out " + quoted(csr_file) +
          " -subj '/O=hospital-a/OU=node/CN=node-7' -addext 'subjectAltName=DNS:node7.example'");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto csr = CertificateRequest::parse(core::to_bytes(read(csr_file)));
  ASSERT_TRUE(csr.ok()) << csr.error().to_string();
  auto ca = testing::make_ca("hospital-a");
  auto cert = ca.ca->issue(*csr, testing::request(Role::kNode, "node-7"), now());
  ASSERT_TRUE(cert.ok()) << cert.error().to_string();
  auto ca_file = temp_.write("ca.pem", ca.ca->certificate().to_pem());
  auto cert_file = temp_.write("node.pem", cert->to_pem());
  auto verify = run("openssl verify -x509_strict -purpose sslserver -CAfile " + quoted(ca_file) +
                    " " + quoted(cert_file));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  // The certificate is for the key openssl generated.
  auto modulus = run("openssl x509 -in " + quoted(cert_file) + " -noout -pubkey");
  auto expected = run("openssl pkey -in " + quoted(key) + " -pubout");
  EXPECT_EQ(modulus.output, expected.output);
}

TEST_F(Interop, OpensslReqWithRsaKeyIsRefusedByTheProfile) {
  auto csr_file = temp_.path() / "rsa.pem";
  auto made =
      run("openssl req -new -newkey rsa:2048 -nodes -keyout " + quoted(temp_.path() / "k.pem") +
          " -out " + quoted(csr_file) + " -subj '/CN=dr-1'");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto csr = CertificateRequest::parse(core::to_bytes(read(csr_file)));
  ASSERT_TRUE(csr.ok());
  auto ca = testing::make_ca();
  auto cert = ca.ca->issue(*csr, testing::request(Role::kDoctor, "dr-1"), now());
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, core::ErrorCode::kProfileViolation);
  EXPECT_NE(cert.error().message.find("RSA-2048"), std::string::npos) << cert.error().message;
}

}  // namespace
}  // namespace medledger::ca

// The published CRL on real SoftHSM2 tokens and a real ledger: kept across a
// restart (same number, no new signature), re-signed when its nextUpdate nears
// (crl_refresh_before_hours) with the next number, and the OCSP view of a
// revocation the subject made through the ledger without the CA.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

#include "hospital_node_fixture.h"
#include "medledger/ca/certificate.h"
#include "medledger/ca/ocsp.h"
#include "medledger/ca/store.h"
#include "medledger/hsm/key_store.h"
#include "medledger/ledger/records_contract.h"

namespace medledger::node::testing {
namespace {

class CrlPublishingTest : public TwoHospitals {
 protected:
  std::filesystem::path ca_dir() const { return root_ / "a-ca"; }

  ca::Crl crl() {
    return expect_ok(ca::Crl::parse(core::to_bytes(expect_ok(node_a_->ca().crl_pem()))));
  }

  void reopen_a() {
    node_a_.reset();
    node_a_ = expect_ok(HospitalNode::open(root_ / "a", pool_a_, *ledger_, options()));
  }
};

TEST_F(CrlPublishingTest, PublishedCrlSurvivesARestartWithItsNumber) {
  const ca::Crl first = crl();
  reopen_a();
  const ca::Crl after = crl();
  EXPECT_EQ(after.number(), first.number());
  EXPECT_EQ(after.to_der(), first.to_der());  // the same bytes: not signed again
  auto stored = expect_ok(expect_ok(ca::CaDirectory::open(ca_dir())).current_crl());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->to_der(), first.to_der());
}

TEST_F(CrlPublishingTest, CrlNearItsNextUpdateIsResignedWithTheNextNumber) {
  // A published CRL that expires in 30 minutes, with a refresh window of an hour.
  auto store = expect_ok(ca::CaDirectory::open(ca_dir()));
  auto settings = store.settings();
  settings.revocation.crl_validity_hours = 24;
  settings.revocation.crl_refresh_hours = 1;
  expect_ok(store.save_settings(settings));
  hsm::KeyStore keys(pool_a_);
  auto signer = expect_ok(keys.signer(*core::hex_decode(settings.key_id_hex)));
  auto authority = expect_ok(ca::CertificateAuthority::open(*signer, store.chain().front(), {}));
  const std::time_t now = std::time(nullptr);
  const std::uint64_t number = expect_ok(store.next_crl_number());
  auto stale = expect_ok(authority.make_crl_until({}, number, now - 3600, now + 1800));
  expect_ok(store.save_crl(stale));
  reopen_a();

  const ca::Crl fresh = crl();
  EXPECT_EQ(fresh.number(), number + 1);
  ASSERT_TRUE(fresh.next_update());
  EXPECT_GE(*fresh.next_update(), now + 24 * 3600);
  EXPECT_EQ(crl().number(), number + 1);  // and then kept
}

// The subject revokes their own certificate on the ledger (no CA directory change).
void revoke_as_subject(HospitalNode& node, ConsortiumLedger& ledger, const ca::Certificate& cert) {
  ledger::Transaction tx;
  tx.type = std::string(ledger::kTxCertRevoke);
  tx.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  tx.nonce = core::Bytes(ledger::kMinNonceBytes, 0x6b);
  tx.body = ledger::make_cert_revoke_body(ledger::certificate_fingerprint(cert), "superseded");
  expect_ok(node.signing().sign(tx, "hospital-a/dr-a", by_pin(kDoctorPin)));
  ASSERT_EQ(expect_ok(ledger.submit(tx)).result, ledger::kTxAccepted);
}

TEST_F(CrlPublishingTest, CliCrlWithTheNodeDirectoryListsTheLedgerRevocations) {
  auto cert = expect_ok(
      ca::Certificate::from_pem(expect_ok(node_a_->persons().find("hospital-a/dr-a")).cert_pem));
  revoke_as_subject(*node_a_, *ledger_, cert);
  const auto pin = root_ / "user.pin";
  std::ofstream(pin) << kUserPin;
  auto crl_of = [&](const std::string& extra) {
    const auto out = root_ / "cli.crl";
    const std::string command = std::string("'") + MEDLEDGER_CLI_PATH + "' ca crl --ca-dir '" +
                                ca_dir().string() + "' --module '" +
                                medledger::testing::SoftHsmDirectory::module_path() +
                                "' --token hospital-a --pin 'file:" + pin.string() + "' --out '" +
                                out.string() + "' " + extra + " 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream in(out, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return expect_ok(ca::Crl::parse(core::to_bytes(text)));
  };
  auto listed = [&](const ca::Crl& crl) {
    auto serials = crl.revoked_serials();
    return std::find(serials.begin(), serials.end(), cert.serial_hex()) != serials.end();
  };
  EXPECT_FALSE(listed(crl_of("")));  // the CA directory alone does not know it
  EXPECT_TRUE(listed(crl_of("--node-dir '" + (root_ / "a").string() + "'")));
}

TEST_F(CrlPublishingTest, OcspSeesARevocationTheSubjectMadeThroughTheLedger) {
  auto person = expect_ok(node_a_->persons().find("hospital-a/dr-a"));
  auto cert = expect_ok(ca::Certificate::from_pem(person.cert_pem));
  auto ca_cert = expect_ok(ca::CaDirectory::open(ca_dir())).chain().front();
  OCSP_REQUEST* raw = OCSP_REQUEST_new();
  OCSP_request_add0_id(raw, OCSP_cert_to_id(EVP_sha1(), cert.get(), ca_cert.get()));
  const int size = i2d_OCSP_REQUEST(raw, nullptr);
  core::Bytes der(static_cast<std::size_t>(size));
  unsigned char* p = der.data();
  i2d_OCSP_REQUEST(raw, &p);
  OCSP_REQUEST_free(raw);
  auto request = expect_ok(ca::OcspRequest::parse(der));
  ASSERT_TRUE(node_a_->ca().serves_ocsp(request));
  EXPECT_FALSE(node_b_->ca().serves_ocsp(request));
  EXPECT_EQ(error_of(node_b_->ca().ocsp_response(request)), core::ErrorCode::kOcspIssuerUnknown);

  auto status_of = [&] {
    auto answer = expect_ok(node_a_->ca().ocsp_response(request));
    const unsigned char* q = answer.data();
    OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &q, static_cast<long>(answer.size()));
    OCSP_BASICRESP* basic = OCSP_response_get1_basic(response);
    int reason = 0;
    const int status =
        OCSP_single_get0_status(OCSP_resp_get0(basic, 0), &reason, nullptr, nullptr, nullptr);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(response);
    return status;
  };
  EXPECT_EQ(status_of(), V_OCSP_CERTSTATUS_GOOD);

  revoke_as_subject(*node_a_, *ledger_, cert);
  // Ledger state is re-read at most once a second for OCSP.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(status_of(), V_OCSP_CERTSTATUS_REVOKED);
}

}  // namespace
}  // namespace medledger::node::testing

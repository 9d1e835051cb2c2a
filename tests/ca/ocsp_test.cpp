// OCSP (RFC 6960) with a software-key CA: strict request parsing, responses
// signed through the Signer and checked with OpenSSL's own verification, the
// delegated responder certificate, publication URLs and ca.json settings.
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include "ca_test_support.h"
#include "medledger/ca/limits.h"
#include "medledger/ca/ocsp.h"
#include "medledger/ca/store.h"

namespace medledger::ca {
namespace {

using namespace testing;

using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, core::OpenSslDeleter<OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, core::OpenSslDeleter<OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, core::OpenSslDeleter<OCSP_BASICRESP_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, core::OpenSslDeleter<X509_STORE_free>>;

template <typename T>
T must(core::Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.error().to_string();
  return std::move(*result);
}

// A DER OCSPRequest for `serials` of `issuer` (SHA-1 CertIDs, as `openssl ocsp` makes them).
core::Bytes request_der(const Certificate& issuer, const std::vector<long>& serials,
                        bool nonce = true) {
  OcspRequestPtr request(OCSP_REQUEST_new());
  for (long serial : serials) {
    ASN1_INTEGER* number = ASN1_INTEGER_new();
    ASN1_INTEGER_set(number, serial);
    OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer.get()),
                                       X509_get0_pubkey_bitstr(issuer.get()), number);
    ASN1_INTEGER_free(number);
    OCSP_request_add0_id(request.get(), id);
  }
  if (nonce) OCSP_request_add1_nonce(request.get(), nullptr, 16);
  int size = i2d_OCSP_REQUEST(request.get(), nullptr);
  core::Bytes out(static_cast<std::size_t>(size));
  unsigned char* p = out.data();
  i2d_OCSP_REQUEST(request.get(), &p);
  return out;
}

OcspResponsePtr parse_response(const core::Bytes& der) {
  const unsigned char* p = der.data();
  return OcspResponsePtr(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
}

class OcspTest : public ::testing::Test {
 protected:
  SoftwareCa ca_ = make_ca();
  const Certificate& issuer() const { return ca_.ca->certificate(); }

  OcspResponder ca_responder() {
    return must(OcspResponder::open(*ca_.signer, issuer(), issuer()));
  }

  // OCSP_basic_verify (at the current time) against the CA as the only trust anchor;
  // a CA-signed answer carries no certificate, so the CA is also offered as signer.
  static bool verifies(OCSP_BASICRESP* basic, const Certificate& anchor) {
    X509StorePtr store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), anchor.get());
    STACK_OF(X509)* signers = sk_X509_new_null();
    sk_X509_push(signers, anchor.get());
    const bool ok = OCSP_basic_verify(basic, signers, store.get(), 0) == 1;
    sk_X509_free(signers);
    return ok;
  }
};

TEST_F(OcspTest, ResponseNamesEachStatusEchoesTheNonceAndVerifiesWithOpenssl) {
  const core::Bytes der = request_der(issuer(), {1, 2, 3});
  auto request = must(OcspRequest::parse(der));
  ASSERT_EQ(request.size(), 3u);
  EXPECT_EQ(request.serial_hex(1), "02");  // as Certificate::serial_hex writes it
  EXPECT_TRUE(request.issued_by(issuer()));
  EXPECT_TRUE(request.has_nonce());
  std::vector<OcspCertStatus> statuses(3);
  statuses[0].kind = OcspCertStatus::Kind::kGood;
  statuses[1] = {OcspCertStatus::Kind::kRevoked, kNow - kDay, RevocationReason::kKeyCompromise};
  // Now, not kNow: OpenSSL checks thisUpdate/nextUpdate and the chain at the current time.
  auto answer = must(ca_responder().respond(request, statuses, std::time(nullptr), 3600));

  auto response = parse_response(answer);
  ASSERT_TRUE(response);
  EXPECT_EQ(OCSP_response_status(response.get()), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  OcspBasicPtr basic(OCSP_response_get1_basic(response.get()));
  ASSERT_TRUE(basic);
  EXPECT_TRUE(verifies(basic.get(), issuer()));
  EXPECT_EQ(OCSP_check_nonce(request.get(), basic.get()), 1);
  const int expected[] = {V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED,
                          V_OCSP_CERTSTATUS_UNKNOWN};
  for (int i = 0; i < 3; ++i) {
    int reason = -2;
    ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
    OCSP_SINGLERESP* single = OCSP_resp_get0(basic.get(), i);
    EXPECT_EQ(OCSP_single_get0_status(single, &reason, &revoked, &this_update, &next_update),
              expected[i]);
    ASSERT_NE(next_update, nullptr);
    EXPECT_EQ(OCSP_check_validity(this_update, next_update, 0, -1), 1) << "thisUpdate/nextUpdate";
    if (i == 1) {
      EXPECT_EQ(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
      ASSERT_NE(revoked, nullptr);
    }
  }
}

TEST_F(OcspTest, MalformedRequestsAreRefusedWithTheirRule) {
  const core::Bytes good = request_der(issuer(), {7});
  core::Bytes trailing = good;
  trailing.push_back(0);
  core::Bytes truncated(good.begin(), good.end() - 3);
  core::Bytes oversize(kMaxOcspRequestBytes + 1, 0x30);
  std::vector<long> many(kMaxOcspRequestCertificates + 1, 5);
  const core::Bytes cases[] = {{},
                               core::to_bytes("GET / HTTP/1.0"),
                               trailing,
                               truncated,
                               oversize,
                               request_der(issuer(), {}, false),
                               request_der(issuer(), many)};
  for (const auto& bytes : cases) {
    auto parsed = OcspRequest::parse(bytes);
    ASSERT_FALSE(parsed.ok()) << bytes.size();
    EXPECT_EQ(parsed.error().code, core::ErrorCode::kOcspRequestMalformed);
  }
}

TEST_F(OcspTest, AnotherCasRequestIsNotIssuedByThisCa) {
  SoftwareCa other = make_ca("hospital-b");
  auto request = must(OcspRequest::parse(request_der(other.ca->certificate(), {1})));
  EXPECT_FALSE(request.issued_by(issuer()));
  EXPECT_TRUE(request.issued_by(other.ca->certificate()));
}

TEST_F(OcspTest, ErrorResponsesCarryOnlyTheirStatus) {
  for (auto status : {OcspResponseStatus::kMalformedRequest, OcspResponseStatus::kUnauthorized,
                      OcspResponseStatus::kTryLater, OcspResponseStatus::kInternalError}) {
    auto response = parse_response(ocsp_error_response(status));
    ASSERT_TRUE(response);
    EXPECT_EQ(OCSP_response_status(response.get()), static_cast<int>(status));
    EXPECT_EQ(OCSP_response_get1_basic(response.get()), nullptr);
  }
  EXPECT_EQ(ocsp_response_status_name(OcspResponseStatus::kMalformedRequest), "malformedRequest");
}

TEST_F(OcspTest, DelegatedResponderCertificateHasOcspSigningAndNoCheckAndSigns) {
  auto responder_signer = must(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256));
  const std::time_t now = std::time(nullptr);
  auto cert = must(ca_.ca->issue_ocsp_responder(responder_signer->public_key_spki(), 30, now));
  EXPECT_NE(X509_get_extended_key_usage(cert.get()) & XKU_OCSP_SIGN, 0u);
  EXPECT_GE(X509_get_ext_by_NID(cert.get(), NID_id_pkix_OCSP_noCheck, -1), 0);
  EXPECT_FALSE(cert.is_ca());
  EXPECT_EQ(cert.not_after(), now + 30 * kDay);
  auto responder = must(OcspResponder::open(*responder_signer, cert, issuer()));
  EXPECT_TRUE(responder.delegated());
  auto request = must(OcspRequest::parse(request_der(issuer(), {9})));
  std::vector<OcspCertStatus> statuses(1);
  auto response = parse_response(must(responder.respond(request, statuses, now, 60)));
  OcspBasicPtr basic(OCSP_response_get1_basic(response.get()));
  ASSERT_TRUE(basic);
  EXPECT_EQ(sk_X509_num(OCSP_resp_get0_certs(basic.get())), 1);  // the delegate travels along
  EXPECT_TRUE(verifies(basic.get(), issuer()));

  EXPECT_EQ(
      ca_.ca->issue_ocsp_responder(responder_signer->public_key_spki(), 91, kNow).error().code,
      core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ca_.ca->issue_ocsp_responder(make_spki(TestKey::kEd25519), 30, kNow).error().code,
            core::ErrorCode::kProfileViolation);
}

TEST_F(OcspTest, ResponderRefusesAKeyItsCertificateDoesNotCertifyOrANonDelegate) {
  auto stranger = must(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256));
  EXPECT_EQ(OcspResponder::open(*stranger, issuer(), issuer()).error().code,
            core::ErrorCode::kCertificateInvalid);
  // A doctor's certificate (no OCSPSigning) may not answer for the CA.
  auto doctor_key = must(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256));
  auto doctor = must(
      ca_.ca->issue_for_key(doctor_key->public_key_spki(), request(Role::kDoctor, "dr-1"), kNow));
  EXPECT_EQ(OcspResponder::open(*doctor_key, doctor, issuer()).error().code,
            core::ErrorCode::kCertificateInvalid);
}

TEST_F(OcspTest, IssuedCertificatesCarryThePublicationUrls) {
  ASSERT_TRUE(ca_.ca
                  ->set_publication_points(
                      {"http://ocsp.example/v1/ocsp", "https://pki.example/v1/crl/hospital-a.crl"})
                  .ok());
  auto cert = must(
      ca_.ca->issue_for_key(make_spki(TestKey::kP256), request(Role::kPatient, "pat-1"), kNow));
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(cert.get(), NID_info_access, nullptr, nullptr));
  ASSERT_NE(aia, nullptr);
  ACCESS_DESCRIPTION* first = sk_ACCESS_DESCRIPTION_value(aia, 0);
  EXPECT_EQ(OBJ_obj2nid(first->method), NID_ad_OCSP);
  AUTHORITY_INFO_ACCESS_free(aia);
  EXPECT_GE(X509_get_ext_by_NID(cert.get(), NID_crl_distribution_points, -1), 0);

  for (const char* bad : {"ftp://x", "http://a b", "http://a,b", "https://", "ldap://x;y"}) {
    EXPECT_EQ(ca_.ca->set_publication_points({bad, ""}).error().code,
              core::ErrorCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(OcspTest, CaJsonRevocationSettingsRoundTripAndAreChecked) {
  TempDir dir;
  auto store = must(
      CaDirectory::create(dir.path() / "ca", {"hospital-a", "ca-hospital-a", "01"}, {issuer()}));
  CaSettings settings = store.settings();
  EXPECT_EQ(settings.revocation.crl_validity_hours, 168);
  settings.revocation.ocsp_url = "https://ocsp.example/v1/ocsp";
  settings.revocation.crl_validity_hours = 48;
  settings.revocation.crl_refresh_hours = 12;
  settings.revocation.ocsp_responder_key_id_hex = "a1b2";
  ASSERT_TRUE(store.save_settings(settings).ok());
  auto read = must(CaDirectory::read_settings(dir.path() / "ca"));
  EXPECT_EQ(read.revocation.ocsp_url, settings.revocation.ocsp_url);
  EXPECT_EQ(read.revocation.crl_validity_hours, 48);
  EXPECT_EQ(read.revocation.crl_refresh_hours, 12);
  EXPECT_EQ(read.revocation.ocsp_responder_key_id_hex, "a1b2");

  settings.revocation.crl_refresh_hours = 48;  // not before the validity ends
  EXPECT_EQ(store.save_settings(settings).error().code, core::ErrorCode::kConfigInvalid);

  auto crl = must(ca_.ca->make_crl_until({{"1A", kNow - 10, RevocationReason::kSuperseded}}, 4,
                                         kNow, kNow + 3600));
  EXPECT_EQ(crl.next_update(), kNow + 3600);
  ASSERT_TRUE(store.save_crl(crl).ok());
  auto stored = must(store.current_crl());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->number(), 4u);
  ASSERT_EQ(stored->entries().size(), 1u);
  EXPECT_EQ(stored->entries()[0].serial_hex, "1A");
  EXPECT_EQ(stored->entries()[0].revoked_at, kNow - 10);
  EXPECT_EQ(stored->entries()[0].reason, RevocationReason::kSuperseded);
}

}  // namespace
}  // namespace medledger::ca

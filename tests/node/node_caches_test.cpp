// HospitalNode's in-memory caches on real SoftHSM2 tokens and a real ledger: the
// unwrapped patient key (no token ECDH per seal; a rotation replaces it) and the
// last CRL (re-issued only when the revocations change).
#include <gtest/gtest.h>

#include "hospital_node_fixture.h"
#include "medledger/ca/certificate.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;
using NodeCachesTest = TwoHospitals;

std::int64_t sealed_key_version(ConsortiumLedger& ledger, const std::string& record) {
  auto state = expect_ok(ledger::StateSnapshot::open(ledger.ledger().store()));
  auto version = expect_ok(ledger::find_record_version(*state, record, 1));
  EXPECT_TRUE(version && version->envelope);
  if (!version || !version->envelope) return -1;
  return version->envelope->at("patient_key_version").as_int64();
}

TEST_F(NodeCachesTest, SecondWriteForAPatientUsesTheKeyHeldInMemory) {
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  const auto first = node_a_->patient_key_cache_stats();
  EXPECT_EQ(first.size, 1u);
  (void)expect_ok(node_a_->records().put(fhir("rec-2"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  const auto second = node_a_->patient_key_cache_stats();
  EXPECT_EQ(second.hits, first.hits + 1);
  EXPECT_EQ(second.misses, first.misses);
  // Reading the own record opens it with the same held key.
  auto read = expect_ok(node_a_->records().read(read_at_a("rec-2"), by_pin(kDoctorPin)));
  EXPECT_EQ(core::to_string(read.plaintext), R"({"resourceType":"Observation"})");
  EXPECT_EQ(node_a_->patient_key_cache_stats().hits, second.hits + 1);
}

TEST_F(NodeCachesTest, RevokeAccessRotatesTheHeldKeySoLaterRecordsUseTheNewVersion) {
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  EXPECT_EQ(sealed_key_version(*ledger_, "rec-1"), 1);
  (void)expect_ok(node_a_->sharing().grant({"hospital-a/pat-a", "hospital-b", {}, std::nullopt},
                                           by_pin(kPatientPin)));
  (void)expect_ok(node_a_->sharing().revoke("hospital-a/pat-a", "hospital-b", by_pin(kPatientPin)));
  (void)expect_ok(node_a_->records().put(fhir("rec-2", "after revoke"), by_pin(kDoctorPin),
                                         by_pin(kPatientPin)));
  EXPECT_EQ(sealed_key_version(*ledger_, "rec-2"), 2);
  // Both versions still open at A; B holds neither the grant nor the new key.
  EXPECT_EQ(
      core::to_string(
          expect_ok(node_a_->records().read(read_at_a("rec-1"), by_pin(kDoctorPin))).plaintext),
      R"({"resourceType":"Observation"})");
  EXPECT_EQ(
      core::to_string(
          expect_ok(node_a_->records().read(read_at_a("rec-2"), by_pin(kDoctorPin))).plaintext),
      "after revoke");
  EXPECT_EQ(error_of(node_b_->records().read(read_at_b("rec-2"), by_pin(kDoctorPin))),
            ErrorCode::kGrantRevoked);
  expect_verify_clean();
}

TEST_F(NodeCachesTest, CrlIsReturnedAgainUntilARevocationChangesIt) {
  const std::string first_pem = expect_ok(node_a_->ca().crl_pem());
  const std::string again_pem = expect_ok(node_a_->ca().crl_pem());
  EXPECT_EQ(again_pem, first_pem);
  auto first = expect_ok(ca::Crl::parse(core::to_bytes(first_pem)));
  EXPECT_EQ(expect_ok(ca::Crl::parse(core::to_bytes(again_pem))).number(), first.number());

  auto person = expect_ok(node_a_->persons().find("hospital-a/dr-a"));
  auto cert = expect_ok(ca::Certificate::from_pem(person.cert_pem));
  (void)expect_ok(node_a_->persons().revoke("hospital-a/dr-a", "keyCompromise"));
  auto after = expect_ok(ca::Crl::parse(core::to_bytes(expect_ok(node_a_->ca().crl_pem()))));
  ASSERT_TRUE(first.number() && after.number());
  EXPECT_GT(*after.number(), *first.number());
  const auto serials = after.revoked_serials();
  EXPECT_NE(std::find(serials.begin(), serials.end(), cert.serial_hex()), serials.end());
}

}  // namespace
}  // namespace medledger::node::testing

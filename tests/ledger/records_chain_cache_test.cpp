// The contract's chain-validation cache (records_cert_cache.cpp): a cached success
// never outlives revocation, expiry or a change of the admitted CA set, failures
// are never cached, and `ledger verify` (fresh contract, cold or warm cache) agrees.
#include "records_fixture.h"

namespace medledger::ledger::testing {
namespace {

using ca::Role;
using core::ErrorCode;

class RecordsChainCache : public RecordsLedgerTest {
 protected:
  void SetUp() override {
    clear_chain_cache();  // tests run as separate processes; be explicit anyway
    RecordsLedgerTest::SetUp();
    doctor = enrol(*a, Role::kDoctor, "dr-1");
    patient = enrol(*a, Role::kPatient, "p-1");
    node = enrol(*a, Role::kNode, "node-1");
  }
  std::uint16_t put_new(const Identity& d, const Identity& p, const Identity& n) {
    return put(put_body("rec-" + std::to_string(++records_), 1, p), {&d, &p, &n}).first;
  }
  void expect_verify_clean_cold_and_warm() {
    expect_verify_clean();  // warm: the cache filled by the run above
    clear_chain_cache();
    expect_verify_clean();  // cold: every chain validated again
  }
  Identity doctor, patient, node;
  int records_ = 0;
};

TEST_F(RecordsChainCache, SecondWriteBySameSignersIsAnsweredFromTheCache) {
  EXPECT_ACCEPTED(put_new(doctor, patient, node));
  const auto first = chain_cache_stats();
  EXPECT_EQ(first.size, 3u);  // doctor, patient, node
  EXPECT_ACCEPTED(put_new(doctor, patient, node));
  const auto second = chain_cache_stats();
  EXPECT_EQ(second.hits, first.hits + 3);
  EXPECT_EQ(second.misses, first.misses);
  expect_verify_clean_cold_and_warm();
}

TEST_F(RecordsChainCache, CachedCertificateLaterRevokedIsRejected) {
  EXPECT_ACCEPTED(put_new(doctor, patient, node));
  EXPECT_ACCEPTED(put_new(doctor, patient, node));
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(doctor.fp, "keyCompromise"),
                                {&a->ca_identity}));
  EXPECT_CODE(put_new(doctor, patient, node), kCertificateRevoked);
  EXPECT_ACCEPTED(put_new(enrol(*a, Role::kDoctor, "dr-2"), patient, node));
  expect_verify_clean_cold_and_warm();
}

TEST_F(RecordsChainCache, CachedCertificateThatExpiresBetweenBlocksIsRejected) {
  Identity short_lived = issue(*a, Role::kPatient, "p-short", kT0, 1);
  EXPECT_ACCEPTED(register_cert(*a, short_lived));
  EXPECT_ACCEPTED(put_new(doctor, short_lived, node));
  EXPECT_ACCEPTED(put_new(doctor, short_lived, node));  // a cache hit
  now_ms += 2 * kDayMs;
  EXPECT_CODE(put_new(doctor, short_lived, node), kCertificateExpired);
  EXPECT_ACCEPTED(put_new(doctor, patient, node));
  expect_verify_clean_cold_and_warm();
}

TEST_F(RecordsChainCache, FailureIsNotCachedSoACertificateBecomingValidIsAccepted) {
  Identity later = issue(*a, Role::kDoctor, "dr-later", kT0 + 10 * 86400);
  EXPECT_ACCEPTED(register_cert(*a, later));
  const auto before = chain_cache_stats();
  EXPECT_CODE(put_new(later, patient, node), kCertificateNotYetValid);
  EXPECT_CODE(put_new(later, patient, node), kCertificateNotYetValid);
  EXPECT_EQ(chain_cache_stats().misses, before.misses + 2);  // decided in full both times
  now_ms += 11 * kDayMs;
  EXPECT_ACCEPTED(put_new(later, patient, node));
  expect_verify_clean_cold_and_warm();
}

TEST_F(RecordsChainCache, AdmittingAHospitalChangesTheCaSetAndRevalidates) {
  EXPECT_ACCEPTED(put_new(doctor, patient, node));
  // Hospital c's people cannot act before c is admitted...
  Identity doctor_c = issue(*c, Role::kDoctor, "dr-c");
  EXPECT_CODE(register_cert(*c, doctor_c), kCertNotOnLedger);
  EXPECT_CODE(register_cert(*a, doctor_c), kCertificateUntrusted);
  EXPECT_ACCEPTED(
      signed_submit(std::string(kTxHospitalAdmit),
                    make_hospital_admit_body({"hospital-c", {c->ca_identity.cert->to_pem()}}),
                    {&c->ca_identity, &a->ca_identity}));
  // ...and can afterwards: no earlier outcome sticks to the new CA set.
  EXPECT_ACCEPTED(register_cert(*c, doctor_c));
  Identity node_c = enrol(*c, Role::kNode, "node-c");
  const auto before = chain_cache_stats();
  EXPECT_ACCEPTED(put_new(doctor_c, patient, node_c));
  // a's patient was cached under the old CA set: validated again under the new one.
  EXPECT_EQ(chain_cache_stats().misses, before.misses + 3);
  EXPECT_ACCEPTED(put_new(doctor, patient, node));
  expect_verify_clean_cold_and_warm();
}

}  // namespace
}  // namespace medledger::ledger::testing

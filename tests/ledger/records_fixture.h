// A consortium for the medical-records contract tests: hospital CAs (software
// P-256 keys, ca::CertificateAuthority), people enrolled with cert.register, a real
// LMDB ledger with RecordsContract in a temporary directory, and transactions
// signed as docs/transactions.md says.
#pragma once

#include <openssl/rand.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ledger_fixture.h"
#include "medledger/ca/authority.h"
#include "medledger/core/error.h"
#include "medledger/core/software_signer.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"
#include "medledger/ledger/verify.h"

namespace medledger::ledger::testing {

/// Block time of the first block after genesis; certificates are issued around it.
inline constexpr std::int64_t kT0Ms = 1700000000000;
inline constexpr std::time_t kT0 = kT0Ms / 1000;
inline constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
/// Marker for "the ledger left the transaction out as a duplicate".
inline constexpr std::uint16_t kDuplicate = 0xffff;

inline std::uint16_t code(core::ErrorCode c) { return static_cast<std::uint16_t>(c); }
inline std::string code_name(std::uint16_t c) {
  if (c == kTxAccepted) return "ACCEPTED";
  if (c == kDuplicate) return "DUPLICATE";
  return std::string(core::error_code_name(static_cast<core::ErrorCode>(c)));
}

/// A key and its certificate: a hospital CA, or a person / node.
struct Identity {
  std::unique_ptr<core::SoftwareSigner> key;
  std::optional<ca::Certificate> cert;
  core::Digest fp{};
  std::string principal;  // "<hospital>/<id>" (the hospital id for a CA)
};

struct Hospital {
  std::string id;
  Identity ca_identity;
  std::unique_ptr<ca::CertificateAuthority> authority;
};

inline std::unique_ptr<core::SoftwareSigner> new_key() {
  auto key = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  if (!key) std::abort();
  return std::move(*key);
}

inline std::unique_ptr<Hospital> make_hospital(const std::string& id) {
  auto h = std::make_unique<Hospital>();
  h->id = id;
  h->ca_identity.key = new_key();
  ca::CaOptions options;
  options.hospital_id = id;
  auto cert =
      ca::CertificateAuthority::self_signed(*h->ca_identity.key, options, kT0 - 100 * 86400);
  if (!cert) std::abort();
  h->ca_identity.cert = *cert;
  h->ca_identity.fp = certificate_fingerprint(*cert);
  h->ca_identity.principal = id;
  auto authority = ca::CertificateAuthority::open(*h->ca_identity.key, *cert, {});
  if (!authority) std::abort();
  h->authority = std::make_unique<ca::CertificateAuthority>(std::move(*authority));
  return h;
}

class RecordsLedgerTest : public ::testing::Test {
 protected:
  virtual std::int64_t admit_quorum() const { return 1; }

  void SetUp() override {
    a = make_hospital("hospital-a");
    b = make_hospital("hospital-b");
    c = make_hospital("hospital-c");  // not a member at genesis
    proposer = new_key();
    GenesisConfig config;
    config.consortium = "test-consortium";
    config.hospitals = {{a->id, {a->ca_identity.cert->to_pem()}},
                        {b->id, {b->ca_identity.cert->to_pem()}}};
    config.admit_quorum = admit_quorum();
    config.proposers = {proposer.get()};
    auto created = Ledger::create(dir.path() / "ledger", make_genesis_document(config), contract,
                                  *proposer, kT0Ms - 1000);
    ASSERT_TRUE(created) << created.error().to_string();
    ledger = std::move(*created);
  }

  /// A certificate for `id` of `role` at `h` (not yet on the ledger).
  Identity issue(Hospital& h, ca::Role role, const std::string& id, std::time_t now = kT0,
                 std::optional<int> days = std::nullopt) {
    Identity person;
    person.key = new_key();
    ca::IssueRequest request;
    request.role = role;
    request.subject_id = id;
    request.validity_days = days;
    auto cert = h.authority->issue_for_key(person.key->public_key_spki(), request, now);
    EXPECT_TRUE(cert) << cert.error().to_string();
    person.cert = *cert;
    person.fp = certificate_fingerprint(*cert);
    person.principal = principal(h.id, id);
    return person;
  }

  /// cert.register of `person`'s certificate, signed by `h`'s CA; the result code.
  std::uint16_t register_cert(Hospital& h, const Identity& person) {
    Transaction tx = make_tx(std::string(kTxCertRegister), make_cert_register_body(*person.cert));
    sign(tx, h.ca_identity);
    return submit(tx);
  }

  /// issue + register, expecting acceptance.
  Identity enrol(Hospital& h, ca::Role role, const std::string& id) {
    Identity person = issue(h, role, id);
    EXPECT_EQ(code_name(register_cert(h, person)), "ACCEPTED") << id;
    return person;
  }

  /// A transaction of `type` with a fresh nonce, timed at the next block's time.
  Transaction make_tx(const std::string& type, boost::json::object body,
                      std::optional<std::int64_t> time = {}) {
    Transaction tx;
    tx.type = type;
    tx.time_ms = time.value_or(now_ms + kBlockStepMs);
    tx.nonce.resize(kMinNonceBytes);
    RAND_bytes(tx.nonce.data(), static_cast<int>(tx.nonce.size()));
    tx.body = std::move(body);
    return tx;
  }

  void sign(Transaction& tx, const Identity& who) {
    auto signed_ok = add_signature(tx, *who.key, who.fp);
    ASSERT_TRUE(signed_ok) << signed_ok.error().to_string();
  }

  /// Appends one block holding `tx` at now + step; the recorded result code.
  std::uint16_t submit(const Transaction& tx, std::int64_t step = kBlockStepMs) {
    now_ms += step;
    auto p = prepare_transaction(encode_transaction(tx));
    EXPECT_TRUE(p) << p.error().to_string();
    if (!p) return code(core::ErrorCode::kTxMalformed);
    auto block = ledger->append_block({std::move(*p)}, now_ms, contract, *proposer);
    EXPECT_TRUE(block) << block.error().to_string();
    if (!block) return code(core::ErrorCode::kInternal);
    if (block->outcomes.at(0).duplicate) return kDuplicate;
    return block->outcomes.at(0).result;
  }

  /// A record.put body for `patient` with digests derived from `tag`.
  RecordPutBody put_body(const std::string& record, std::uint64_t version, const Identity& patient,
                         std::optional<core::Digest> previous = {},
                         const std::string& tag = "payload") {
    RecordPutBody body;
    body.record = record;
    body.version = version;
    body.patient = patient.principal;
    body.content_type = "application/fhir+json";
    body.envelope_digest = core::sha256(core::to_bytes("envelope " + tag));
    body.plaintext_digest = core::sha256(core::to_bytes(tag));
    body.previous = previous;
    return body;
  }

  /// record.put signed by the given signers (in order); its result and tx_id.
  std::pair<std::uint16_t, core::Digest> put(const RecordPutBody& body,
                                             const std::vector<const Identity*>& signers) {
    Transaction tx = make_tx(std::string(kTxRecordPut), make_record_put_body(body));
    for (const Identity* s : signers) sign(tx, *s);
    return {submit(tx), tx_id(tx)};
  }

  std::uint16_t signed_submit(const std::string& type, boost::json::object body,
                              const std::vector<const Identity*>& signers) {
    Transaction tx = make_tx(type, std::move(body));
    for (const Identity* s : signers) sign(tx, *s);
    return submit(tx);
  }

  std::unique_ptr<StateSnapshot> snapshot() {
    auto s = StateSnapshot::open(ledger->store());
    EXPECT_TRUE(s) << s.error().to_string();
    return std::move(*s);
  }

  /// verify_ledger with a fresh contract instance (as `medledger ledger verify` does).
  void expect_verify_clean() {
    RecordsContract fresh;
    auto report = verify_ledger(*ledger, fresh);
    ASSERT_TRUE(report) << report.error().to_string();
  }

  static constexpr std::int64_t kBlockStepMs = 1000;
  TempDir dir;
  std::unique_ptr<Hospital> a, b, c;
  std::unique_ptr<core::SoftwareSigner> proposer;
  RecordsContract contract;
  std::unique_ptr<Ledger> ledger;
  std::int64_t now_ms = kT0Ms;
};

#define EXPECT_CODE(expr, error_code) \
  EXPECT_EQ(code_name(expr), code_name(code(core::ErrorCode::error_code)))
#define EXPECT_ACCEPTED(expr) EXPECT_EQ(code_name(expr), "ACCEPTED")

}  // namespace medledger::ledger::testing

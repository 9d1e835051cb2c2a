// Membership of the ordering on the ledger (records contract): besides the genesis
// proposers, the key of a registered, unrevoked role-"node" certificate of an admitted
// hospital may sign blocks. A replica's apply_block and verify_ledger judge each block's
// proposer against the state before that block.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger_fixture.h"
#include "records_fixture.h"
#include "medledger/core/bytes.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/replication.h"
#include "medledger/ledger/verify.h"

namespace medledger::ledger {
namespace {

using testing::code_name;
using testing::Identity;
using testing::kT0;
using testing::TempDir;

class RecordsMembership : public testing::RecordsLedgerTest {
 protected:
  /// hospital.admit of hospital-c (not a member at genesis), signed by c and b.
  void admit_c() {
    EXPECT_ACCEPTED(
        signed_submit(std::string(kTxHospitalAdmit),
                      make_hospital_admit_body({c->id, {c->ca_identity.cert->to_pem()}}),
                      {&c->ca_identity, &b->ca_identity}));
  }

  /// Appends to the source ledger (which does not check membership) a block signed by
  /// `who`'s key, holding the registration of a fresh patient of hospital-a.
  void append_signed_by(const Identity& who) {
    Identity patient = issue(*a, ca::Role::kPatient, "p-" + std::to_string(++patients_));
    Transaction tx = make_tx(std::string(kTxCertRegister), make_cert_register_body(*patient.cert));
    sign(tx, a->ca_identity);
    now_ms += kBlockStepMs;
    auto p = prepare_transaction(encode_transaction(tx));
    ASSERT_TRUE(p) << p.error().to_string();
    auto block = ledger->append_block({std::move(*p)}, now_ms, contract, *who.key);
    ASSERT_TRUE(block) << block.error().to_string();
    ASSERT_TRUE(block->committed);
  }

  BlockCheckOptions check() const {
    BlockCheckOptions options;
    options.now_ms = now_ms + kBlockStepMs;
    return options;
  }

  /// Brings the replica (made from the source's block 0 on first use) up to the
  /// source's tip; the first refusal, if any.
  core::Result<void> sync() {
    if (!replica) {
      auto genesis = ledger->ordered_block(0);
      if (!genesis) return genesis.error();
      auto made = Ledger::create_replica(replica_dir.path() / "replica", *genesis, replica_contract,
                                         check());
      if (!made) return made.error();
      replica = std::move(*made);
    }
    const std::uint64_t source_tip = ledger->tip()->block.header.height;
    for (std::uint64_t h = replica->tip()->block.header.height + 1; h <= source_tip; ++h) {
      auto block = ledger->ordered_block(h);
      if (!block) return block.error();
      auto applied = replica->apply_block(*block, replica_contract, check());
      if (!applied) return applied.error();
      EXPECT_EQ(applied->hash, ledger->block(h)->hash) << "block " << h;
    }
    return core::success();
  }

  std::uint64_t replica_height() const { return replica->tip()->block.header.height; }

  /// The proposer name apply_block's refusal carries: the key's SPKI fingerprint.
  static std::string proposer_name(const Identity& who) {
    return core::base64url_encode(core::public_key_fingerprint(who.key->public_key_spki()));
  }

  /// The block just appended to the source is refused by the replica, naming `who`'s
  /// key; the replica stays one block behind, and verify_ledger refuses the source.
  void expect_refused(const Identity& who) {
    const std::uint64_t tip = ledger->tip()->block.header.height;
    auto synced = sync();
    ASSERT_FALSE(synced) << "a block signed by " << who.principal << " was applied";
    EXPECT_EQ(synced.error().code, core::ErrorCode::kBlockInvalid);
    EXPECT_NE(synced.error().message.find("block " + std::to_string(tip)), std::string::npos)
        << synced.error().message;
    EXPECT_NE(synced.error().message.find(proposer_name(who)), std::string::npos)
        << synced.error().message;
    EXPECT_EQ(replica_height(), tip - 1);
    RecordsContract fresh;
    auto report = verify_ledger(*ledger, fresh);
    ASSERT_FALSE(report) << "verify_ledger passed a block signed by " << who.principal;
    EXPECT_EQ(report.error().code, core::ErrorCode::kLedgerCorrupt);
    EXPECT_NE(report.error().message.find("block " + std::to_string(tip) + ": proposer"),
              std::string::npos)
        << report.error().message;
  }

  /// verify_ledger passes on the source and on the replica, both at the same tip.
  void expect_both_verify() {
    RecordsContract fresh_source;
    auto source_report = verify_ledger(*ledger, fresh_source);
    ASSERT_TRUE(source_report) << source_report.error().to_string();
    RecordsContract fresh_replica;
    auto replica_report = verify_ledger(*replica, fresh_replica);
    ASSERT_TRUE(replica_report) << replica_report.error().to_string();
    EXPECT_EQ(replica_report->tip_hash, source_report->tip_hash);
  }

  TempDir replica_dir;
  RecordsContract replica_contract;
  std::unique_ptr<Ledger> replica;
  int patients_ = 0;
};

TEST_F(RecordsMembership, AHospitalAdmittedAfterGenesisProposesWithItsRegisteredNodeKey) {
  admit_c();
  Identity node_c = enrol(*c, ca::Role::kNode, "node-c");
  append_signed_by(node_c);
  append_signed_by(node_c);
  ASSERT_TRUE(sync()) << "node-c's blocks refused";
  EXPECT_EQ(replica_height(), ledger->tip()->block.header.height);
  expect_both_verify();
}

TEST_F(RecordsMembership, ANodeKeyIsRefusedBeforeItsCertificateIsRegistered) {
  admit_c();
  Identity node_c = issue(*c, ca::Role::kNode, "node-c");
  ASSERT_TRUE(sync());
  append_signed_by(node_c);
  expect_refused(node_c);
}

TEST_F(RecordsMembership, ANodeKeyIsRefusedOnceItsCertificateIsRevoked) {
  admit_c();
  Identity node_c = enrol(*c, ca::Role::kNode, "node-c");
  append_signed_by(node_c);
  ASSERT_TRUE(sync()) << "node-c's block refused before the revocation";
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(node_c.fp, "keyCompromise"),
                                {&c->ca_identity}));
  ASSERT_TRUE(sync()) << "the revocation block (genesis proposer) refused";
  append_signed_by(node_c);
  expect_refused(node_c);
}

TEST_F(RecordsMembership, ANodeKeyIsRefusedOnceItsCertificateHasExpiredAtTheBlocksTime) {
  admit_c();
  Identity node_c = enrol(*c, ca::Role::kNode, "node-c");
  // The last millisecond of notAfter (whole seconds, inclusive) still proposes...
  const std::int64_t not_after_ms = static_cast<std::int64_t>(node_c.cert->not_after()) * 1000;
  now_ms = not_after_ms + 999 - kBlockStepMs;
  append_signed_by(node_c);
  ASSERT_TRUE(sync()) << "node-c's block refused before its certificate expired";
  // ...the block after it does not: the certificate is no longer valid at its time.
  append_signed_by(node_c);
  expect_refused(node_c);
}

TEST_F(RecordsMembership, AKeyRegisteredUnderAnotherRoleNeverProposes) {
  Identity doctor = enrol(*a, ca::Role::kDoctor, "dr-1");
  ASSERT_TRUE(sync());
  append_signed_by(doctor);
  expect_refused(doctor);
}

TEST_F(RecordsMembership, ANodeKeyRenewedUnderANewCertificateStillProposesAfterTheOldIsRevoked) {
  Identity node_a = enrol(*a, ca::Role::kNode, "node-a");
  append_signed_by(node_a);
  ASSERT_TRUE(sync()) << "node-a's block refused";
  // The same key certified again (a renewal), then the first certificate revoked.
  ca::IssueRequest request;
  request.role = ca::Role::kNode;
  request.subject_id = "node-a";
  auto renewed = a->authority->issue_for_key(node_a.key->public_key_spki(), request, kT0 + 1);
  ASSERT_TRUE(renewed) << renewed.error().to_string();
  Identity renewal;
  renewal.cert = *renewed;
  EXPECT_ACCEPTED(register_cert(*a, renewal));
  EXPECT_ACCEPTED(signed_submit(std::string(kTxCertRevoke),
                                make_cert_revoke_body(node_a.fp, "superseded"), {&a->ca_identity}));
  append_signed_by(node_a);
  auto synced = sync();
  ASSERT_TRUE(synced) << "the key of a valid node certificate was refused: "
                      << synced.error().to_string();
  expect_both_verify();
}

}  // namespace
}  // namespace medledger::ledger

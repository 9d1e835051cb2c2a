// The solo orderer, receipts and checkpoints.
#include "medledger/ledger/ordering.h"

#include <gtest/gtest.h>

#include <future>
#include <optional>
#include <thread>

#include "ledger_fixture.h"

namespace medledger::ledger {
namespace {

using testing::kv_put;
using testing::TestLedger;

TEST(SoloOrderer, ReceiptsVerifyAgainstTheSignedCheckpoint) {
  TestLedger t;
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer);
  std::vector<std::string> wires;
  std::vector<std::future<core::Result<Receipt>>> futures;
  for (int i = 0; i < 25; ++i) {
    wires.push_back(kv_put("k" + std::to_string(i), "v"));
    futures.push_back(orderer->submit(wires.back()));
  }
  for (std::size_t i = 0; i < futures.size(); ++i) {
    auto receipt = futures[i].get();
    ASSERT_TRUE(receipt) << receipt.error().to_string();
    EXPECT_EQ(receipt->result, kTxAccepted);
    EXPECT_TRUE(verify_receipt(*receipt, wires[i], t.signer->public_key_spki()));
    // The receipt survives its JSON form.
    auto decoded = decode_receipt(encode_receipt(*receipt));
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_TRUE(verify_receipt(*decoded, wires[i], t.signer->public_key_spki()));
    // ... and it is durable: the ledger holds it at the sequence named.
    EXPECT_EQ(**t.ledger->find(receipt->tx_id), receipt->sequence);
  }
}

TEST(SoloOrderer, SubmitThenReportsOnTheWriterThreadAfterTheDurableCommit) {
  TestLedger t;
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer);
  const std::string wire = kv_put("then", "1");
  std::promise<std::pair<core::Result<Receipt>, std::thread::id>> told;
  auto outcome = told.get_future();
  orderer->submit_then(wire, [&](core::Result<Receipt> receipt) {
    told.set_value({std::move(receipt), std::this_thread::get_id()});
  });
  auto [receipt, thread] = outcome.get();
  ASSERT_TRUE(receipt) << receipt.error().to_string();
  EXPECT_NE(thread, std::this_thread::get_id());  // the writer's, not the submitter's
  EXPECT_TRUE(verify_receipt(*receipt, wire, t.signer->public_key_spki()));
  EXPECT_EQ(**t.ledger->find(receipt->tx_id), receipt->sequence);  // durable when told
}

// Holds the writer inside its block (as a stuck disk would) until released.
class HeldContract final : public Contract {
 public:
  explicit HeldContract(Contract& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  core::Result<void> validate(const Transaction& tx, const StateView& state,
                              const BlockContext& ctx) override {
    entered_.set_value();
    release_.get_future().wait();
    return inner_.validate(tx, state, ctx);
  }
  core::Result<void> apply(const Transaction& tx, StateWriter& state,
                           const BlockContext& ctx) override {
    return inner_.apply(tx, state, ctx);
  }
  std::future<void> entered() { return entered_.get_future(); }
  void release() { release_.set_value(); }

 private:
  Contract& inner_;
  std::promise<void> entered_;
  std::promise<void> release_;
};

TEST(SoloOrderer, CommitInProgressForTellsHowLongTheWriterIsOnItsBlockAndNothingWhileIdle) {
  TestLedger t;
  HeldContract held(t.contract);
  auto orderer = SoloOrderer::start(*t.ledger, held, *t.signer);
  EXPECT_FALSE(orderer->commit_in_progress_for());  // idle
  auto entered = held.entered();
  auto receipt = orderer->submit(kv_put("held", "1"));
  entered.wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  auto busy = orderer->commit_in_progress_for();
  ASSERT_TRUE(busy);
  EXPECT_GE(*busy, std::chrono::milliseconds(50));
  held.release();
  ASSERT_TRUE(receipt.get());
  // The writer tells the commit, then clears its mark: give it a moment.
  for (int i = 0; i < 200 && orderer->commit_in_progress_for(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(orderer->commit_in_progress_for());  // the block is done
}

TEST(SoloOrderer, SubmitThenReportsASubmissionErrorAtOnceInTheCallersThread) {
  TestLedger t;
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer);
  std::optional<core::Result<Receipt>> told;
  std::thread::id thread;
  orderer->submit_then("{not a transaction", [&](core::Result<Receipt> receipt) {
    told = std::move(receipt);
    thread = std::this_thread::get_id();
  });
  ASSERT_TRUE(told.has_value());  // before submit_then returned
  ASSERT_FALSE(*told);
  EXPECT_EQ(told->error().code, core::ErrorCode::kTxMalformed);
  EXPECT_EQ(thread, std::this_thread::get_id());
  EXPECT_EQ(orderer->blocks_committed(), 0u);
  // After stop, a submission is refused the same way (and may submit again from the callback).
  orderer->stop();
  bool refused = false;
  orderer->submit_then(kv_put("late", "1"), [&](core::Result<Receipt> receipt) {
    refused = !receipt && receipt.error().code == core::ErrorCode::kOrderingStopped;
    orderer->submit_then(kv_put("later", "1"), [](core::Result<Receipt>) {});  // no deadlock
  });
  EXPECT_TRUE(refused);
}

TEST(SoloOrderer, ReceiptFailsForAnotherTransactionKeyOrProof) {
  TestLedger t;
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer);
  std::string wire = kv_put("a", "1");
  auto receipt = orderer->submit(wire).get();
  ASSERT_TRUE(receipt);
  EXPECT_EQ(verify_receipt(*receipt, kv_put("a", "1"), t.signer->public_key_spki()).error().code,
            core::ErrorCode::kProofInvalid);
  auto other = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  EXPECT_EQ(verify_receipt(*receipt, wire, (*other)->public_key_spki()).error().code,
            core::ErrorCode::kSignatureInvalid);
  Receipt wrong_result = *receipt;
  wrong_result.result = static_cast<std::uint16_t>(core::ErrorCode::kTxRejected);
  EXPECT_EQ(verify_receipt(wrong_result, wire, t.signer->public_key_spki()).error().code,
            core::ErrorCode::kProofInvalid);
  Receipt wrong_root = *receipt;
  wrong_root.checkpoint.checkpoint.root[0] ^= 1;
  EXPECT_FALSE(verify_receipt(wrong_root, wire, t.signer->public_key_spki()));
}

TEST(SoloOrderer, BadTransactionsFailAtSubmitAndNothingIsStored) {
  TestLedger t;
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer);
  std::string wire = kv_put("a", "1");
  std::string unknown = wire;
  unknown.replace(unknown.find("record.put"), 10, "record.zap");
  EXPECT_EQ(orderer->submit("{\"type\":").get().error().code, core::ErrorCode::kTxMalformed);
  EXPECT_EQ(orderer->submit(" " + wire).get().error().code, core::ErrorCode::kTxNotCanonical);
  EXPECT_EQ(orderer->submit(unknown).get().error().code, core::ErrorCode::kTxUnknownType);
  EXPECT_EQ(orderer->submit(kv_put("big", std::string(kDefaultMaxTransactionBytes, 'x')))
                .get()
                .error()
                .code,
            core::ErrorCode::kTxTooLarge);
  orderer->stop();
  EXPECT_EQ(t.ledger->tip()->block.header.height, 0u);
  EXPECT_EQ(t.ledger->tip()->block.header.log_size, 1u);
}

TEST(SoloOrderer, ReplayIsDuplicateAndNeverEntersABlock) {
  TestLedger t;
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer);
  std::string wire = kv_put("a", "1");
  ASSERT_TRUE(orderer->submit(wire).get());
  auto replay = orderer->submit(wire).get();
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, core::ErrorCode::kTxDuplicate);
  orderer->stop();
  EXPECT_EQ(t.ledger->tip()->block.header.log_size, 2u);
}

TEST(SoloOrderer, ContractRejectionStillGetsAReceiptWithItsCode) {
  TestLedger t;
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer);
  std::string bad = testing::make_wire("record.put", boost::json::object{{"value", "x"}});
  auto receipt = orderer->submit(bad).get();
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->result, static_cast<std::uint16_t>(core::ErrorCode::kTxRejected));
  EXPECT_EQ(result_name(receipt->result), "TX_REJECTED");
  EXPECT_TRUE(verify_receipt(*receipt, bad, t.signer->public_key_spki()));
}

TEST(SoloOrderer, FullQueueIsOrderingStopped) {
  TestLedger t;
  SoloOptions options;
  options.max_queued = 2;
  options.batch_delay = std::chrono::milliseconds(500);  // the writer waits: the queue fills
  options.max_batch_count = 1000;
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer, options);
  auto a = orderer->submit(kv_put("a", "1"));
  auto b = orderer->submit(kv_put("b", "1"));
  auto c = orderer->submit(kv_put("c", "1")).get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, core::ErrorCode::kOrderingStopped);
  EXPECT_TRUE(a.get());
  EXPECT_TRUE(b.get());
}

TEST(SoloOrderer, StopDrainsTheQueueThenRefuses) {
  TestLedger t;
  SoloOptions options;
  options.batch_delay = std::chrono::milliseconds(1000);
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer, options);
  std::vector<std::future<core::Result<Receipt>>> futures;
  for (int i = 0; i < 10; ++i)
    futures.push_back(orderer->submit(kv_put("k" + std::to_string(i), "v")));
  orderer->stop();
  for (auto& f : futures) EXPECT_TRUE(f.get());
  EXPECT_EQ(t.ledger->tip()->block.header.log_size, 11u);
  EXPECT_EQ(orderer->submit(kv_put("late", "v")).get().error().code,
            core::ErrorCode::kOrderingStopped);
}

TEST(SoloOrderer, BatchesAreCutByCount) {
  TestLedger t;
  SoloOptions options;
  options.max_batch_count = 4;
  options.batch_delay = std::chrono::milliseconds(1000);
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer, options);
  std::vector<std::future<core::Result<Receipt>>> futures;
  for (int i = 0; i < 8; ++i)
    futures.push_back(orderer->submit(kv_put("k" + std::to_string(i), "v")));
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_LE(r->height, 3u);
  }
  for (std::uint64_t h = 1; h <= t.ledger->tip()->block.header.height; ++h) {
    EXPECT_LE(t.ledger->block(h)->header.tx_count, 4u);
  }
}

TEST(Checkpoint, NoteRoundTripsAndVerifies) {
  auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(signer);
  Checkpoint c{"medledger/test", 12345, merkle_leaf_hash(core::to_bytes(std::string("x")))};
  auto signed_checkpoint = sign_checkpoint(c, **signer, "medledger/test");
  ASSERT_TRUE(signed_checkpoint);
  std::string note = format_checkpoint(*signed_checkpoint);
  EXPECT_EQ(note.rfind("medledger/test\n12345\n", 0), 0u);
  EXPECT_NE(note.find("\n\n\xE2\x80\x94 medledger/test "), std::string::npos);
  auto parsed = parse_checkpoint(note);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_TRUE(verify_checkpoint(*parsed, (*signer)->public_key_spki()));
  std::string changed = note;
  changed[changed.find("12345")] = '2';
  auto tampered = parse_checkpoint(changed);
  ASSERT_TRUE(tampered);
  EXPECT_EQ(verify_checkpoint(*tampered, (*signer)->public_key_spki()).error().code,
            core::ErrorCode::kSignatureInvalid);
  EXPECT_EQ(parse_checkpoint("medledger/test\n12\n").error().code,
            core::ErrorCode::kMalformedEncoding);
  EXPECT_EQ(parse_checkpoint(note + "extra\n").error().code, core::ErrorCode::kMalformedEncoding);
}

TEST(Checkpoint, ConsistencyProofsBetweenCheckpointsVerify) {
  TestLedger t;
  auto orderer = SoloOrderer::start(*t.ledger, t.contract, *t.signer);
  auto first = orderer->submit(kv_put("a", "1")).get();
  ASSERT_TRUE(first);
  for (int i = 0; i < 13; ++i)
    ASSERT_TRUE(orderer->submit(kv_put("b" + std::to_string(i), "2")).get());
  auto last = orderer->submit(kv_put("c", "3")).get();
  ASSERT_TRUE(last);
  const Checkpoint& old_cp = first->checkpoint.checkpoint;
  const Checkpoint& new_cp = last->checkpoint.checkpoint;
  ASSERT_LT(old_cp.size, new_cp.size);
  auto proof = t.ledger->consistency_proof(old_cp.size, new_cp.size);
  ASSERT_TRUE(proof);
  EXPECT_TRUE(verify_consistency(old_cp.size, new_cp.size, old_cp.root, new_cp.root, *proof));
  auto bad_root = new_cp.root;
  bad_root[5] ^= 0x10;
  EXPECT_FALSE(verify_consistency(old_cp.size, new_cp.size, old_cp.root, bad_root, *proof));
}

}  // namespace
}  // namespace medledger::ledger

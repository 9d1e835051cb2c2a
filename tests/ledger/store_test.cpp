// The LMDB layer: tables, durable writes, map growth, readers beside the writer.
#include "medledger/ledger/store.h"

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "ledger_fixture.h"

namespace medledger::ledger {
namespace {

using testing::TempDir;

core::ByteView bytes(const std::string& s) {
  return core::ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

TEST(Store, WriteThenReadBackAcrossReopen) {
  TempDir dir;
  {
    auto store = Store::open(dir.path());
    ASSERT_TRUE(store) << store.error().to_string();
    ASSERT_TRUE((*store)->write(
        [](WriteTxn& txn) { return txn.put(Table::kMeta, bytes("k"), bytes("v")); }));
  }
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store);
  auto txn = (*store)->read();
  ASSERT_TRUE(txn);
  auto value = txn->get(Table::kMeta, bytes("k"));
  ASSERT_TRUE(value && *value);
  EXPECT_EQ(core::to_string(**value), "v");
  auto absent = txn->get(Table::kMeta, bytes("nope"));
  ASSERT_TRUE(absent);
  EXPECT_FALSE(*absent);
}

TEST(Store, FailedBodyCommitsNothing) {
  TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store);
  auto result = (*store)->write([](WriteTxn& txn) -> core::Result<void> {
    MEDLEDGER_TRY(txn.put(Table::kMeta, bytes("k"), bytes("v")));
    return core::make_error(core::ErrorCode::kTxRejected, "no");
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, core::ErrorCode::kTxRejected);
  auto txn = (*store)->read();
  ASSERT_TRUE(txn);
  EXPECT_FALSE(*txn->get(Table::kMeta, bytes("k")));
}

TEST(Store, MapGrowsWhenFullAndKeepsEveryWrite) {
  TempDir dir;
  StoreOptions options;
  options.initial_map_bytes = kMinMapBytes;  // 1 MiB: full after a few hundred KiB
  auto store = Store::open(dir.path(), options);
  ASSERT_TRUE(store);
  const std::string value(4096, 'x');
  constexpr std::uint64_t kBatches = 40;
  constexpr std::uint64_t kPerBatch = 64;  // 40 * 64 * 4 KiB = 10 MiB >> 1 MiB
  for (std::uint64_t b = 0; b < kBatches; ++b) {
    auto written = (*store)->write([&](WriteTxn& txn) -> core::Result<void> {
      for (std::uint64_t i = 0; i < kPerBatch; ++i) {
        MEDLEDGER_TRY(txn.put(Table::kTxs, u64_key(b * kPerBatch + i), bytes(value)));
      }
      return core::success();
    });
    ASSERT_TRUE(written) << written.error().to_string();
  }
  EXPECT_GT((*store)->growth_count(), 0u);
  EXPECT_GT((*store)->map_bytes(), kMinMapBytes);
  auto txn = (*store)->read();
  ASSERT_TRUE(txn);
  EXPECT_EQ(*txn->count(Table::kTxs), kBatches * kPerBatch);
}

TEST(Store, LastCommittedTxnAndMapSizeAreSafeToReadWhileTheMapGrows) {
  // Both read the meta pages through the map; a remap under them crashed the server.
  TempDir dir;
  StoreOptions options;
  options.initial_map_bytes = kMinMapBytes;
  auto store = Store::open(dir.path(), options);
  ASSERT_TRUE(store);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0};
  std::uint64_t last_seen = 0;
  bool went_back = false;
  std::thread watcher([&] {
    while (!done.load()) {
      const std::uint64_t now = (*store)->last_committed_txn();
      if (now < last_seen) went_back = true;
      last_seen = now;
      EXPECT_GE((*store)->map_bytes(), kMinMapBytes);
      ++reads;
    }
  });
  const std::string value(4096, 'z');
  for (std::uint64_t b = 0; b < 40; ++b) {
    auto written = (*store)->write([&](WriteTxn& txn) -> core::Result<void> {
      for (std::uint64_t i = 0; i < 64; ++i)
        MEDLEDGER_TRY(txn.put(Table::kTxs, u64_key(b * 64 + i), bytes(value)));
      return core::success();
    });
    ASSERT_TRUE(written) << written.error().to_string();
  }
  done = true;
  watcher.join();
  EXPECT_GT((*store)->growth_count(), 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_FALSE(went_back);
  EXPECT_GE((*store)->last_committed_txn(), 40u);
}

TEST(Store, MapFullAtMaximumIsLedgerFullAndNothingCommitted) {
  TempDir dir;
  StoreOptions options;
  options.initial_map_bytes = kMinMapBytes;
  options.max_map_bytes = 2 * kMinMapBytes;
  auto store = Store::open(dir.path(), options);
  ASSERT_TRUE(store);
  const std::string value(4096, 'y');
  auto written = (*store)->write([&](WriteTxn& txn) -> core::Result<void> {
    for (std::uint64_t i = 0; i < 2000; ++i)
      MEDLEDGER_TRY(txn.put(Table::kTxs, u64_key(i), bytes(value)));
    return core::success();
  });
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, core::ErrorCode::kLedgerFull);
  auto txn = (*store)->read();
  ASSERT_TRUE(txn);
  EXPECT_EQ(*txn->count(Table::kTxs), 0u);
}

TEST(Store, LongLivedReaderDoesNotBlockWriterAndKeepsItsSnapshot) {
  TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(
      (*store)->write([](WriteTxn& txn) { return txn.put(Table::kMeta, bytes("n"), bytes("0")); }));
  auto reader = (*store)->read();
  ASSERT_TRUE(reader);
  for (int i = 1; i <= 50; ++i) {
    auto written = (*store)->write(
        [&](WriteTxn& txn) { return txn.put(Table::kMeta, bytes("n"), bytes(std::to_string(i))); });
    ASSERT_TRUE(written) << written.error().to_string();
  }
  EXPECT_EQ(core::to_string(**reader->get(Table::kMeta, bytes("n"))), "0");  // its snapshot
  auto fresh = (*store)->read();
  ASSERT_TRUE(fresh);
  EXPECT_EQ(core::to_string(**fresh->get(Table::kMeta, bytes("n"))), "50");
}

TEST(Store, CursorWalksInKeyOrder) {
  TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->write([](WriteTxn& txn) -> core::Result<void> {
    for (std::uint64_t i : {300u, 2u, 70000u})
      MEDLEDGER_TRY(txn.put(Table::kBlocks, u64_key(i), bytes("b")));
    return core::success();
  }));
  auto txn = (*store)->read();
  ASSERT_TRUE(txn);
  auto cursor = Cursor::open(*txn, Table::kBlocks);
  ASSERT_TRUE(cursor);
  std::vector<std::uint64_t> seen;
  for (auto e = cursor->first(); e && *e; e = cursor->next())
    seen.push_back(*read_u64_key((*e)->key));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{2, 300, 70000}));
  auto last = cursor->last();
  ASSERT_TRUE(last && *last);
  EXPECT_EQ(*read_u64_key((*last)->key), 70000u);
}

TEST(Store, RejectsMapSizesOutOfBounds) {
  TempDir dir;
  StoreOptions options;
  options.initial_map_bytes = 4096;
  auto store = Store::open(dir.path(), options);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace medledger::ledger

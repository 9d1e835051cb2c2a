// Store: the LMDB environment of one ledger, its named tables, and RAII read /
// write transactions and cursors.
//
// One directory holds data.mdb + lock.mdb. Tables (MDB_dbi, docs/ledger.md):
//   blocks  height (u64 big-endian)            -> canonical block header JSON
//   txs     sequence (u64 big-endian)          -> result code (u16 BE) || wire tx bytes
//   txid    tx_id (32 bytes)                   -> sequence (u64 BE)
//   merkle  level (1 byte) || index (u64 BE)   -> 32-byte node hash
//   meta    ASCII name                         -> value (format version, ...)
//   state   table name || 0x00 || key          -> value (owned by the contract)
//
// Durability: the default environment is opened with MDB_NOTLS only (no
// MDB_NOSYNC / MDB_NOMETASYNC), so Store::write returns success only after
// mdb_txn_commit has fsync'ed the data and the meta page. `durable = false`
// (MDB_NOSYNC) exists only for throw-away stores (verify's replay state).
//
// Concurrency: one writer at a time (LMDB serializes writers); any number of
// read transactions, which never block the writer and see the snapshot of
// their start. MDB_NOTLS: a ReadTxn may be used from another thread than the one
// that began it (never from two at once).
//
// Map growth: when an operation or the commit returns MDB_MAP_FULL, Store::write
// aborts the transaction, waits (bounded) until no transaction of this process
// is open, doubles the map (up to max_map_bytes) and runs the whole function again.
// A real full disk (ENOSPC/EDQUOT at commit) is kLedgerFull: nothing committed.
//
// Errors: kLedgerStorage with the LMDB call and mdb_strerror text; kLedgerFull.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>

#include <lmdb.h>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"

namespace medledger::ledger {

enum class Table : std::uint8_t { kBlocks, kTxs, kTxIds, kMerkle, kMeta, kState };
inline constexpr std::size_t kTableCount = 6;
/// The LMDB database name of a table ("blocks", "txs", "txid", "merkle", "meta", "state").
std::string_view table_name(Table table);

/// First map size of a new environment: 64 MiB (a few ten thousand blocks of records).
inline constexpr std::size_t kDefaultInitialMapBytes = std::size_t{64} << 20;
/// Largest map the store grows to by default: 1 TiB of address space.
inline constexpr std::size_t kDefaultMaxMapBytes = std::size_t{1} << 40;
/// Smallest map accepted (LMDB needs a few pages per table).
inline constexpr std::size_t kMinMapBytes = std::size_t{1} << 20;
/// Concurrent read transactions (LMDB reader slots); LMDB's own default.
inline constexpr unsigned kDefaultMaxReaders = 126;
/// How long map growth waits for this process's open transactions to end.
inline constexpr std::chrono::milliseconds kDefaultGrowthWait{10000};
/// Most times one write is retried after growing the map (2^20 growth from 1 MiB).
inline constexpr unsigned kMaxGrowthRetries = 24;

struct StoreOptions {
  std::size_t initial_map_bytes = kDefaultInitialMapBytes;  // used when creating; >= kMinMapBytes
  std::size_t max_map_bytes = kDefaultMaxMapBytes;          // growth stops here -> kLedgerFull
  unsigned max_readers = kDefaultMaxReaders;
  bool durable = true;  // false adds MDB_NOSYNC: for throw-away stores only
  std::chrono::milliseconds growth_wait = kDefaultGrowthWait;
};

/// One key/value pair seen through a transaction; the views live until the transaction ends.
struct Entry {
  core::ByteView key;
  core::ByteView value;
};

class Store;

/// Common read operations of read and write transactions.
class Txn {
 public:
  Txn(const Txn&) = delete;  // a copy would end the transaction twice
  Txn& operator=(const Txn&) = delete;

  /// The value under `key`, nullopt if absent. The view lives until the txn ends.
  /// Cost: one B-tree lookup (memory-mapped; page faults on a cold cache).
  core::Result<std::optional<core::ByteView>> get(Table table, core::ByteView key) const;
  /// Number of entries in `table` (mdb_stat). No scan.
  core::Result<std::uint64_t> count(Table table) const;

  MDB_txn* handle() const { return txn_; }
  MDB_dbi dbi(Table table) const;

 protected:
  Txn(Store* store, MDB_txn* txn) : store_(store), txn_(txn) {}
  Txn(Txn&& other) noexcept;
  ~Txn() = default;
  Store* store_ = nullptr;
  MDB_txn* txn_ = nullptr;
};

/// A read-only snapshot (MDB_RDONLY). Ends (mdb_txn_abort) in the destructor.
class ReadTxn final : public Txn {
 public:
  ReadTxn(ReadTxn&& other) noexcept : Txn(std::move(other)) {}
  ReadTxn& operator=(ReadTxn&&) = delete;
  ~ReadTxn();

 private:
  friend class Store;
  ReadTxn(Store* store, MDB_txn* txn) : Txn(store, txn) {}
};

/// A write transaction (top-level inside Store::write, or nested). Aborted in the
/// destructor unless committed. After any MDB_MAP_FULL it is unusable: every later
/// call fails, and Store::write grows the map and retries.
class WriteTxn final : public Txn {
 public:
  WriteTxn(WriteTxn&& other) noexcept;
  WriteTxn& operator=(WriteTxn&&) = delete;
  ~WriteTxn();

  /// Stores `value` under `key` (replacing). Cost: B-tree insert in memory; no I/O until commit.
  core::Result<void> put(Table table, core::ByteView key, core::ByteView value);
  /// Stores only if absent; false (and no change) if `key` exists.
  core::Result<bool> put_if_absent(Table table, core::ByteView key, core::ByteView value);
  /// Stores `value` under `key`, which must sort after every key of `table`
  /// (MDB_APPEND: no B-tree search, and full pages instead of half-split ones for
  /// sequential keys). false (nothing stored) when `key` does not sort last.
  core::Result<bool> append(Table table, core::ByteView key, core::ByteView value);
  /// Like append() but reserves `size` bytes (MDB_RESERVE) and returns them for the
  /// caller to fill before the next operation on this txn (saves building a copy).
  /// nullopt when `key` does not sort last.
  core::Result<std::optional<std::span<std::uint8_t>>> append_reserved(Table table,
                                                                       core::ByteView key,
                                                                       std::size_t size);
  /// Removes `key`; false if it was absent.
  core::Result<bool> erase(Table table, core::ByteView key);

  /// A child transaction (mdb_txn_begin with this as parent): its changes reach this
  /// txn only if it commits. This txn may not be used while the child is open.
  core::Result<WriteTxn> nested();
  /// Commits a NESTED txn into its parent (no I/O). The top-level txn is committed
  /// by Store::write only.
  core::Result<void> commit_nested();

  /// True once LMDB reported MDB_MAP_FULL in this txn or a child.
  bool map_full() const { return *map_full_; }

 private:
  friend class Store;
  WriteTxn(Store* store, MDB_txn* txn, bool* map_full, bool nested)
      : Txn(store, txn), map_full_(map_full), nested_(nested) {}
  core::Error fail(const char* call, Table table, int rc);
  bool* map_full_;
  bool nested_;
};

/// A cursor over one table of a transaction (RAII mdb_cursor_open/close).
class Cursor {
 public:
  /// Opens a cursor; kLedgerStorage on failure.
  static core::Result<Cursor> open(const Txn& txn, Table table);
  Cursor(Cursor&& other) noexcept : cursor_(other.cursor_) { other.cursor_ = nullptr; }
  Cursor& operator=(Cursor&&) = delete;
  Cursor(const Cursor&) = delete;  // a copy would close the cursor twice
  ~Cursor();

  /// The first / last entry, the first entry with key >= `key`, the next / previous
  /// entry; nullopt past the end. Cost: one B-tree step.
  core::Result<std::optional<Entry>> first();
  core::Result<std::optional<Entry>> last();
  core::Result<std::optional<Entry>> seek(core::ByteView key);
  core::Result<std::optional<Entry>> next();

 private:
  explicit Cursor(MDB_cursor* cursor) : cursor_(cursor) {}
  core::Result<std::optional<Entry>> step(MDB_val* key, MDB_cursor_op op);
  MDB_cursor* cursor_ = nullptr;
};

/// The LMDB environment and its table handles. Thread-safe: read() from any
/// thread; write() from any thread (LMDB serializes writers).
class Store {
 public:
  /// Opens (creating the directory and tables if absent) the environment in `dir`,
  /// clears stale reader slots (mdb_reader_check). Cost: opens/maps two files and
  /// one durable write transaction when the tables are new.
  static core::Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir,
                                                   const StoreOptions& options = {});
  ~Store();
  Store(const Store&) = delete;  // owns the MDB_env
  Store& operator=(const Store&) = delete;

  /// Begins a read-only snapshot. Cost: a reader slot, no I/O, no lock shared with the writer.
  core::Result<ReadTxn> read();

  /// Runs `body` in one write transaction and commits it: ONE durable commit (fsync)
  /// when `body` succeeds; abort when it fails (its error is returned). On
  /// MDB_MAP_FULL the map grows and `body` runs again from the start, so it must not
  /// keep effects outside the transaction that a second run would duplicate.
  /// kLedgerFull when the map is at max_map_bytes or the disk is full.
  core::Result<void> write(const std::function<core::Result<void>(WriteTxn&)>& body);

  /// Current map size in bytes.
  std::size_t map_bytes() const;
  /// LMDB's id of the last committed write transaction (this process's or another's):
  /// unchanged means nothing was written. Cost: reads the meta page, no transaction.
  std::uint64_t last_committed_txn() const;
  /// Times the map has grown since open (for tests and logs).
  unsigned growth_count() const { return growths_; }
  const std::filesystem::path& dir() const { return dir_; }
  MDB_dbi dbi(Table table) const { return dbis_[static_cast<std::size_t>(table)]; }
  MDB_env* env() const { return env_; }

 private:
  friend class ReadTxn;
  friend class WriteTxn;
  Store(std::filesystem::path dir, StoreOptions options)
      : dir_(std::move(dir)), options_(options) {}
  core::Result<void> open_tables();
  core::Result<void> grow_map();
  core::Result<MDB_txn*> begin(MDB_txn* parent, unsigned flags);
  void enter_txn();
  void leave_txn();

  std::filesystem::path dir_;
  StoreOptions options_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbis_[kTableCount] = {};
  MDB_envinfo env_info() const;  // under gate_mutex_
  // Map growth needs no open transaction in this process (mdb_env_set_mapsize):
  // transactions are counted, and growth waits for zero while holding new ones back.
  mutable std::mutex gate_mutex_;
  std::condition_variable gate_changed_;
  unsigned open_txns_ = 0;
  bool growing_ = false;
  unsigned growths_ = 0;
};

/// Big-endian u64 key (so LMDB's byte order is numeric order).
std::array<std::uint8_t, 8> u64_key(std::uint64_t value);
/// Reads a big-endian u64; nullopt unless exactly 8 bytes.
std::optional<std::uint64_t> read_u64_key(core::ByteView bytes);

}  // namespace medledger::ledger

// LMDB environment, tables, transactions and cursors (store.h).
#include "medledger/ledger/store.h"

#include <cerrno>
#include <string>
#include <system_error>

#include "medledger/core/assert.h"

namespace medledger::ledger {
namespace {

using core::ErrorCode;
using core::make_error;
using core::Result;

// Tables are opened once per environment; one more slot than we use.
constexpr unsigned kMaxDatabases = kTableCount + 1;
// Files are created owner read/write, group read (the service account and auditors' group).
constexpr mdb_mode_t kFileMode = 0640;

constexpr std::string_view kTableNames[kTableCount] = {"blocks", "txs",  "txid",
                                                       "merkle", "meta", "state"};

core::Error storage_error(std::string_view call, int rc) {
  return make_error(ErrorCode::kLedgerStorage, std::string(call) + ": " + mdb_strerror(rc));
}

MDB_val to_val(core::ByteView bytes) {
  return MDB_val{bytes.size(),
                 const_cast<std::uint8_t*>(bytes.data())};  // LMDB does not write through it
}
core::ByteView from_val(const MDB_val& val) {
  return core::ByteView(static_cast<const std::uint8_t*>(val.mv_data), val.mv_size);
}

bool disk_full(int rc) { return rc == ENOSPC || rc == EDQUOT; }

}  // namespace

std::string_view table_name(Table table) { return kTableNames[static_cast<std::size_t>(table)]; }

std::array<std::uint8_t, 8> u64_key(std::uint64_t value) {
  std::array<std::uint8_t, 8> out{};
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
  return out;
}

std::optional<std::uint64_t> read_u64_key(core::ByteView bytes) {
  if (bytes.size() != 8) return std::nullopt;
  std::uint64_t value = 0;
  for (std::uint8_t b : bytes) value = (value << 8) | b;
  return value;
}

// ---- Txn -------------------------------------------------------------------

Txn::Txn(Txn&& other) noexcept : store_(other.store_), txn_(other.txn_) {
  other.txn_ = nullptr;
  other.store_ = nullptr;
}

MDB_dbi Txn::dbi(Table table) const { return store_->dbi(table); }

Result<std::optional<core::ByteView>> Txn::get(Table table, core::ByteView key) const {
  MEDLEDGER_ASSERT(txn_ != nullptr);
  MDB_val k = to_val(key);
  MDB_val v{};
  int rc = mdb_get(txn_, dbi(table), &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<core::ByteView>{};
  if (rc != MDB_SUCCESS)
    return storage_error("mdb_get(" + std::string(table_name(table)) + ")", rc);
  return std::optional<core::ByteView>(from_val(v));
}

Result<std::uint64_t> Txn::count(Table table) const {
  MDB_stat stat{};
  int rc = mdb_stat(txn_, dbi(table), &stat);
  if (rc != MDB_SUCCESS)
    return storage_error("mdb_stat(" + std::string(table_name(table)) + ")", rc);
  return static_cast<std::uint64_t>(stat.ms_entries);
}

ReadTxn::~ReadTxn() {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
    store_->leave_txn();
  }
}

// ---- WriteTxn --------------------------------------------------------------

WriteTxn::WriteTxn(WriteTxn&& other) noexcept
    : Txn(std::move(other)), map_full_(other.map_full_), nested_(other.nested_) {}

WriteTxn::~WriteTxn() {
  // The top-level txn is committed or aborted by Store::write, which clears txn_.
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

core::Error WriteTxn::fail(const char* call, Table table, int rc) {
  if (rc == MDB_MAP_FULL) *map_full_ = true;
  return storage_error(std::string(call) + "(" + std::string(table_name(table)) + ")", rc);
}

Result<void> WriteTxn::put(Table table, core::ByteView key, core::ByteView value) {
  MEDLEDGER_ASSERT(txn_ != nullptr);
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  int rc = mdb_put(txn_, dbi(table), &k, &v, 0);
  if (rc != MDB_SUCCESS) return fail("mdb_put", table, rc);
  return core::success();
}

Result<bool> WriteTxn::put_if_absent(Table table, core::ByteView key, core::ByteView value) {
  MEDLEDGER_ASSERT(txn_ != nullptr);
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  int rc = mdb_put(txn_, dbi(table), &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return false;
  if (rc != MDB_SUCCESS) return fail("mdb_put", table, rc);
  return true;
}

Result<bool> WriteTxn::append(Table table, core::ByteView key, core::ByteView value) {
  MEDLEDGER_ASSERT(txn_ != nullptr);
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  int rc = mdb_put(txn_, dbi(table), &k, &v, MDB_APPEND);
  if (rc == MDB_KEYEXIST) return false;  // MDB_APPEND's answer to a key that does not sort last
  if (rc != MDB_SUCCESS) return fail("mdb_put(append)", table, rc);
  return true;
}

Result<std::optional<std::span<std::uint8_t>>> WriteTxn::append_reserved(Table table,
                                                                         core::ByteView key,
                                                                         std::size_t size) {
  MEDLEDGER_ASSERT(txn_ != nullptr);
  MDB_val k = to_val(key);
  MDB_val v{size, nullptr};
  int rc = mdb_put(txn_, dbi(table), &k, &v, MDB_APPEND | MDB_RESERVE);
  if (rc == MDB_KEYEXIST) return std::optional<std::span<std::uint8_t>>{};
  if (rc != MDB_SUCCESS) return fail("mdb_put(append, reserve)", table, rc);
  return std::optional<std::span<std::uint8_t>>(
      std::span<std::uint8_t>(static_cast<std::uint8_t*>(v.mv_data), size));
}

Result<bool> WriteTxn::erase(Table table, core::ByteView key) {
  MEDLEDGER_ASSERT(txn_ != nullptr);
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, dbi(table), &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != MDB_SUCCESS) return fail("mdb_del", table, rc);
  return true;
}

Result<WriteTxn> WriteTxn::nested() {
  MEDLEDGER_ASSERT(txn_ != nullptr);
  MDB_txn* child = nullptr;
  int rc = mdb_txn_begin(store_->env_, txn_, 0, &child);
  if (rc != MDB_SUCCESS) {
    if (rc == MDB_MAP_FULL) *map_full_ = true;
    return storage_error("mdb_txn_begin(nested)", rc);
  }
  return WriteTxn(store_, child, map_full_, true);
}

Result<void> WriteTxn::commit_nested() {
  MEDLEDGER_ASSERT(nested_ && txn_ != nullptr);
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;  // committed or freed by LMDB either way
  if (rc != MDB_SUCCESS) {
    if (rc == MDB_MAP_FULL) *map_full_ = true;
    return storage_error("mdb_txn_commit(nested)", rc);
  }
  return core::success();
}

// ---- Cursor ----------------------------------------------------------------

Result<Cursor> Cursor::open(const Txn& txn, Table table) {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn.handle(), txn.dbi(table), &cursor);
  if (rc != MDB_SUCCESS)
    return storage_error("mdb_cursor_open(" + std::string(table_name(table)) + ")", rc);
  return Cursor(cursor);
}

Cursor::~Cursor() {
  if (cursor_ != nullptr) mdb_cursor_close(cursor_);
}

Result<std::optional<Entry>> Cursor::step(MDB_val* key, MDB_cursor_op op) {
  MDB_val k{};
  if (key != nullptr) k = *key;
  MDB_val v{};
  int rc = mdb_cursor_get(cursor_, &k, &v, op);
  if (rc == MDB_NOTFOUND) return std::optional<Entry>{};
  if (rc != MDB_SUCCESS) return storage_error("mdb_cursor_get", rc);
  return std::optional<Entry>(Entry{from_val(k), from_val(v)});
}

Result<std::optional<Entry>> Cursor::first() { return step(nullptr, MDB_FIRST); }
Result<std::optional<Entry>> Cursor::last() { return step(nullptr, MDB_LAST); }
Result<std::optional<Entry>> Cursor::next() { return step(nullptr, MDB_NEXT); }
Result<std::optional<Entry>> Cursor::seek(core::ByteView key) {
  MDB_val k = to_val(key);
  return step(&k, MDB_SET_RANGE);
}

// ---- Store -----------------------------------------------------------------

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir,
                                           const StoreOptions& options) {
  if (options.initial_map_bytes < kMinMapBytes ||
      options.max_map_bytes < options.initial_map_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "store: map sizes must satisfy 1 MiB <= initial <= max");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return make_error(ErrorCode::kIoError,
                      "store: cannot create " + dir.string() + ": " + ec.message());

  std::unique_ptr<Store> store(new Store(dir, options));
  int rc = mdb_env_create(&store->env_);
  if (rc != MDB_SUCCESS) return storage_error("mdb_env_create", rc);
  if ((rc = mdb_env_set_maxdbs(store->env_, kMaxDatabases)) != MDB_SUCCESS)
    return storage_error("mdb_env_set_maxdbs", rc);
  if ((rc = mdb_env_set_maxreaders(store->env_, options.max_readers)) != MDB_SUCCESS) {
    return storage_error("mdb_env_set_maxreaders", rc);
  }
  if ((rc = mdb_env_set_mapsize(store->env_, options.initial_map_bytes)) != MDB_SUCCESS) {
    return storage_error("mdb_env_set_mapsize", rc);
  }
  unsigned flags = MDB_NOTLS;
  if (!options.durable) flags |= MDB_NOSYNC;
  rc = mdb_env_open(store->env_, dir.c_str(), flags, kFileMode);
  if (rc != MDB_SUCCESS) return storage_error("mdb_env_open(" + dir.string() + ")", rc);
  // A process killed inside a read txn leaves its slot behind; free it now.
  int dead = 0;
  if ((rc = mdb_reader_check(store->env_, &dead)) != MDB_SUCCESS)
    return storage_error("mdb_reader_check", rc);
  MEDLEDGER_TRY(store->open_tables());
  return store;
}

Store::~Store() {
  MEDLEDGER_ASSERT(open_txns_ == 0);
  if (env_ != nullptr) mdb_env_close(env_);
}

Result<void> Store::open_tables() {
  return write([this](WriteTxn& txn) -> Result<void> {
    for (std::size_t i = 0; i < kTableCount; ++i) {
      int rc = mdb_dbi_open(txn.handle(), kTableNames[i].data(), MDB_CREATE, &dbis_[i]);
      if (rc != MDB_SUCCESS) {
        if (rc == MDB_MAP_FULL) *txn.map_full_ = true;
        return storage_error("mdb_dbi_open(" + std::string(kTableNames[i]) + ")", rc);
      }
    }
    return core::success();
  });
}

void Store::enter_txn() {
  std::unique_lock lock(gate_mutex_);
  gate_changed_.wait(lock, [this] { return !growing_; });
  ++open_txns_;
}

void Store::leave_txn() {
  std::lock_guard lock(gate_mutex_);
  MEDLEDGER_ASSERT(open_txns_ > 0);
  --open_txns_;
  gate_changed_.notify_all();
}

Result<MDB_txn*> Store::begin(MDB_txn* parent, unsigned flags) {
  enter_txn();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, parent, flags, &txn);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map: adopt its size (no txn of ours is open... except
    // the counted one we have not begun yet, which is why this is safe) and retry.
    leave_txn();
    {
      std::unique_lock lock(gate_mutex_);
      gate_changed_.wait(lock, [this] { return open_txns_ == 0 && !growing_; });
      mdb_env_set_mapsize(env_, 0);
    }
    enter_txn();
    rc = mdb_txn_begin(env_, parent, flags, &txn);
  }
  if (rc != MDB_SUCCESS) {
    leave_txn();
    return storage_error((flags & MDB_RDONLY) != 0 ? "mdb_txn_begin(read)" : "mdb_txn_begin(write)",
                         rc);
  }
  return txn;
}

Result<ReadTxn> Store::read() {
  MEDLEDGER_TRY_ASSIGN(auto txn, begin(nullptr, MDB_RDONLY));
  return ReadTxn(this, txn);
}

MDB_envinfo Store::env_info() const {
  // mdb_env_info reads the meta pages through the map: never while
  // mdb_env_set_mapsize remaps it, which runs only under gate_mutex_.
  std::lock_guard lock(gate_mutex_);
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return info;
}

std::size_t Store::map_bytes() const { return env_info().me_mapsize; }

std::uint64_t Store::last_committed_txn() const {
  return static_cast<std::uint64_t>(env_info().me_last_txnid);
}

Result<void> Store::grow_map() {
  std::size_t current = map_bytes();
  if (current >= options_.max_map_bytes) {
    return make_error(
        ErrorCode::kLedgerFull,
        "store: map is at its maximum of " + std::to_string(options_.max_map_bytes) + " bytes");
  }
  std::size_t next = current > options_.max_map_bytes / 2 ? options_.max_map_bytes : current * 2;
  std::unique_lock lock(gate_mutex_);
  growing_ = true;  // hold new transactions back so growth is not starved
  bool idle =
      gate_changed_.wait_for(lock, options_.growth_wait, [this] { return open_txns_ == 0; });
  if (!idle) {
    growing_ = false;
    gate_changed_.notify_all();
    return make_error(
        ErrorCode::kLedgerStorage,
        "store: map full and read transactions stayed open longer than the growth wait");
  }
  int rc = mdb_env_set_mapsize(env_, next);
  growing_ = false;
  gate_changed_.notify_all();
  if (rc != MDB_SUCCESS) return storage_error("mdb_env_set_mapsize", rc);
  ++growths_;
  return core::success();
}

Result<void> Store::write(const std::function<Result<void>(WriteTxn&)>& body) {
  for (unsigned attempt = 0;; ++attempt) {
    MEDLEDGER_TRY_ASSIGN(auto begun, begin(nullptr, 0));
    bool map_full = false;
    Result<void> outcome = core::success();
    {
      WriteTxn txn(this, begun, &map_full, false);
      outcome = body(txn);
      if (outcome && !map_full) {
        int rc = mdb_txn_commit(txn.txn_);  // the durable commit: fsync unless durable=false
        txn.txn_ = nullptr;
        if (rc == MDB_SUCCESS) {
          leave_txn();
          return core::success();
        }
        if (rc == MDB_MAP_FULL) {
          map_full = true;
        } else if (disk_full(rc)) {
          outcome = make_error(ErrorCode::kLedgerFull,
                               std::string("mdb_txn_commit: ") + mdb_strerror(rc) +
                                   " (nothing of this block was committed)");
        } else {
          outcome = storage_error("mdb_txn_commit", rc);
        }
      }
      // txn's destructor aborts it if still open
    }
    leave_txn();
    if (!map_full) return outcome;
    if (attempt >= kMaxGrowthRetries)
      return make_error(ErrorCode::kLedgerFull, "store: map growth did not help");
    MEDLEDGER_TRY(grow_map());
  }
}

}  // namespace medledger::ledger

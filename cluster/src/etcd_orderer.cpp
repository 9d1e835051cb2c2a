// The etcd orderer (etcd_orderer.h).
#include "medledger/cluster/etcd_orderer.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>

#include <spdlog/spdlog.h>

#include "medledger/core/assert.h"
#include "medledger/core/bytes.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/replication.h"
#include "medledger/net/https_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace medledger::cluster {
namespace {

using core::ErrorCode;
using core::make_error;
using core::Result;

/// What a block's header, version and the JSON around its transactions take at most.
constexpr std::size_t kBlockOverheadBytes = 2048;
/// Blocks read from etcd per range request (each at most kMaxEtcdBlockBytes).
constexpr std::int64_t kBlocksPerRead = 16;
constexpr int kHeightDigits = 20;
/// Blocks the watch hands over before the ordering thread applies them (each at most
/// kMaxEtcdBlockBytes); beyond it, a range read fetches the rest.
constexpr std::size_t kMaxDeliveredBlocks = 16;
/// A quiet watch is re-issued this often, so stop() never waits longer for it.
constexpr std::chrono::milliseconds kWatchIdle{1'000};
/// Most transaction bytes one forward request carries (under serve's body limit).
constexpr std::size_t kMaxForwardBytes = 256u << 10;

std::optional<std::uint64_t> parse_height(std::string_view key, std::string_view blocks_prefix) {
  if (key.size() != blocks_prefix.size() + kHeightDigits ||
      key.substr(0, blocks_prefix.size()) != blocks_prefix)
    return std::nullopt;
  std::uint64_t height = 0;
  auto digits = key.substr(blocks_prefix.size());
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), height);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return height;
}

EtcdOrdererOptions clamp(EtcdOrdererOptions o) {
  o.max_batch_count = std::clamp<std::size_t>(o.max_batch_count, 1, ledger::kMaxBlockTransactions);
  o.max_batch_bytes =
      std::clamp<std::size_t>(o.max_batch_bytes, kBlockOverheadBytes + 1, kMaxEtcdBlockBytes);
  o.max_queued = std::clamp<std::size_t>(o.max_queued, 1, ledger::kMaxQueuedCeiling);
  while (!o.prefix.empty() && o.prefix.back() == '/') o.prefix.pop_back();
  return o;
}

Result<void> check_options(const EtcdOrdererOptions& o) {
  if (o.node_name.empty() || o.node_name.find('/') != std::string::npos)
    return make_error(ErrorCode::kConfigInvalid,
                      "ordering.node_name: a non-empty name without '/' is required");
  if (o.prefix.empty() || o.prefix.front() != '/')
    return make_error(ErrorCode::kConfigInvalid, "ordering.prefix: must start with '/'");
  if (o.advertise_url.find(' ') != std::string::npos)
    return make_error(ErrorCode::kConfigInvalid, "ordering.advertise_url: must not contain spaces");
  if (!o.advertise_url.empty() && o.proposer_ttl < std::chrono::seconds(1))
    return make_error(ErrorCode::kConfigInvalid, "ordering.proposer_ttl_ms: at least 1000");
  return core::success();
}

// Other nodes are reached with the node's etcd TLS files: the CA bundle of the consortium
// and this node's client certificate (role node).
net::HttpsClientOptions peer_tls(const EtcdOrdererOptions& o) {
  net::HttpsClientOptions tls;
  tls.ca_bundle = o.etcd.ca_file;
  tls.client_certificate = o.etcd.client_certificate;
  tls.client_key = o.etcd.client_key;
  tls.connect_timeout = o.etcd.dial_timeout;
  tls.request_timeout = o.etcd.request_timeout;
  return tls;
}

/// Blocks from `from` (at most 16) from the first peer that serves them.
Result<std::vector<ledger::OrderedBlock>> fetch_from_peers(const EtcdOrdererOptions& o,
                                                           std::uint64_t from) {
  std::string failures;
  for (const std::string& peer : o.peers) {
    auto endpoint = net::parse_https_url(peer);
    if (!endpoint) {
      failures += "; " + peer + ": " + endpoint.error().message;
      continue;
    }
    auto client = net::HttpsClient::connect_to(*endpoint, peer_tls(o));
    if (!client) {
      failures += "; " + peer + ": " + client.error().to_string();
      continue;
    }
    auto reply = client->request("GET", "/v1/ledger/replication?from=" + std::to_string(from));
    if (!reply || reply->status != 200) {
      failures += "; " + peer + ": " +
                  (reply ? "HTTP " + std::to_string(reply->status) : reply.error().to_string());
      continue;
    }
    boost::json::error_code ec;
    auto parsed = boost::json::parse(reply->body, ec);
    const boost::json::value* blocks =
        !ec && parsed.is_object() ? parsed.as_object().if_contains("blocks") : nullptr;
    if (blocks == nullptr || !blocks->is_array() || blocks->as_array().empty()) {
      failures += "; " + peer + ": no blocks in the answer";
      continue;
    }
    std::vector<ledger::OrderedBlock> out;
    for (const auto& text : blocks->as_array()) {
      if (!text.is_string()) break;
      auto block = ledger::decode_ordered_block(text.as_string());
      if (!block) break;  // apply_block would refuse it; ask the next peer
      out.push_back(std::move(*block));
    }
    if (!out.empty()) return out;
    failures += "; " + peer + ": unreadable blocks";
  }
  return make_error(ErrorCode::kOrderingUnavailable,
                    "etcd no longer holds block " + std::to_string(from) +
                        " (pruned) and no peer served it" +
                        (o.peers.empty() ? std::string(" (no ordering.peers)") : failures));
}

}  // namespace

EtcdOrderer::EtcdOrderer(ledger::Ledger& ledger, ledger::Contract& contract, core::Signer& signer,
                         const EtcdOrdererOptions& options)
    : ledger_(ledger), contract_(contract), signer_(signer), options_(clamp(options)) {}

void EtcdOrderer::log(OrderingLogLevel level, std::string_view event,
                      const std::string& message) const {
  if (options_.log) return options_.log(level, event, message);
  switch (level) {
    case OrderingLogLevel::kInfo:
      return spdlog::info("{}: {}", event, message);
    case OrderingLogLevel::kWarn:
      return spdlog::warn("{}: {}", event, message);
    case OrderingLogLevel::kCritical:
      return spdlog::critical("{}: {}", event, message);
  }
}

std::string EtcdOrderer::block_key(std::uint64_t height) const {
  char digits[kHeightDigits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(height));
  return options_.prefix + "/blocks/" + digits;
}

Result<std::unique_ptr<EtcdOrderer>> EtcdOrderer::start(ledger::Ledger& ledger,
                                                        ledger::Contract& contract,
                                                        core::Signer& signer,
                                                        const EtcdOrdererOptions& options) {
  MEDLEDGER_TRY(check_options(clamp(options)));
  std::unique_ptr<EtcdOrderer> o(new EtcdOrderer(ledger, contract, signer, options));
  MEDLEDGER_TRY_ASSIGN(o->etcd_, EtcdClient::connect(o->options_.etcd));
  MEDLEDGER_TRY_ASSIGN(o->watch_etcd_, EtcdClient::connect(o->options_.etcd));
  MEDLEDGER_TRY(o->reconcile());
  if (o->halted_) return *o->halted_;
  MEDLEDGER_TRY(o->sync_from_etcd(/*read_etcd=*/true));
  if (o->halted_) return *o->halted_;
  o->worker_ = std::thread([p = o.get()] { p->run(); });
  o->watcher_ = std::thread([p = o.get()] { p->watch_loop(); });
  return o;
}

Result<std::unique_ptr<ledger::Ledger>> EtcdOrderer::join(const std::filesystem::path& dir,
                                                          ledger::Contract& contract,
                                                          const EtcdOrdererOptions& options) {
  const EtcdOrdererOptions o = clamp(options);
  MEDLEDGER_TRY(check_options(o));
  MEDLEDGER_TRY_ASSIGN(auto etcd, EtcdClient::connect(o.etcd));
  const std::string key = o.prefix + "/blocks/" + std::string(kHeightDigits, '0');
  MEDLEDGER_TRY_ASSIGN(auto found, etcd->range(key, {}));
  const ledger::BlockCheckOptions check{ledger::unix_time_ms(), o.max_future_skew};
  if (!found.kvs.empty()) {
    MEDLEDGER_TRY_ASSIGN(auto genesis, ledger::decode_ordered_block(found.kvs.front().value));
    return ledger::Ledger::create_replica(dir, genesis, contract, check);
  }
  const std::string blocks = o.prefix + "/blocks/";
  MEDLEDGER_TRY_ASSIGN(auto later, etcd->range(blocks, prefix_range_end(blocks), 1));
  if (later.kvs.empty())
    return make_error(ErrorCode::kLedgerNotFound, "etcd holds no block 0 under " + o.prefix +
                                                      ": the founder's node starts first");
  // Pruned: block 0 from a peer (create_replica checks it); start() fetches the rest.
  auto from_peer = fetch_from_peers(o, 0);
  if (!from_peer) return make_error(ErrorCode::kLedgerNotFound, from_peer.error().message);
  return ledger::Ledger::create_replica(dir, from_peer->front(), contract, check);
}

EtcdOrderer::~EtcdOrderer() { stop(); }

void EtcdOrderer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (watcher_.joinable()) watcher_.join();
}

std::optional<std::chrono::milliseconds> EtcdOrderer::commit_in_progress_for() const {
  return commit_clock_.running_for();
}

Result<void> EtcdOrderer::health() const {
  std::lock_guard lock(mutex_);
  if (halted_) return *halted_;
  if (unavailable_) return *unavailable_;
  return core::success();
}

void EtcdOrderer::submit_then(std::string wire, ledger::CommitCallback on_commit) {
  auto pending = ledger::prepare_transaction(std::move(wire), ledger_.options().tx_limits);
  if (!pending) return on_commit(pending.error());
  const std::size_t encoded = ledger::ordered_block_tx_bytes(pending->wire.size());
  if (encoded + kBlockOverheadBytes > options_.max_batch_bytes) {
    return on_commit(make_error(ErrorCode::kTxTooLarge,
                                "ordering: a transaction of " +
                                    std::to_string(pending->wire.size()) +
                                    " bytes does not fit in one etcd block (" +
                                    std::to_string(options_.max_batch_bytes) + " bytes encoded)"));
  }
  if (auto fresh = ledger::ensure_not_logged(ledger_, pending->id); !fresh)
    return on_commit(fresh.error());
  std::unique_lock lock(mutex_);
  auto refuse = [&](core::Error error) {
    lock.unlock();
    on_commit(std::move(error));
  };
  if (halted_) return refuse(*halted_);
  if (unavailable_) return refuse(*unavailable_);
  if (stopping_)
    return refuse(make_error(ErrorCode::kOrderingStopped, "ordering: the orderer is stopping"));
  if (queue_.size() >= options_.max_queued)
    return refuse(make_error(ErrorCode::kOrderingStopped, "ordering: the queue is full (" +
                                                              std::to_string(options_.max_queued) +
                                                              " transactions); retry later"));
  if (!queued_ids_.insert(pending->id).second)
    return refuse(
        make_error(ErrorCode::kTxDuplicate, "ordering: the same transaction is already queued"));
  queue_.push_back(Queued{std::move(*pending), std::move(on_commit), encoded});
  lock.unlock();
  wake_.notify_all();
}

Result<void> EtcdOrderer::reconcile() {
  MEDLEDGER_TRY_ASSIGN(auto tip, ledger_.tip());
  const std::uint64_t height = tip.block.header.height;
  const std::string blocks = options_.prefix + "/blocks/";
  MEDLEDGER_TRY_ASSIGN(auto first, etcd_->range(blocks, prefix_range_end(blocks), 1));
  if (first.kvs.empty()) {
    // The founder: etcd holds nothing yet, so this replica's chain becomes the consortium's.
    for (std::uint64_t h = 0; h <= height; ++h) {
      MEDLEDGER_TRY_ASSIGN(auto block, ledger_.ordered_block(h));
      const std::string value = ledger::encode_ordered_block(block);
      const std::string key = block_key(h);
      MEDLEDGER_TRY_ASSIGN(auto put, etcd_->txn({{key, 0}}, {{key, value}}, key));
      if (put.succeeded) {
        tip_create_revision_ = put.revision;
        continue;
      }
      if (put.failure_kvs.empty() || put.failure_kvs.front().value != value) {
        halt("etcd's block " + std::to_string(h) +
                 " differs from this replica's (another node "
                 "seeded etcd at the same time with another chain)",
             h, put.failure_kvs.empty() ? std::string() : put.failure_kvs.front().value);
        return core::success();
      }
      tip_create_revision_ = put.failure_kvs.front().create_revision;
    }
    log(OrderingLogLevel::kInfo, "ordering_seeded",
        "seeded etcd " + options_.prefix + " with blocks 0.." + std::to_string(height));
    return core::success();
  }
  MEDLEDGER_TRY_ASSIGN(auto at_tip, etcd_->range(block_key(height), {}));
  if (at_tip.kvs.empty()) {
    auto first_height = parse_height(first.kvs.front().key, blocks);
    if (first_height && *first_height > height) {
      // Behind etcd's pruning: the missing blocks come from a peer; sync does the rest.
      MEDLEDGER_TRY(catch_up_from_peers(height + 1, *first_height));
      return core::success();
    }
    halt("this replica holds block " + std::to_string(height) +
             " but etcd's chain ends before it (etcd restored from an older snapshot, or another "
             "consortium under the same prefix)",
         height, {});
    return core::success();
  }
  MEDLEDGER_TRY_ASSIGN(auto mine, ledger_.ordered_block(height));
  if (ledger::encode_ordered_block(mine) != at_tip.kvs.front().value) {
    halt("etcd's block " + std::to_string(height) + " differs from this replica's (a fork)", height,
         at_tip.kvs.front().value);
    return core::success();
  }
  tip_create_revision_ = at_tip.kvs.front().create_revision;
  return core::success();
}

Result<void> EtcdOrderer::apply_from_etcd(std::uint64_t height, const KeyValue& kv) {
  auto block = ledger::decode_ordered_block(kv.value);
  if (!block) {
    halt(block.error().message, height, kv.value);
    return *halted_;
  }
  auto applied =
      ledger_.apply_block(*block, contract_, {ledger::unix_time_ms(), options_.max_future_skew});
  if (!applied) {
    if (applied.error().code != ErrorCode::kBlockInvalid) return applied.error();
    halt(applied.error().message, height, kv.value);
    return *halted_;
  }
  tip_create_revision_ = kv.create_revision;
  applied_.fetch_add(1);
  settle_from_block(*block, *applied);
  return core::success();
}

Result<bool> EtcdOrderer::apply_delivered() {
  while (true) {
    MEDLEDGER_TRY_ASSIGN(auto tip, ledger_.tip());
    const std::uint64_t expected = tip.block.header.height + 1;
    std::optional<KeyValue> next;
    bool later = false;
    {
      std::lock_guard lock(mutex_);
      // Below the tip: this node's own blocks (their watch event came before the LMDB
      // commit) or blocks already range-read; a put over one is caught as rewritten.
      delivered_.erase(delivered_.begin(), delivered_.lower_bound(expected));
      if (auto it = delivered_.find(expected); it != delivered_.end()) {
        next = std::move(it->second);
        delivered_.erase(it);
      }
      later = !delivered_.empty();
    }
    if (!next) return later;
    MEDLEDGER_TRY(apply_from_etcd(expected, *next));
    watch_applied_.fetch_add(1);
  }
}

Result<void> EtcdOrderer::sync_from_etcd(bool read_etcd) {
  MEDLEDGER_TRY_ASSIGN(const bool gap, apply_delivered());
  if (!read_etcd && !gap) return core::success();
  const std::string blocks = options_.prefix + "/blocks/";
  while (true) {
    MEDLEDGER_TRY_ASSIGN(auto tip, ledger_.tip());
    std::uint64_t expected = tip.block.header.height + 1;
    MEDLEDGER_TRY_ASSIGN(
        auto read, etcd_->range(block_key(expected), prefix_range_end(blocks), kBlocksPerRead));
    if (read.revision > seen_revision_.load()) seen_revision_.store(read.revision);
    bool pruned = false;
    for (const KeyValue& kv : read.kvs) {
      const auto height = parse_height(kv.key, blocks);
      if (!height) continue;      // not a block key: nothing of ours
      if (*height != expected) {  // pruned from etcd: from a peer, then etcd again
        MEDLEDGER_TRY(catch_up_from_peers(expected, *height));
        pruned = true;
        break;
      }
      MEDLEDGER_TRY(apply_from_etcd(*height, kv));
      ++expected;
    }
    if (!pruned && !read.more) return core::success();
  }
}

Result<void> EtcdOrderer::catch_up_from_peers(std::uint64_t from, std::uint64_t until) {
  while (from < until) {
    MEDLEDGER_TRY_ASSIGN(auto blocks, fetch_from_peers(options_, from));
    for (const auto& block : blocks) {
      if (from >= until) break;
      auto applied =
          ledger_.apply_block(block, contract_, {ledger::unix_time_ms(), options_.max_future_skew});
      if (!applied) {
        if (applied.error().code != ErrorCode::kBlockInvalid) return applied.error();
        // A peer is not the order: its bad block is its problem, not a fork of the
        // consortium. Refuse it, keep it as evidence, and try again later.
        log(OrderingLogLevel::kWarn, "ordering_peer_block_invalid", applied.error().message);
        return make_error(ErrorCode::kOrderingUnavailable, "a peer served an invalid block " +
                                                               std::to_string(from) + ": " +
                                                               applied.error().message);
      }
      applied_.fetch_add(1);
      ++from;
    }
  }
  log(OrderingLogLevel::kInfo, "ordering_peer_catch_up",
      "caught up to block " + std::to_string(until - 1) + " from a peer");
  return core::success();
}

Result<void> EtcdOrderer::check_rewritten(std::uint64_t height, const std::string& value) {
  auto mine = ledger_.ordered_block(height);
  if (!mine) return mine.error();
  if (ledger::encode_ordered_block(*mine) != value)
    halt("block " + std::to_string(height) + " was rewritten in etcd after this replica applied it",
         height, value);
  return core::success();
}

void EtcdOrderer::halt(const std::string& reason, std::uint64_t height, const std::string& value) {
  core::Error error =
      make_error(ErrorCode::kReplicaHalted,
                 "ordering halted at block " + std::to_string(height) + ": " + reason);
  std::string kept;
  if (!options_.evidence_dir.empty() && !value.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options_.evidence_dir, ec);
    const auto file = options_.evidence_dir / ("block-" + std::to_string(height) + "-" +
                                               std::to_string(ledger::unix_time_ms()) + ".json");
    std::ofstream out(file, std::ios::binary);
    out << value;
    if (out) kept = file.string();
  }
  log(OrderingLogLevel::kCritical, "ordering_halted",
      "block " + std::to_string(height) + ": " + reason +
          " (evidence: " + (kept.empty() ? std::string("not kept") : kept) + ")");
  std::deque<Queued> failed;
  {
    std::lock_guard lock(mutex_);
    if (!halted_) halted_ = error;
    failed.swap(queue_);
    for (Queued& q : forwarded_) failed.push_back(std::move(q));
    forwarded_.clear();
    queued_ids_.clear();
  }
  for (Queued& q : failed) ledger::tell(q.on_commit, error);
}

void EtcdOrderer::fail_queue(const core::Error& error, bool in_doubt_too) {
  std::deque<Queued> failed;
  {
    std::lock_guard lock(mutex_);
    std::deque<Queued> kept;
    for (Queued& q : queue_) {
      if (q.in_doubt && !in_doubt_too) {
        kept.push_back(std::move(q));
        continue;
      }
      queued_ids_.erase(q.tx.id);
      failed.push_back(std::move(q));
    }
    queue_.swap(kept);
    if (in_doubt_too) {  // held by another node's proposer: it may still order them
      for (Queued& q : forwarded_) {
        queued_ids_.erase(q.tx.id);
        failed.push_back(std::move(q));
      }
      forwarded_.clear();
    }
  }
  for (Queued& q : failed) {
    if (!q.in_doubt) {
      ledger::tell(q.on_commit, error);
      continue;
    }
    ledger::tell(
        q.on_commit,
        make_error(ErrorCode::kCommitUnconfirmed,
                   "ordering: no answer from etcd for this transaction's block (" + error.message +
                       "); it may still be committed: look it up by its tx_id "
                       "before sending it again"));
  }
}

bool EtcdOrderer::writable_again() {
  {
    std::lock_guard lock(mutex_);
    if (!unavailable_ || unavailable_->message.find("NOSPACE") == std::string::npos) return true;
  }
  auto tip = ledger_.tip();
  if (!tip) return false;
  auto probe = etcd_->put(options_.prefix + "/applied/" + options_.node_name,
                          std::to_string(tip->block.header.height));
  return static_cast<bool>(probe);
}

void EtcdOrderer::set_unavailable(const core::Error& error) {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = !unavailable_;
    unavailable_ = make_error(ErrorCode::kOrderingUnavailable, error.message);
  }
  if (first) log(OrderingLogLevel::kWarn, "ordering_unavailable", error.message);
  // What never reached etcd is refused now; the caller retries (503 + Retry-After).
  fail_queue(make_error(ErrorCode::kOrderingUnavailable, error.message));
}

void EtcdOrderer::settle_from_block(const ledger::OrderedBlock&,
                                    const ledger::CommittedBlock& applied) {
  std::deque<Queued> ours;
  {
    std::lock_guard lock(mutex_);
    if (queued_ids_.empty()) return;
    bool any = false;
    for (const auto& o : applied.outcomes) any = any || queued_ids_.count(o.tx_id) != 0;
    if (!any) return;
    std::set<core::Digest> in_block;
    for (const auto& o : applied.outcomes) in_block.insert(o.tx_id);
    for (std::deque<Queued>* waiting : {&forwarded_, &queue_}) {
      for (auto it = waiting->begin(); it != waiting->end();) {
        if (in_block.count(it->tx.id) != 0) {
          queued_ids_.erase(it->tx.id);
          ours.push_back(std::move(*it));
          it = waiting->erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  // Submitted here, ordered in another node's block: committed once, answered from it.
  answer(ours, applied);
}

void EtcdOrderer::answer(std::deque<Queued>& batch, const ledger::CommittedBlock& block) {
  if (batch.empty()) return;
  std::optional<ledger::SignedCheckpoint> checkpoint;
  if (options_.make_receipts && block.committed) {
    auto signed_checkpoint = ledger::checkpoint_at(ledger_, block.header, signer_);
    if (!signed_checkpoint) {
      for (Queued& q : batch) ledger::tell(q.on_commit, signed_checkpoint.error());
      return;
    }
    checkpoint = std::move(*signed_checkpoint);
  }
  for (Queued& q : batch) {
    auto outcome = std::find_if(block.outcomes.begin(), block.outcomes.end(),
                                [&](const ledger::TxOutcome& o) { return o.tx_id == q.tx.id; });
    if (outcome == block.outcomes.end() || outcome->duplicate) {
      ledger::tell(q.on_commit, ledger::already_logged(q.tx.id));
      continue;
    }
    if (!checkpoint) {
      ledger::tell(
          q.on_commit,
          ledger::Receipt{
              outcome->tx_id, block.header.height, outcome->sequence, outcome->result, {}, {}});
      continue;
    }
    ledger::tell(q.on_commit,
                 ledger::make_receipt(ledger_, outcome->tx_id, block.header.height,
                                      outcome->sequence, outcome->result, *checkpoint));
  }
}

Result<void> EtcdOrderer::publish_block(std::uint64_t height, const ledger::OrderedBlock& block,
                                        PublishOutcome& outcome) {
  const std::string value = ledger::encode_ordered_block(block);
  MEDLEDGER_ASSERT(value.size() <= kMaxEtcdBlockBytes);  // batches are cut below it
  const std::string key = block_key(height);
  std::vector<CreateRevisionIs> compares{{key, 0}};
  if (tip_create_revision_ > 0) compares.push_back({block_key(height - 1), tip_create_revision_});
  MEDLEDGER_TRY_ASSIGN(auto txn, etcd_->txn(compares, {{key, value}}, key));
  if (txn.succeeded) {
    tip_create_revision_ = txn.revision;
    outcome = PublishOutcome::kPublished;
    return core::success();
  }
  // A retried request whose first attempt landed finds its own block there.
  if (!txn.failure_kvs.empty() && txn.failure_kvs.front().value == value) {
    tip_create_revision_ = txn.failure_kvs.front().create_revision;
    outcome = PublishOutcome::kPublished;
    return core::success();
  }
  outcome = PublishOutcome::kLost;
  return make_error(ErrorCode::kAlreadyExists,
                    "ordering: another node appended block " + std::to_string(height));
}

void EtcdOrderer::forget(const std::deque<Queued>& batch) {
  std::lock_guard lock(mutex_);
  for (const Queued& q : batch) queued_ids_.erase(q.tx.id);
}

void EtcdOrderer::requeue(std::deque<Queued>& batch) {
  std::lock_guard lock(mutex_);
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
  batch.clear();
}

void EtcdOrderer::propose(std::deque<Queued>& batch, std::int64_t time_ms) {
  auto tip = ledger_.tip();
  if (!tip) {
    forget(batch);
    for (Queued& q : batch) ledger::tell(q.on_commit, tip.error());
    return;
  }
  const std::uint64_t height = tip->block.header.height + 1;
  std::vector<ledger::PendingTransaction> txs;
  txs.reserve(batch.size());
  for (Queued& q : batch) txs.push_back(std::move(q.tx));
  PublishOutcome outcome = PublishOutcome::kNone;
  commit_clock_.started();
  auto block = ledger_.append_block_published(
      txs, time_ms, contract_, signer_,
      [&](const ledger::OrderedBlock& b) { return publish_block(height, b, outcome); });
  commit_clock_.finished();
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].tx = std::move(txs[i]);
  if (block) {
    if (block->committed) proposed_.fetch_add(1);
    forget(batch);
    answer(batch, *block);
    return;
  }
  settle_failed_proposal(batch, block.error(), outcome, height);
}

void EtcdOrderer::settle_failed_proposal(std::deque<Queued>& batch, const core::Error& error,
                                         PublishOutcome outcome, std::uint64_t height) {
  if (outcome == PublishOutcome::kLost) {
    // The winner's block is applied next; what it holds is answered from it.
    races_lost_.fetch_add(1);
    requeue(batch);
    std::lock_guard lock(mutex_);
    read_needed_ = true;  // the winner's block may not be delivered yet
    return;
  }
  if (error.code == ErrorCode::kOrderingUnavailable && outcome == PublishOutcome::kNone) {
    // The outcome of this batch is unknown (the request may have landed): it stays, to be
    // found in etcd or proposed again once etcd answers. NOSPACE is a definite refusal
    // (etcd wrote nothing): the batch is answered with it below, not kept until an operator
    // frees space.
    set_unavailable(error);
    if (error.message.find("NOSPACE") == std::string::npos) {
      for (Queued& q : batch) q.in_doubt = true;
      requeue(batch);
      return;
    }
  }
  core::Error told = error;
  if (outcome == PublishOutcome::kPublished)  // in etcd, not stored here: the next read applies it
    told = make_error(ErrorCode::kCommitUnconfirmed,
                      "ordering: block " + std::to_string(height) +
                          " is committed in etcd but this replica could not store it yet (" +
                          error.to_string() + ")");
  forget(batch);
  for (Queued& q : batch) ledger::tell(q.on_commit, told);
}

void EtcdOrderer::record_applied_and_prune() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_applied_write_) return;
  next_applied_write_ = now + options_.applied_interval;
  auto tip = ledger_.tip();
  if (!tip) return;
  const std::uint64_t height = tip->block.header.height;
  if (height != applied_written_) {
    if (!etcd_->put(options_.prefix + "/applied/" + options_.node_name, std::to_string(height)))
      return;
    applied_written_ = height;
  }
  const std::string applied = options_.prefix + "/applied/";
  auto members = etcd_->range(applied, prefix_range_end(applied));
  if (!members || members->kvs.empty()) return;
  std::uint64_t lowest = UINT64_MAX;
  for (const KeyValue& kv : members->kvs) {
    std::uint64_t h = 0;
    auto [end, ec] = std::from_chars(kv.value.data(), kv.value.data() + kv.value.size(), h);
    if (ec != std::errc()) return;  // an unreadable entry: prune nothing
    lowest = std::min(lowest, h);
  }
  if (lowest <= options_.keep_blocks) return;
  const std::string cutoff = block_key(lowest - options_.keep_blocks);
  auto old = etcd_->range(block_key(0), cutoff, 1);
  if (!old || old->kvs.empty()) return;
  auto deleted = etcd_->delete_range(block_key(0), cutoff);
  if (!deleted) return;
  (void)etcd_->compact(old->revision);
  log(OrderingLogLevel::kInfo, "ordering_pruned",
      std::to_string(*deleted) + " block(s) below " +
          std::to_string(lowest - options_.keep_blocks) + " deleted from etcd");
}

EtcdOrderer::Cut EtcdOrderer::cut_batch(bool member) {
  const auto now = std::chrono::steady_clock::now();
  Cut cut;
  // Forwarded but not ordered in time: this node proposes them itself (a member), or
  // forwards them again.
  cut.overdue = !forwarded_.empty() && forwarded_.front().forwarded_until <= now;
  cut.forward_to = cut.overdue && member ? std::nullopt : forward_target(member);
  std::deque<Queued>& from = cut.overdue ? forwarded_ : queue_;
  const std::size_t max_bytes = cut.forward_to
                                    ? std::min(options_.max_batch_bytes, kMaxForwardBytes)
                                    : options_.max_batch_bytes;
  std::size_t bytes = kBlockOverheadBytes;
  while (!from.empty() && cut.batch.size() < options_.max_batch_count &&
         bytes + from.front().encoded_bytes <= max_bytes &&
         (!cut.overdue || from.front().forwarded_until <= now)) {
    bytes += from.front().encoded_bytes;
    cut.batch.push_back(std::move(from.front()));
    from.pop_front();
  }
  return cut;
}

void EtcdOrderer::dispatch(Cut& cut, bool member) {
  if (cut.batch.empty()) return;
  if (cut.overdue && member)
    log(OrderingLogLevel::kWarn, "ordering_forward_overdue",
        std::to_string(cut.batch.size()) +
            " forwarded transaction(s) not ordered by the proposer in time: proposed here");
  if (cut.forward_to) return forward_batch(cut.batch, *cut.forward_to);
  propose_if_member(cut.batch);  // refused when this node may not propose
}

void EtcdOrderer::sync_step(bool read_etcd) {
  auto synced = sync_from_etcd(read_etcd);
  if (!synced && synced.error().code == ErrorCode::kOrderingUnavailable)
    return set_unavailable(synced.error());
  if (synced && writable_again()) {
    std::lock_guard lock(mutex_);
    if (unavailable_) log(OrderingLogLevel::kInfo, "ordering_available", "etcd answers again");
    unavailable_.reset();
  }
  record_applied_and_prune();
}

void EtcdOrderer::run() {
  using Clock = std::chrono::steady_clock;
  auto next_sync = Clock::now() + options_.poll_interval;
  while (true) {
    const bool member = may_propose(ledger::unix_time_ms());
    maintain_proposer_role(member);
    std::vector<std::pair<std::uint64_t, std::string>> rewritten;
    bool sync_now = false, read_etcd = false, halted = false;
    Cut cut;
    {
      std::unique_lock lock(mutex_);
      auto can_propose = [&] {
        const bool overdue =
            !forwarded_.empty() && forwarded_.front().forwarded_until <= Clock::now();
        return (!queue_.empty() || overdue) && !halted_ && !unavailable_;
      };
      auto news = [&] { return remote_news_ || read_needed_ || !rewritten_.empty(); };
      if (!stopping_ && !can_propose() && !news()) {
        auto wake_at =
            Clock::now() + (unavailable_ ? options_.retry_interval : options_.poll_interval);
        if (!options_.advertise_url.empty()) wake_at = std::min(wake_at, role_.next_check);
        if (!forwarded_.empty()) wake_at = std::min(wake_at, forwarded_.front().forwarded_until);
        wake_.wait_until(lock, wake_at, [&] { return stopping_ || news() || can_propose(); });
      }
      if (stopping_ && !can_propose()) break;
      halted = halted_.has_value();
      rewritten.swap(rewritten_);
      read_etcd = read_needed_ || unavailable_.has_value() || Clock::now() >= next_sync;
      sync_now = read_etcd || remote_news_;
      remote_news_ = read_needed_ = false;
      if (!sync_now && can_propose()) cut = cut_batch(member);
    }
    if (halted) continue;  // only stop() ends a halted replica's thread
    for (const auto& [height, value] : rewritten) (void)check_rewritten(height, value);
    if (sync_now) {
      if (read_etcd) next_sync = Clock::now() + options_.poll_interval;
      sync_step(read_etcd);
      continue;
    }
    dispatch(cut, member);
  }
  fail_queue(make_error(ErrorCode::kOrderingStopped, "ordering: the orderer stopped"),
             /*in_doubt_too=*/true);
  // Another node takes over at once rather than when the lease would expire.
  if (leading_.exchange(false)) (void)etcd_->revoke_lease(role_.lease);
}

bool EtcdOrderer::may_propose(std::int64_t at_ms) {
  auto allowed = ledger_.may_propose(contract_, signer_.public_key_spki(), at_ms);
  const bool member = allowed && *allowed;  // a failed lookup: do not propose
  if (member != member_) {
    if (member)
      log(OrderingLogLevel::kInfo, "ordering_member", "this node's key may propose blocks");
    else
      log(OrderingLogLevel::kWarn, "ordering_not_member",
          "this node's signing key is not a proposer on the ledger: it only forwards" +
              (allowed ? std::string() : " (" + allowed.error().to_string() + ")"));
    member_ = member;
  }
  return member;
}

void EtcdOrderer::propose_if_member(std::deque<Queued>& batch) {
  // The replicas judge the proposer as of the block's time (a certificate may have expired
  // since the loop's check): checked again with that very time.
  const std::int64_t time_ms = ledger::unix_time_ms();
  if (may_propose(time_ms)) return propose(batch, time_ms);
  forget(batch);
  const std::string why =
      "ordering: this node's signing key is not a proposer on the ledger (its hospital is not "
      "admitted, or its node certificate is not registered or is revoked) and no node that "
      "holds the proposer lease took the transaction";
  for (Queued& q : batch)
    ledger::tell(q.on_commit,
                 q.in_doubt ? make_error(ErrorCode::kCommitUnconfirmed,
                                         why + "; it was forwarded once and may still be ordered")
                            : make_error(ErrorCode::kOrderingUnavailable, why));
}

void EtcdOrderer::maintain_proposer_role(bool member) {
  if (options_.advertise_url.empty() && member) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < role_.next_check) return;
  role_.next_check = now + options_.proposer_ttl / 3;
  const std::string key = options_.prefix + "/proposer";
  if (leading_.load() && !member) {
    leading_.store(false);
    (void)etcd_->revoke_lease(role_.lease);
    role_.lease = 0;
    log(OrderingLogLevel::kWarn, "ordering_proposer_resigned",
        "this node's key may no longer propose: the proposer lease is given up");
  }
  if (leading_.load()) {
    auto left = etcd_->keep_alive(role_.lease);
    if (!left || *left > 0) return;  // unanswered: the lease may live on; checked again soon
    leading_.store(false);
    role_.lease = 0;
    log(OrderingLogLevel::kWarn, "ordering_proposer_lost",
        "this node's proposer lease expired; another node may propose");
  }
  auto held = etcd_->range(key, {});
  if (!held) return;
  if (held->kvs.empty() && member && !options_.advertise_url.empty()) {
    const auto ttl = std::chrono::ceil<std::chrono::seconds>(options_.proposer_ttl);
    auto lease = etcd_->grant_lease(ttl);
    if (!lease) return;
    auto won = etcd_->txn({{key, 0}}, {{key, options_.node_name + " " + options_.advertise_url}},
                          key, *lease);
    if (!won) return;
    if (won->succeeded) {
      role_.lease = *lease;
      role_.holder_url.clear();
      leading_.store(true);
      log(OrderingLogLevel::kInfo, "ordering_proposer",
          "this node proposes the consortium's blocks (" + options_.node_name + ")");
      return;
    }
    held->kvs = std::move(won->failure_kvs);  // another node won; its lease is not ours
  }
  std::string url;
  if (!held->kvs.empty()) {
    const std::string& value = held->kvs.front().value;
    const auto space = value.find(' ');
    const std::string name = value.substr(0, space);
    // This node's own key from before a restart: it proposes until that lease expires.
    if (space != std::string::npos && name != options_.node_name) url = value.substr(space + 1);
    if (url != role_.holder_url && !url.empty())
      log(OrderingLogLevel::kInfo, "ordering_proposer_seen",
          name + " proposes; transactions are forwarded to " + url);
  }
  role_.holder_url = std::move(url);
}

std::optional<std::string> EtcdOrderer::forward_target(bool member) const {
  if (role_.holder_url.empty()) return std::nullopt;
  if (member && (options_.advertise_url.empty() || leading_.load())) return std::nullopt;
  return role_.holder_url;
}

void EtcdOrderer::forward_batch(std::deque<Queued>& batch, const std::string& url) {
  std::vector<std::string> wires;
  wires.reserve(batch.size());
  for (const Queued& q : batch) wires.push_back(q.tx.wire);
  auto held = options_.forward ? options_.forward(url, wires) : forward_over_https(url, wires);
  if (!held || held->size() != batch.size()) {
    log(OrderingLogLevel::kWarn, "ordering_forward_failed",
        "the proposer at " + url + " did not take " + std::to_string(batch.size()) +
            " transaction(s) (" +
            (held ? std::string("a malformed answer") : held.error().to_string()) +
            "): proposed here");
    role_.holder_url.clear();  // until the next check says who proposes
    role_.next_check = {};
    return propose_if_member(batch);
  }
  const auto until = std::chrono::steady_clock::now() + options_.forward_timeout;
  std::deque<Queued> refused;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!(*held)[i]) {
        refused.push_back(std::move(batch[i]));
        continue;
      }
      // It may be ordered without this node hearing of it: never failed as unsent.
      batch[i].in_doubt = true;
      batch[i].forwarded_until = until;
      forwarded_.push_back(std::move(batch[i]));
    }
  }
  forwarded_count_.fetch_add(batch.size() - refused.size());
  if (!refused.empty()) propose_if_member(refused);
}

Result<std::vector<bool>> EtcdOrderer::forward_over_https(const std::string& url,
                                                          const std::vector<std::string>& wires) {
  if (!forward_client_ || forward_client_url_ != url) {
    forward_client_.reset();
    MEDLEDGER_TRY_ASSIGN(auto endpoint, net::parse_https_url(url));
    MEDLEDGER_TRY_ASSIGN(auto client, net::HttpsClient::connect_to(endpoint, peer_tls(options_)));
    forward_client_ = std::make_unique<net::HttpsClient>(std::move(client));
    forward_client_url_ = url;
  }
  boost::json::array list;
  for (const std::string& wire : wires) list.emplace_back(wire);
  auto reply = forward_client_->request(
      "POST", "/v1/ledger/forward",
      boost::json::serialize(boost::json::object{{"transactions", std::move(list)}}),
      {{"Content-Type", "application/json"}});
  if (!reply) {
    forward_client_.reset();
    return reply.error();
  }
  if (reply->status != 200)
    return make_error(ErrorCode::kOrderingUnavailable,
                      "HTTP " + std::to_string(reply->status) + " " + reply->body.substr(0, 200));
  boost::json::error_code ec;
  auto parsed = boost::json::parse(reply->body, ec);
  const boost::json::value* held =
      !ec && parsed.is_object() ? parsed.as_object().if_contains("held") : nullptr;
  if (held == nullptr || !held->is_array())
    return make_error(ErrorCode::kOrderingUnavailable, "no \"held\" list in the answer");
  std::vector<bool> out;
  for (const auto& v : held->as_array()) out.push_back(v.is_bool() && v.as_bool());
  return out;
}

void EtcdOrderer::watch_loop() {
  const std::string blocks = options_.prefix + "/blocks/";
  const std::string end = prefix_range_end(blocks);
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    auto watched = watch_etcd_->watch(
        blocks, end, seen_revision_.load() + 1, std::min(options_.poll_interval, kWatchIdle),
        [&](const std::vector<WatchEvent>& events) {
          auto tip = ledger_.tip();
          const std::uint64_t local = tip ? tip->block.header.height : 0;
          std::lock_guard lock(mutex_);
          for (const WatchEvent& ev : events) {
            if (ev.deleted) continue;
            const auto height = parse_height(ev.kv.key, blocks);
            if (!height) continue;
            if (*height > local) {
              remote_news_ = true;
              if (delivered_.size() < kMaxDeliveredBlocks)
                delivered_.insert_or_assign(*height, ev.kv);
              else
                read_needed_ = true;  // the range read gets what is not kept here
            } else if (ev.kv.mod_revision != ev.kv.create_revision)  // a put over a block
              rewritten_.emplace_back(*height, ev.kv.value);
            if (ev.kv.mod_revision > seen_revision_.load())
              seen_revision_.store(ev.kv.mod_revision);
          }
          wake_.notify_all();
          return !stopping_;
        });
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    if (!watched) {
      wake_.wait_for(lock, options_.retry_interval, [&] { return stopping_; });
      continue;
    }
    if (watched->compacted_to > 0) {
      seen_revision_.store(std::max(seen_revision_.load(), watched->compacted_to - 1));
      read_needed_ = true;
      wake_.notify_all();
    }
  }
}

}  // namespace medledger::cluster

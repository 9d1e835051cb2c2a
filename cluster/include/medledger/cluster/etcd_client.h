// EtcdClient: the etcd v3 calls the ordering needs, over etcd's JSON gateway
// (POST /v3/kv/range, /v3/kv/txn, /v3/kv/deleterange, /v3/kv/compaction, /v3/watch,
// /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke;
// keys and values base64, 64-bit numbers as decimal strings) with net::HttpsClient:
// TLS, the server checked against `ca_file`, this node's client certificate.
//
// One keep-alive connection, blocking calls, not thread-safe (one per thread). A call
// that cannot reach an endpoint tries the next one (members of one cluster; the
// gateway of any member forwards to the leader).
//
// Errors: kOrderingUnavailable for everything that means "etcd cannot take this now"
// (no endpoint answers, no quorum / timeout, the NOSPACE alarm -- named in the
// message), kOrderingStopped when etcd refused the request as malformed (a bug here),
// kConfigInvalid for unreadable TLS files or a bad endpoint URL.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/core/result.h"

namespace medledger::cluster {

struct EtcdConfig {
  std::vector<std::string> endpoints;               // "https://host:port", members of one cluster
  std::filesystem::path ca_file;                    // PEM CAs that issued the members' certificates
  std::filesystem::path client_certificate;         // this node's client certificate (PEM)
  std::filesystem::path client_key;                 // its key (PEM, 0600)
  std::chrono::milliseconds dial_timeout{2000};     // TCP + TLS
  std::chrono::milliseconds request_timeout{5000};  // one request and its answer
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
};

struct RangeResult {
  std::int64_t revision = 0;  // the store's revision when read
  std::vector<KeyValue> kvs;
  bool more = false;  // the limit cut the answer
};

/// One comparison of a transaction: the key's create revision (0: absent) equals `value`.
struct CreateRevisionIs {
  std::string key;
  std::int64_t value = 0;
};

struct TxnResult {
  std::int64_t revision = 0;
  bool succeeded = false;
  std::vector<KeyValue> failure_kvs;  // what the failure branch's range read found
};

struct WatchEvent {
  bool deleted = false;
  KeyValue kv;
};

/// How a watch call ended (it returns to let the caller check for stop).
struct WatchEnd {
  std::int64_t next_revision = 0;  // where to watch from next time
  std::int64_t compacted_to = 0;   // > 0: events before this revision are gone
};

/// The key just after every key that starts with `prefix` (etcd's range_end for a prefix).
std::string prefix_range_end(std::string_view prefix);

class EtcdClient {
 public:
  /// Reads the TLS files; connects on the first call. kConfigInvalid for bad files/URLs.
  static core::Result<std::unique_ptr<EtcdClient>> connect(const EtcdConfig& config);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  /// Keys in [key, range_end) (range_end empty: just `key`), ascending, at most `limit`
  /// (0: all). Cost: one round trip.
  core::Result<RangeResult> range(std::string_view key, std::string_view range_end,
                                  std::int64_t limit = 0);
  /// If every comparison holds, puts `puts` (key, value; attached to `lease` when
  /// non-zero); otherwise reads `failure_range` (a key, or nothing when empty) -- in one
  /// atomic etcd transaction.
  core::Result<TxnResult> txn(const std::vector<CreateRevisionIs>& compares,
                              const std::vector<std::pair<std::string, std::string>>& puts,
                              std::string_view failure_range = {}, std::int64_t lease = 0);
  /// Grants a lease: keys put with it are deleted when it is not kept alive for `ttl`.
  core::Result<std::int64_t> grant_lease(std::chrono::seconds ttl);
  /// Renews the lease; returns its remaining seconds (0: it has expired, its keys are gone).
  core::Result<std::int64_t> keep_alive(std::int64_t lease);
  /// Ends the lease at once: its keys are deleted.
  core::Result<void> revoke_lease(std::int64_t lease);
  /// Puts one key unconditionally; returns the new revision.
  core::Result<std::int64_t> put(std::string_view key, std::string_view value);
  /// Deletes [key, range_end); returns how many keys went.
  core::Result<std::int64_t> delete_range(std::string_view key, std::string_view range_end);
  /// Compacts the key-value history up to `revision` (old revisions become unreadable).
  core::Result<void> compact(std::int64_t revision);
  /// Watches [key, range_end) from `start_revision`, handing each batch of events to
  /// `on_events` (false: stop). Returns when on_events says stop, when nothing arrived
  /// for `idle` (the caller re-watches from next_revision), or when etcd says the
  /// start revision was compacted away (compacted_to > 0). Errors as the other calls.
  core::Result<WatchEnd> watch(
      std::string_view key, std::string_view range_end, std::int64_t start_revision,
      std::chrono::milliseconds idle,
      const std::function<bool(const std::vector<WatchEvent>&)>& on_events);

 private:
  struct Impl;
  explicit EtcdClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace medledger::cluster

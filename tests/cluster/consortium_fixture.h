// Three replicas of one consortium ledger (kv contract, software proposer keys), each
// with its own LMDB directory and its own EtcdOrderer, on a real etcd cluster.
#pragma once

#include <array>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "etcd_cluster.h"
#include "medledger/cluster/etcd_orderer.h"
#include "medledger/core/software_signer.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/kv_contract.h"
#include "medledger/ledger/ledger.h"
#include "temp_dir.h"

namespace medledger::cluster::testing {

using medledger::testing::EtcdCluster;
using medledger::testing::EtcdOptions;
using medledger::testing::TempDir;

inline constexpr std::int64_t kTxTimeMs = 1700000000000;
inline constexpr const char* kPrefix = "/test";

/// A canonical kv transaction with a fresh nonce.
std::string kv_put(const std::string& key, const std::string& value);

struct Replica {
  std::unique_ptr<core::SoftwareSigner> signer;
  ledger::KeyValueContract contract;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<EtcdOrderer> orderer;
};

class Consortium {
 public:
  static constexpr int kReplicas = 3;

  explicit Consortium(EtcdOptions etcd_options = {});
  EtcdCluster& etcd() { return etcd_; }
  Replica& replica(int i) { return replicas_[static_cast<std::size_t>(i)]; }
  std::filesystem::path ledger_dir(int i) const;
  std::filesystem::path evidence_dir(int i) const;

  /// The orderer options of replica i (tests may change them before start()).
  EtcdOrdererOptions& options(int i) { return options_[static_cast<std::size_t>(i)]; }
  /// Replica 0 founds the ledger (genesis lists all three keys); the others join from
  /// etcd. Then starts its orderer.
  /// A replica whose ledger was closed (close()) is opened again from its directory.
  core::Result<void> start(int i);
  void stop(int i);
  /// One proposer at a time: every replica advertises "inproc://<i>" and forwards to the
  /// proposer's orderer in this process (as POST /v1/ledger/forward would in serve).
  void forward_in_process();
  /// Which replicas' keys genesis lists as proposers (default: all); before start(0).
  void set_genesis_proposers(std::vector<int> replicas) {
    genesis_proposers_ = std::move(replicas);
  }
  /// stop() and close the replica's LMDB too, as a process exit would.
  void close(int i) {
    stop(i);
    replica(i).ledger.reset();
  }

  /// Submits and waits (at most 30 s) for the outcome.
  core::Result<ledger::Receipt> submit(int i, const std::string& wire);
  /// Waits (at most `limit`) until every running replica has the same tip; returns it.
  bool converge(std::chrono::milliseconds limit = std::chrono::seconds(20));
  std::uint64_t height(int i) { return replica(i).ledger->tip()->block.header.height; }

 private:
  EtcdCluster etcd_;
  TempDir dir_;
  std::array<Replica, kReplicas> replicas_;
  std::array<EtcdOrdererOptions, kReplicas> options_;
  std::mutex orderers_mutex_;  // forwarders read other replicas' orderers
  std::vector<int> genesis_proposers_{0, 1, 2};
};

}  // namespace medledger::cluster::testing

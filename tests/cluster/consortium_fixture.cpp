#include "consortium_fixture.h"

#include <openssl/rand.h>

#include "medledger/ledger/transaction.h"

namespace medledger::cluster::testing {

std::string kv_put(const std::string& key, const std::string& value) {
  ledger::Transaction tx;
  tx.type = "record.put";
  tx.time_ms = kTxTimeMs;
  tx.nonce.resize(ledger::kMinNonceBytes);
  RAND_bytes(tx.nonce.data(), static_cast<int>(tx.nonce.size()));
  tx.body = boost::json::object{{"key", key}, {"value", value}};
  return ledger::encode_transaction(tx);
}

Consortium::Consortium(EtcdOptions etcd_options) : etcd_(etcd_options) {
  auto started = etcd_.start();
  if (!started) {
    ADD_FAILURE() << "etcd did not start: " << started.error().to_string();
    return;
  }
  for (int i = 0; i < kReplicas; ++i) {
    auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
    if (!signer) std::abort();
    replica(i).signer = std::move(*signer);
    EtcdOrdererOptions& o = options(i);
    o.etcd.endpoints = etcd_.endpoints();
    o.etcd.ca_file = etcd_.ca_file();
    o.etcd.client_certificate = etcd_.client_cert_file();
    o.etcd.client_key = etcd_.client_key_file();
    o.etcd.request_timeout = std::chrono::milliseconds(3000);
    o.etcd.dial_timeout = std::chrono::milliseconds(1000);
    o.prefix = kPrefix;
    o.node_name = "node-" + std::to_string(i);
    o.poll_interval = std::chrono::milliseconds(200);
    o.retry_interval = std::chrono::milliseconds(100);
    o.applied_interval = std::chrono::milliseconds(200);
    o.evidence_dir = evidence_dir(i);
  }
}

std::filesystem::path Consortium::ledger_dir(int i) const {
  return dir_.path() / ("replica-" + std::to_string(i));
}
std::filesystem::path Consortium::evidence_dir(int i) const {
  return dir_.path() / ("evidence-" + std::to_string(i));
}

core::Result<void> Consortium::start(int i) {
  Replica& r = replica(i);
  if (!r.ledger && std::filesystem::exists(ledger_dir(i))) {
    MEDLEDGER_TRY_ASSIGN(r.ledger, ledger::Ledger::open(ledger_dir(i)));
  }
  if (!r.ledger) {
    if (i == 0) {
      ledger::GenesisConfig config;
      config.consortium = "test-consortium";
      config.hospitals = {
          {"hospital-a", {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}};
      for (int p : genesis_proposers_) config.proposers.push_back(replica(p).signer.get());
      config.contract = ledger::kKeyValueContractName;
      MEDLEDGER_TRY_ASSIGN(
          r.ledger, ledger::Ledger::create(ledger_dir(i), ledger::make_genesis_document(config),
                                           r.contract, *r.signer, kTxTimeMs));
    } else {
      MEDLEDGER_TRY_ASSIGN(r.ledger, EtcdOrderer::join(ledger_dir(i), r.contract, options(i)));
    }
  }
  MEDLEDGER_TRY_ASSIGN(auto orderer,
                       EtcdOrderer::start(*r.ledger, r.contract, *r.signer, options(i)));
  std::lock_guard lock(orderers_mutex_);
  r.orderer = std::move(orderer);
  return core::success();
}

void Consortium::stop(int i) {
  std::unique_ptr<EtcdOrderer> gone;
  {
    std::lock_guard lock(orderers_mutex_);
    gone = std::move(replica(i).orderer);
  }
  gone.reset();  // joins its threads, outside the lock the forwarders take
}

void Consortium::forward_in_process() {
  for (int i = 0; i < kReplicas; ++i) {
    options(i).advertise_url = "inproc://" + std::to_string(i);
    options(i).proposer_ttl = std::chrono::seconds(2);
    options(i).forward =
        [this](const std::string& url,
               const std::vector<std::string>& wires) -> core::Result<std::vector<bool>> {
      const int to = std::stoi(url.substr(std::string("inproc://").size()));
      std::lock_guard lock(orderers_mutex_);
      EtcdOrderer* orderer = replica(to).orderer.get();
      if (orderer == nullptr)
        return core::make_error(core::ErrorCode::kOrderingUnavailable, "test: proposer stopped");
      std::vector<bool> held;
      for (const std::string& wire : wires)
        held.push_back(static_cast<bool>(ledger::hold_forwarded(*orderer, wire)));
      return held;
    };
  }
}

core::Result<ledger::Receipt> Consortium::submit(int i, const std::string& wire) {
  auto future = replica(i).orderer->submit(wire);
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    return core::make_error(core::ErrorCode::kCommitUnconfirmed, "test: no outcome in 30 s");
  return future.get();
}

bool Consortium::converge(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<core::Digest> first;
    bool same = true;
    for (auto& r : replicas_) {
      if (!r.orderer) continue;
      auto tip = r.ledger->tip();
      if (!tip) return false;
      if (!first)
        first = tip->block.hash;
      else
        same = same && *first == tip->block.hash;
    }
    if (same) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace medledger::cluster::testing

// Shared helpers for the ledger tests: a temporary directory, a software proposer
// key, a genesis document, and transactions of the interim kv contract.
#pragma once

#include "temp_dir.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "medledger/core/software_signer.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/kv_contract.h"
#include "medledger/ledger/ledger.h"

namespace medledger::ledger::testing {

using medledger::testing::TempDir;  // tests/support/temp_dir.h

inline constexpr std::int64_t kTestTimeMs = 1700000000000;

/// A canonical wire transaction of `type` with `body` and a fresh random nonce.
inline std::string make_wire(const std::string& type, boost::json::object body) {
  Transaction tx;
  tx.type = type;
  tx.time_ms = kTestTimeMs;
  tx.nonce.resize(kMinNonceBytes);
  RAND_bytes(tx.nonce.data(), static_cast<int>(tx.nonce.size()));
  tx.body = std::move(body);
  return encode_transaction(tx);
}

inline std::string kv_put(const std::string& key, const std::string& value) {
  return make_wire("record.put", boost::json::object{{"key", key}, {"value", value}});
}

inline PendingTransaction pending(const std::string& wire) {
  auto p = prepare_transaction(wire);
  if (!p) ADD_FAILURE() << p.error().to_string();
  return std::move(*p);
}

/// A ledger in a temporary directory with a software proposer and the kv contract.
struct TestLedger {
  TempDir dir;
  std::unique_ptr<core::SoftwareSigner> signer;
  KeyValueContract contract;
  std::unique_ptr<Ledger> ledger;

  explicit TestLedger(LedgerOptions options = {}) {
    auto made = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
    if (!made) std::abort();
    signer = std::move(*made);
    GenesisConfig config;
    config.consortium = "test-consortium";
    config.hospitals = {
        {"hospital-a", {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}};
    config.proposers = {signer.get()};
    auto created = Ledger::create(dir.path() / "ledger", make_genesis_document(config), contract,
                                  *signer, kTestTimeMs, options);
    if (!created) {
      ADD_FAILURE() << created.error().to_string();
      std::abort();
    }
    ledger = std::move(*created);
  }

  CommittedBlock append(const std::vector<std::string>& wires) {
    std::vector<PendingTransaction> batch;
    for (const auto& w : wires) batch.push_back(pending(w));
    auto block = ledger->append_block(batch, kTestTimeMs + 1, contract, *signer);
    if (!block) {
      ADD_FAILURE() << block.error().to_string();
      return {};
    }
    return std::move(*block);
  }
};

}  // namespace medledger::ledger::testing

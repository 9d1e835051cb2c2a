// KeyValueContract: the interim contract used by the CLI demo and the tests until
// the medical-records contract (next issue) replaces it. Deterministic rules:
//
//   "genesis"     accepted at height 0 only (kTxRejected later); stores its body's
//                 canonical form in state table "config", key "genesis".
//   "record.put"  body {"key":"<1..400 bytes>","value":"<string>"[,"expect":"<string>"]}:
//                 sets table "kv" key -> value. With "expect", rejected (kTxRejected)
//                 unless the current value equals it (compare-and-set); a body
//                 without a string "key"/"value" is rejected (kTxRejected).
//   other types   accepted; no state change.
#pragma once

#include "medledger/ledger/contract.h"

namespace medledger::ledger {

class KeyValueContract final : public Contract {
 public:
  std::string_view name() const override { return "kv"; }
  core::Result<void> validate(const Transaction& tx, const StateView& state,
                              const BlockContext& ctx) override;
  core::Result<void> apply(const Transaction& tx, StateWriter& state,
                           const BlockContext& ctx) override;
};

}  // namespace medledger::ledger

// Replication: a block as replicas exchange it (an etcd value, the peer block
// route), and the checks a replica runs before it applies a block it did not build.
//
//   {"header":"<the stored header: canonical JSON text>",
//    "results":[<u16 result code per transaction>,...],
//    "txs":["<b64url wire transaction>",...],"version":1}
//
// Canonical JSON (core/canonical_json.h) so that one block has one encoding: the same
// bytes in etcd, from a peer and re-read from any replica's LMDB.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/core/result.h"
#include "medledger/ledger/block.h"

namespace medledger::ledger {

/// Layout version written in "version".
inline constexpr std::int64_t kOrderedBlockVersion = 1;
/// Largest encoded block accepted from outside: etcd refuses requests over 1.5 MiB,
/// so a proposer cuts blocks below kMaxOrderedBlockBytes (ordering.h).
inline constexpr std::size_t kMaxOrderedBlockBytes = std::size_t{1} << 20;

struct OrderedBlock {
  std::string header_json;             // canonical, with the proposer's signature
  std::vector<std::uint16_t> results;  // one per transaction, in log order
  std::vector<std::string> wires;      // the transactions' wire bytes, in log order
};

/// The canonical JSON above. CPU only.
std::string encode_ordered_block(const OrderedBlock& block);
/// Bytes one transaction adds to encode_ordered_block (base64url + quotes + code).
std::size_t ordered_block_tx_bytes(std::size_t wire_bytes);
/// Parses an exchanged block: canonical, complete, at most kMaxOrderedBlockBytes,
/// one result per transaction. kBlockInvalid naming what is wrong. CPU only.
core::Result<OrderedBlock> decode_ordered_block(std::string_view json);

/// Bounds on the header time of a received block (it must also be >= the previous
/// block's time): at most `max_future_skew` ahead of `now_ms`.
struct BlockCheckOptions {
  std::int64_t now_ms = 0;
  std::chrono::milliseconds max_future_skew{30'000};
};

}  // namespace medledger::ledger

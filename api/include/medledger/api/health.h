// The real /healthz probes of a serving node (builtin_routes.h HealthProbes):
// the tokens answer, the ledger can take a write.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "medledger/api/builtin_routes.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/ledger/ledger.h"

namespace medledger::api {

/// Each pool's token answers: one C_GetSessionInfo on a pooled session (through
/// SessionPool::with_retry, so a token that went away and came back is re-found
/// and logged in again by the probe itself) and the session is logged in.
/// Details: {"tokens":[labels]}. Failure: kTokenUnavailable naming the token.
/// Cost: one PKCS#11 call per token (plus recovery when it failed).
HealthProbe token_probe(std::vector<std::shared_ptr<hsm::SessionPool>> pools);

/// How long the ledger's writer has been on its current block (nullopt: idle):
/// node::ConsortiumLedger::commit_in_progress_for.
using WriterBusyFor = std::function<std::optional<std::chrono::milliseconds>()>;
/// A block commit takes milliseconds (one fsync); this long means a stuck disk.
inline constexpr std::chrono::milliseconds kWriterStallLimit{10'000};

/// Whether the orderer can take writes (node::ConsortiumLedger::ordering_health):
/// a consortium replica fails it while etcd is unreachable or after it halted.
using OrderingHealth = std::function<core::Result<void>()>;

/// The ledger can take a write: its LMDB environment answers a read transaction
/// (the chain tip), the file system holding `dir` is writable and has at least
/// `min_free_bytes` free for this process (statvfs f_bavail), and the writer
/// (`writer_busy_for`, if given) is not stuck on one block for `stall_limit`, and the
/// orderer (`ordering`, if given) takes writes.
/// Details: {"height","free_bytes"}. Failure: kLedgerStorage, or the orderer's error
/// (kOrderingUnavailable, kReplicaHalted, with its reason). Cost: a read txn + statvfs.
HealthProbe ledger_probe(ledger::Ledger& ledger, std::filesystem::path dir,
                         std::uint64_t min_free_bytes, WriterBusyFor writer_busy_for = {},
                         std::chrono::milliseconds stall_limit = kWriterStallLimit,
                         OrderingHealth ordering = {});

}  // namespace medledger::api

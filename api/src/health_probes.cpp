#include "medledger/api/health.h"

#include <sys/statvfs.h>

#include <boost/json/array.hpp>

namespace medledger::api {

namespace {
using core::ErrorCode;

core::Result<void> probe_one_token(hsm::SessionPool& pool) {
  return pool.with_retry<void>(
      "health probe", [](hsm::SessionPool::Lease& lease) -> core::Result<void> {
        CK_SESSION_INFO info{};
        MEDLEDGER_TRY(
            lease.check("C_GetSessionInfo", lease.fn()->C_GetSessionInfo(lease.handle(), &info)));
        if (info.state != CKS_RO_USER_FUNCTIONS && info.state != CKS_RW_USER_FUNCTIONS) {
          // Classified as a device-class fault: with_retry logs in again and retries once.
          return lease.check("C_GetSessionInfo", CKR_USER_NOT_LOGGED_IN, "session not logged in");
        }
        return core::success();
      });
}
}  // namespace

HealthProbe token_probe(std::vector<std::shared_ptr<hsm::SessionPool>> pools) {
  return [pools = std::move(pools)]() -> core::Result<boost::json::object> {
    boost::json::array labels;
    for (const auto& pool : pools) {
      const std::string label = pool->token().label;
      auto probed = probe_one_token(*pool);
      if (!probed) {
        return core::make_error(ErrorCode::kTokenUnavailable,
                                "token '" + label + "': " + probed.error().message);
      }
      labels.emplace_back(label);
    }
    return boost::json::object{{"tokens", std::move(labels)}};
  };
}

HealthProbe ledger_probe(ledger::Ledger& ledger, std::filesystem::path dir,
                         std::uint64_t min_free_bytes, WriterBusyFor writer_busy_for,
                         std::chrono::milliseconds stall_limit, OrderingHealth ordering) {
  return [&ledger, dir = std::move(dir), min_free_bytes,
          writer_busy_for = std::move(writer_busy_for), stall_limit,
          ordering = std::move(ordering)]() -> core::Result<boost::json::object> {
    auto tip = ledger.tip();
    if (!tip)
      return core::make_error(ErrorCode::kLedgerStorage,
                              "ledger unreadable: " + tip.error().message);
    if (writer_busy_for) {
      if (auto busy = writer_busy_for(); busy && *busy >= stall_limit) {
        return core::make_error(ErrorCode::kLedgerStorage,
                                "the ledger's writer has been on one block commit for " +
                                    std::to_string(busy->count()) +
                                    " ms (a block takes milliseconds): a stuck disk?");
      }
    }
    if (ordering) MEDLEDGER_TRY(ordering());
    struct statvfs fs {};
    if (statvfs(dir.c_str(), &fs) != 0) {
      return core::make_error(ErrorCode::kLedgerStorage, "cannot stat the ledger's file system");
    }
    if ((fs.f_flag & ST_RDONLY) != 0) {
      return core::make_error(ErrorCode::kLedgerStorage,
                              "the ledger's file system is mounted read-only");
    }
    const std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (free_bytes < min_free_bytes) {
      return core::make_error(ErrorCode::kLedgerStorage,
                              "ledger disk nearly full: " + std::to_string(free_bytes) +
                                  " bytes free, floor " + std::to_string(min_free_bytes));
    }
    return boost::json::object{{"height", tip->block.header.height}, {"free_bytes", free_bytes}};
  };
}

}  // namespace medledger::api

// Internal to the audit archive sources: POSIX ustar archives (a writer that hands
// each member to a sink as it is added, no whole-archive buffer, and a strict reader
// for the checks) and what the writer and the verifier both derive from the trail.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/core/result.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/audit_export.h"

namespace medledger::node::detail {

class TarWriter {
 public:
  /// `max_bytes` 0: no limit; `mtime` (Unix seconds) is every member's time.
  TarWriter(const ByteSink& sink, std::uint64_t max_bytes, std::int64_t mtime)
      : sink_(sink), max_bytes_(max_bytes), mtime_(mtime) {}

  /// One regular file (name < 100 bytes). kExportTooLarge past the limit; the sink's errors.
  core::Result<void> add(std::string_view name, std::string_view content);
  /// The two zero blocks that end an archive.
  core::Result<void> finish();
  std::uint64_t written() const { return written_; }

 private:
  core::Result<void> emit(std::string_view bytes);

  const ByteSink& sink_;
  std::uint64_t max_bytes_;
  std::int64_t mtime_;
  std::uint64_t written_ = 0;
};

struct TarMember {
  std::string name;
  std::string_view content;  // into the archive given to read_tar
};

/// The regular files of an archive in order. kBundleMismatch when a header's checksum,
/// magic, type or size is wrong, padding is not zero, or the end is missing.
core::Result<std::vector<TarMember>> read_tar(std::string_view archive);

/// The CA certificates a genesis or hospital.admit transaction puts on the ledger, as
/// PEM (OpenSSL's spelling) in body order; "" for other types. kMalformedEncoding.
core::Result<std::string> anchor_pems(const ledger::Transaction& tx);

}  // namespace medledger::node::detail

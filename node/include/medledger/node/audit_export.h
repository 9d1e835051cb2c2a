// node::AuditExport: what an auditor checks offline -- the records' metadata,
// every read, the certificates involved (status, chains as PEM files) and an
// RFC 9162 inclusion proof of every transaction to the signed tip block. Reached
// as HospitalNode::audit(); the bundle's format is in docs/node.md. Read-only and
// thread-safe (one ledger snapshot per export).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/core/result.h"

namespace medledger::node {

struct NodeContext;

struct AuditQuery {
  std::optional<std::string> patient;   // one patient's records and reads
  std::optional<std::int64_t> from_ms;  // time range (block time), inclusive
  std::optional<std::int64_t> to_ms;    // exclusive
};

/// The auditor's bundle: JSON plus PEM files (name -> content), docs/node.md.
struct AuditBundle {
  boost::json::object bundle;
  std::vector<std::pair<std::string, std::string>> pem_files;
};

class AuditExport {
 public:
  explicit AuditExport(const NodeContext& node) : node_(node) {}

  /// Records' metadata, every read, the certificates involved with chains and
  /// status, inclusion proofs to the current tip. kInvalidArgument without a
  /// patient or a range. Cost: prefix scans + O(log n) reads per proof.
  core::Result<AuditBundle> export_bundle(const AuditQuery& query) const;

 private:
  const NodeContext& node_;
};

}  // namespace medledger::node

// The node data directory and an opened node: shared by the node and audit commands.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "medledger/hsm/session_pool.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/hospital_node.h"
#include "token_options.h"

namespace medledger::app {

/// `--data` when given, else $MEDLEDGER_DATA_DIR/node, else .medledger/node.
std::filesystem::path node_data_dir(const std::string& data);

/// The open node: members in dependency order (the node refers to the ledger).
struct OpenNode {
  std::shared_ptr<hsm::SessionPool> pool;
  std::unique_ptr<node::ConsortiumLedger> ledger;
  std::unique_ptr<node::HospitalNode> node;
};

/// Opens the token, the node's ledger (signing with the node key) and the node; exits
/// with the error's status on failure.
OpenNode open_hospital_node(const TokenOptions& token, const std::filesystem::path& data_dir);

}  // namespace medledger::app

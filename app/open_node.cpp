#include "open_node.h"

#include <cstdlib>

#include "cli_support.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/node/node_config.h"

namespace medledger::app {

std::filesystem::path node_data_dir(const std::string& data) {
  if (!data.empty()) return data;
  const char* base = std::getenv("MEDLEDGER_DATA_DIR");
  return base != nullptr && *base != '\0' ? std::filesystem::path(base) / "node"
                                          : std::filesystem::path(".medledger") / "node";
}

OpenNode open_hospital_node(const TokenOptions& token, const std::filesystem::path& data_dir) {
  OpenNode out;
  auto config = require(node::load_node_config(data_dir));
  out.pool = open_token(token);
  auto signer = require(node::HospitalNode::signing_key(config, out.pool));
  out.ledger = require(node::ConsortiumLedger::open(config.ledger_dir, std::move(signer)));
  out.node = require(node::HospitalNode::open(data_dir, out.pool, *out.ledger));
  return out;
}

}  // namespace medledger::app

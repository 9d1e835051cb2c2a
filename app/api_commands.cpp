// `medledger serve --config FILE`: the HTTPS appliance (api/).
//
// With [node] data_dir the server fronts that hospital node (token from [token],
// ledger from [ledger] path or node.json) on the /v1 node routes; without it the
// node routes answer 503 (infrastructure only). The client trust still comes from
// the files in [tls] (client_ca, client_crls) and the health probes look at the
// configured paths only; the ledger's admitted CAs and real probes are to come.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_support.h"
#include "commands.h"
#include "medledger/api/builtin_routes.h"
#include "medledger/api/client_auth.h"
#include "medledger/api/config.h"
#include "medledger/api/logging.h"
#include "medledger/api/node_routes.h"
#include "medledger/api/server.h"
#include "medledger/api/tls.h"
#include "medledger/core/secret_source.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token_selector.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/hospital_node.h"

namespace medledger::app {
namespace {

using core::ErrorCode;

core::Result<std::string> read_text(const std::filesystem::path& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(ErrorCode::kConfigInvalid, key + ": cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

core::Result<std::shared_ptr<const api::TrustSnapshot>> load_client_trust(const api::TlsConfig& tls) {
  auto bundle = read_text(tls.client_ca, "tls.client_ca");
  if (!bundle) return bundle.error();
  std::vector<std::string> crls;
  for (const auto& path : tls.client_crls) {
    auto crl = read_text(path, "tls.client_crls");
    if (!crl) return crl.error();
    crls.push_back(std::move(*crl));
  }
  auto snapshot = api::trust_snapshot_from_pem(*bundle, crls, 1);
  if (!snapshot) {
    return core::make_error(ErrorCode::kConfigInvalid, "tls.client_ca / tls.client_crls: " + snapshot.error().to_string());
  }
  return snapshot;
}

// Interim probes (node/ replaces them): the token module file is readable; the
// ledger directory exists and is writable.
api::HealthProbes interim_probes(const api::ServerConfig& config) {
  api::HealthProbes probes;
  if (!config.token.module.empty()) {
    probes.token = [module = config.token.module]() -> core::Result<void> {
      if (access(module.c_str(), R_OK) != 0) {
        return core::make_error(ErrorCode::kTokenUnavailable, "the PKCS#11 module cannot be read");
      }
      return core::success();
    };
  }
  if (!config.ledger.path.empty()) {
    probes.ledger = [path = config.ledger.path]() -> core::Result<void> {
      if (access(path.c_str(), W_OK) != 0) return core::make_error(ErrorCode::kLedgerStorage, "the ledger directory is not writable");
      return core::success();
    };
  }
  return probes;
}

// The node `serve` fronts; members in dependency order (the node refers to the ledger).
struct ServedNode {
  std::shared_ptr<hsm::SessionPool> pool;
  std::unique_ptr<node::ConsortiumLedger> ledger;
  std::unique_ptr<node::HospitalNode> node;
  std::shared_ptr<api::NodeBinding> binding;
};

// Opens [node] data_dir on the [token] token; ends the process with the stable code on failure.
ServedNode open_served_node(const api::ServerConfig& config) {
  ServedNode out;
  auto node_config = require(node::load_node_config(config.node.data_dir));
  auto module = require(hsm::Module::load(hsm::resolve_module_path(config.token.module.string())));
  auto source = require(core::SecretSource::parse(config.token.pin_source, "user PIN of token '" + config.token.label + "'"));
  auto pin = require(core::read_secret(source));
  out.pool = require(hsm::SessionPool::open(module, hsm::TokenSelector::by_label(config.token.label), std::move(pin)));
  auto proposer = require(node::HospitalNode::signing_key(node_config, out.pool));
  const auto ledger_dir = config.ledger.path.empty() ? node_config.ledger_dir : config.ledger.path;
  out.ledger = require(node::ConsortiumLedger::open(ledger_dir, std::move(proposer)));
  out.node = require(node::HospitalNode::open(config.node.data_dir, out.pool, *out.ledger));
  out.binding = std::make_shared<api::NodeBinding>();
  out.binding->node = out.node.get();
  out.binding->checkpoint_signer = require(node::HospitalNode::signing_key(node_config, out.pool));
  return out;
}

void run_serve(const std::string& config_path) {
  // A client that disconnects must cost an error code, not the process (SIGPIPE).
  signal(SIGPIPE, SIG_IGN);
  api::ServerConfig config = require(api::load_server_config(config_path));
  require(api::configure_logging(config.log));
  auto trust = require(load_client_trust(config.tls));
  auto key = std::make_shared<api::PemFileTlsKey>(config.tls.private_key);
  api::TlsContext tls = require(api::make_tls_context(config.tls.certificate, key));

  auto metrics = std::make_shared<api::MetricsRegistry>();
  api::describe_standard_metrics(*metrics);
  auto router = std::make_shared<api::Router>();
  ServedNode served;  // outlives the server (declared before it)
  if (!config.node.data_dir.empty()) served = open_served_node(config);
  require(api::add_appliance_routes(*router, {interim_probes(config), metrics}, served.binding));

  api::ServerParts parts;
  parts.tls = std::move(tls);
  parts.router = router;
  parts.authenticator = std::make_shared<api::ChainValidatingAuthenticator>([trust] { return trust; });
  parts.metrics = metrics;
  parts.handle_signals = true;
  auto server = require(api::Server::start(config, std::move(parts)));
  server->wait();
}

}  // namespace

void register_api_commands(CLI::App& app) {
  auto config_path = std::make_shared<std::string>();
  CLI::App* serve = app.add_subcommand("serve", "run the HTTPS appliance until SIGTERM/SIGINT (graceful stop)");
  serve->add_option("--config", *config_path, "TOML configuration file (docs/api.md)")->required();
  serve->callback([config_path] { run_serve(*config_path); });
}

}  // namespace medledger::app

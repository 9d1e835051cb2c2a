// `medledger serve --config FILE`: the HTTPS appliance (api/).
//
// Until node/ lands, the client trust comes from the files in [tls] (client_ca,
// client_crls) and the health probes look at the configured paths only; node/
// replaces both with the ledger's admitted CAs and revocations and real probes.
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
#include "medledger/api/server.h"
#include "medledger/api/tls.h"

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
  require(api::add_appliance_routes(*router, {interim_probes(config), metrics}));

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

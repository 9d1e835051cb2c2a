// `medledger serve --config FILE`: the HTTPS appliance (api/).
//
// The hospital nodes come from [[hospital]] (several: a one-machine consortium in
// solo ordering, every node in this process on ONE shared ConsortiumLedger) or
// from [node] + [token] (one); without either the server is infrastructure-only
// (node routes answer 503). Client trust is the ledger's (admitted hospital CAs,
// cert.revoke), plus [tls] client_ca / client_crls when given (the only trust of
// an infrastructure-only server). /healthz probes every token and the ledger.
// [tls] private_key may name a key in the first node's token (pkcs11:...).
#include <signal.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_support.h"
#include "commands.h"
#include "medledger/api/builtin_routes.h"
#include "medledger/api/client_auth.h"
#include "medledger/api/config.h"
#include "medledger/api/health.h"
#include "medledger/api/ledger_trust.h"
#include "medledger/api/logging.h"
#include "medledger/api/node_routes.h"
#include "medledger/api/server.h"
#include "medledger/api/tls.h"
#include "medledger/cluster/etcd_orderer.h"
#include "medledger/core/secret_source.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token_selector.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/hospital_node.h"

namespace medledger::app {
namespace {

using core::ErrorCode;

core::Error config_error(const std::string& key, const std::string& why) {
  return core::make_error(ErrorCode::kConfigInvalid, key + ": " + why);
}

core::Result<std::string> read_text(const std::filesystem::path& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error(key, "cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// [tls] client_ca / client_crls as a snapshot under `generation`; null when
// client_ca is not set.
core::Result<std::shared_ptr<const api::TrustSnapshot>> load_file_trust(
    const api::TlsConfig& tls, std::uint64_t generation = 1) {
  if (tls.client_ca.empty()) return std::shared_ptr<const api::TrustSnapshot>();
  MEDLEDGER_TRY_ASSIGN(auto bundle, read_text(tls.client_ca, "tls.client_ca"));
  std::vector<std::string> crls;
  for (const auto& path : tls.client_crls) {
    MEDLEDGER_TRY_ASSIGN(auto crl, read_text(path, "tls.client_crls"));
    crls.push_back(std::move(crl));
  }
  auto snapshot = api::trust_snapshot_from_pem(bundle, crls, generation);
  if (!snapshot)
    return config_error("tls.client_ca / tls.client_crls", snapshot.error().to_string());
  return snapshot;
}

// The file trust in force, replaced on SIGHUP (thread-safe).
class FileTrust {
 public:
  explicit FileTrust(std::shared_ptr<const api::TrustSnapshot> initial)
      : current_(std::move(initial)) {}
  std::shared_ptr<const api::TrustSnapshot> get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void set(std::shared_ptr<const api::TrustSnapshot> next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const api::TrustSnapshot> current_;
};

// SIGHUP: reads [tls] client_ca / client_crls again. A file that does not load
// keeps the trust in force (and says why in the log).
std::function<void()> reload_file_trust(const api::TlsConfig& tls, std::shared_ptr<FileTrust> files,
                                        std::shared_ptr<api::LedgerTrust> ledger_trust) {
  auto generation = std::make_shared<std::atomic<std::uint64_t>>(1);
  return [tls, files, ledger_trust, generation] {
    if (tls.client_ca.empty()) {
      api::log_event(api::LogLevel::kInfo, "trust_reload",
                     {{"result", "nothing to reload (no tls.client_ca)"}});
      return;
    }
    auto fresh = load_file_trust(tls, ++*generation);
    if (!fresh) {
      api::log_event(api::LogLevel::kError, "trust_reload",
                     {{"error", core::error_code_name(fresh.error().code)},
                      {"message", fresh.error().message + "; the trust in force is kept"}});
      return;
    }
    const std::size_t anchors =
        (*fresh)->anchors.roots.size() + (*fresh)->anchors.intermediates.size();
    const std::size_t crls = (*fresh)->crls.size();
    files->set(*fresh);
    if (ledger_trust) ledger_trust->set_extra(*fresh);
    api::log_event(api::LogLevel::kInfo, "trust_reload",
                   {{"result", "reloaded"}, {"file_anchors", anchors}, {"crls", crls}});
  };
}

// One hospital node of the process: its token and node; members in dependency order.
struct ServedHospital {
  std::string key;  // "hospital[1]" or "node", for messages
  node::NodeConfig config;
  std::shared_ptr<hsm::SessionPool> pool;
  std::unique_ptr<node::HospitalNode> node;
};

// Everything serve opens; the nodes refer to the ledger, so they are destroyed first.
struct ServedConsortium {
  std::unique_ptr<node::ConsortiumLedger> ledger;
  std::filesystem::path ledger_dir;
  std::vector<ServedHospital> hospitals;
  std::shared_ptr<api::NodeBinding> binding;
  std::shared_ptr<hsm::SessionPool>
      token_key_pool;  // infrastructure-only: [token] for a pkcs11: TLS key
};

// One Module per library path: PKCS#11 modules are process-global.
class Modules {
 public:
  core::Result<std::shared_ptr<hsm::Module>> get(const api::TokenConfig& token) {
    const std::string resolved = hsm::resolve_module_path(token.module.string());
    auto it = loaded_.find(resolved);
    if (it != loaded_.end()) return it->second;
    std::shared_ptr<hsm::Module> module;
    if (token.module_args_source.empty()) {
      MEDLEDGER_TRY_ASSIGN(module, hsm::Module::load(resolved));  // or the environment's
    } else {
      MEDLEDGER_TRY_ASSIGN(
          auto source,
          core::SecretSource::parse(token.module_args_source, "module arguments of " + resolved));
      MEDLEDGER_TRY_ASSIGN(auto args, core::read_secret(source));
      MEDLEDGER_TRY_ASSIGN(module, hsm::Module::load(resolved, args));
    }
    loaded_.emplace(resolved, module);
    return module;
  }

 private:
  std::map<std::string, std::shared_ptr<hsm::Module>> loaded_;
};

core::Result<std::shared_ptr<hsm::SessionPool>> open_pool(Modules& modules,
                                                          const api::TokenConfig& token) {
  MEDLEDGER_TRY_ASSIGN(auto module, modules.get(token));
  MEDLEDGER_TRY_ASSIGN(
      auto source,
      core::SecretSource::parse(token.pin_source, "user PIN of token '" + token.label + "'"));
  MEDLEDGER_TRY_ASSIGN(auto pin, core::read_secret(source));
  return hsm::SessionPool::open(module, hsm::TokenSelector::by_label(token.label), std::move(pin));
}

// The same error, its message prefixed with which configured node it concerns
// ("hospital[1]: PIN_INCORRECT ..." rather than a bare token error).
template <typename T>
T require_for(const std::string& key, core::Result<T> result) {
  if (!result) {
    core::Error error = result.error();
    error.message = key + ": " + error.message;
    return require(core::Result<T>(std::move(error)));
  }
  return std::move(*result);
}
void require_for(const std::string& key, core::Result<void> result) {
  if (!result)
    require(core::Result<void>(
        core::make_error(result.error().code, key + ": " + result.error().message)));
}

std::string key_of(const api::ServerConfig& config, std::size_t index) {
  return config.hospitals.empty() ? std::string("node") : "hospital[" + std::to_string(index) + "]";
}

// Reads every node.json and checks they make one consortium on one ledger.
core::Result<void> read_node_configs(const api::ServerConfig& config, ServedConsortium& out) {
  const auto hospitals = api::served_hospitals(config);
  std::map<std::string, std::string> seen;  // hospital id -> key
  for (std::size_t i = 0; i < hospitals.size(); ++i) {
    ServedHospital served;
    served.key = key_of(config, i);
    auto node_config = node::load_node_config(hospitals[i].data_dir);
    if (!node_config) {
      return config_error(served.key + ".data_dir", hospitals[i].data_dir.string() +
                                                        " is not a provisioned node (" +
                                                        node_config.error().to_string() + ")");
    }
    served.config = std::move(*node_config);
    auto [it, fresh] = seen.emplace(served.config.hospital_id, served.key);
    if (!fresh) {
      return config_error(served.key + ".data_dir",
                          "a second node of hospital '" + served.config.hospital_id +
                              "' (first: " + it->second + "); one node per hospital");
    }
    const auto ledger_dir =
        config.ledger.path.empty() ? served.config.ledger_dir : config.ledger.path;
    if (i == 0) {
      out.ledger_dir = ledger_dir;
    } else if (config.ledger.path.empty() &&
               std::filesystem::weakly_canonical(ledger_dir) !=
                   std::filesystem::weakly_canonical(out.ledger_dir)) {
      return config_error(served.key + ".data_dir",
                          "its ledger " + ledger_dir.string() + " is not " +
                              out.ledger_dir.string() +
                              " (one serve process shares one ledger; set [ledger] path)");
    }
    out.hospitals.push_back(std::move(served));
  }
  return core::success();
}

// Opens the tokens, the shared ledger (proposer: the first node's signing key)
// and every node; the binding hosts them all. Ends the process on failure.
// [ordering] kind = "etcd": this replica orders through the consortium's etcd.
cluster::EtcdOrdererOptions etcd_options(const api::ServerConfig& config,
                                         const ServedHospital& hospital,
                                         const std::filesystem::path& ledger_dir) {
  const auto& o = config.ordering;
  cluster::EtcdOrdererOptions out;
  out.etcd.endpoints = o.endpoints;
  out.etcd.ca_file = o.ca_file;
  out.etcd.client_certificate = o.client_certificate;
  out.etcd.client_key = o.client_key;
  out.etcd.dial_timeout = o.dial_timeout;
  out.etcd.request_timeout = o.request_timeout;
  out.prefix = o.prefix;
  out.node_name = o.node_name.empty() ? hospital.config.hospital_id : o.node_name;
  out.max_batch_count = config.batch.max_transactions;
  out.max_batch_bytes = std::min<std::size_t>(config.batch.max_bytes, cluster::kMaxEtcdBlockBytes);
  out.max_future_skew = o.max_future_skew;
  out.poll_interval = o.poll_interval;
  out.keep_blocks = o.keep_blocks;
  out.peers = o.peers;
  out.advertise_url = o.advertise_url;
  out.proposer_ttl = o.proposer_ttl;
  out.forward_timeout = o.forward_timeout;
  out.log = [](cluster::OrderingLogLevel level, std::string_view event,
               const std::string& message) {
    const api::LogLevel to = level == cluster::OrderingLogLevel::kCritical
                                 ? api::LogLevel::kCritical
                             : level == cluster::OrderingLogLevel::kWarn ? api::LogLevel::kWarn
                                                                         : api::LogLevel::kInfo;
    api::log_event(to, event, {{"message", message}});
  };
  out.evidence_dir = ledger_dir.parent_path() / "evidence";
  return out;
}

core::Result<std::unique_ptr<node::ConsortiumLedger>> open_ordered_ledger(
    const api::ServerConfig& config, const ServedHospital& first,
    const std::filesystem::path& ledger_dir, std::unique_ptr<core::Signer> proposer) {
  if (config.ordering.kind == "etcd") {
    const auto options = etcd_options(config, first, ledger_dir);
    api::log_event(api::LogLevel::kInfo, "ordering",
                   {{"kind", "etcd"}, {"prefix", options.prefix}, {"node", options.node_name}});
    return node::ConsortiumLedger::open_replica(
        ledger_dir, std::move(proposer),
        [options](ledger::Ledger& ledger, ledger::Contract& contract,
                  core::Signer& signer) -> core::Result<std::unique_ptr<ledger::Orderer>> {
          MEDLEDGER_TRY_ASSIGN(auto orderer,
                               cluster::EtcdOrderer::start(ledger, contract, signer, options));
          return std::unique_ptr<ledger::Orderer>(std::move(orderer));
        },
        [options](const std::filesystem::path& dir, ledger::Contract& contract) {
          return cluster::EtcdOrderer::join(dir, contract, options);
        });
  }
  // [batch]: how the in-process solo orderer cuts blocks (the orderer clamps to its ceilings).
  ledger::SoloOptions ordering;
  ordering.max_batch_count = config.batch.max_transactions;
  ordering.max_batch_bytes = config.batch.max_bytes;
  ordering.batch_delay = config.batch.max_delay;
  return node::ConsortiumLedger::open(ledger_dir, std::move(proposer), ordering);
}

ServedConsortium open_consortium(const api::ServerConfig& config) {
  ServedConsortium out;
  require(read_node_configs(config, out));
  const auto hospitals = api::served_hospitals(config);
  Modules modules;
  for (std::size_t i = 0; i < hospitals.size(); ++i) {
    out.hospitals[i].pool =
        require_for(out.hospitals[i].key, open_pool(modules, hospitals[i].token));
  }
  const auto& first = out.hospitals.front();
  auto proposer = require_for(first.key, node::HospitalNode::signing_key(first.config, first.pool));
  out.ledger = require_for("ledger " + out.ledger_dir.string(),
                           open_ordered_ledger(config, first, out.ledger_dir, std::move(proposer)));
  out.binding = std::make_shared<api::NodeBinding>();
  for (std::size_t i = 0; i < hospitals.size(); ++i) {
    auto& served = out.hospitals[i];
    // A refused read is a security event: one JSON line in serve's log (not the node's plain-text
    // default).
    node::NodeOptions options;
    options.on_refused_read = [hospital =
                                   served.config.hospital_id](const node::RefusedRead& refused) {
      api::log_event(api::LogLevel::kWarn, "read_refused",
                     {{"hospital", hospital},
                      {"doctor", refused.doctor},
                      {"record", refused.record},
                      {"error", core::error_code_name(refused.reason.code)},
                      {"message", refused.reason.message}});
    };
    served.node =
        require_for(served.key, node::HospitalNode::open(hospitals[i].data_dir, served.pool,
                                                         *out.ledger, std::move(options)));
    auto checkpoint_signer =
        require_for(served.key, node::HospitalNode::signing_key(served.config, served.pool));
    require_for(served.key, out.binding->host(served.node.get(), std::move(checkpoint_signer)));
    api::log_event(api::LogLevel::kInfo, "node_opened",
                   {{"hospital", served.config.hospital_id},
                    {"node", served.config.node_id},
                    {"token", served.pool->token().label}});
  }
  return out;
}

// The TLS key: a PEM file, or a key object in the first node's token (never leaves it).
core::Result<std::shared_ptr<const api::TlsKeySource>> tls_key(const api::ServerConfig& config,
                                                               ServedConsortium& served) {
  if (config.tls.private_key_in_token.empty())
    return std::shared_ptr<const api::TlsKeySource>(
        std::make_shared<api::PemFileTlsKey>(config.tls.private_key));
  std::shared_ptr<hsm::SessionPool> pool;
  if (!served.hospitals.empty()) {
    pool = served.hospitals.front().pool;
  } else {
    Modules modules;
    MEDLEDGER_TRY_ASSIGN(auto opened, open_pool(modules, config.token));
    served.token_key_pool = pool = opened;
  }
  const auto& ref = config.tls.private_key_in_token;
  hsm::KeyStore keys(pool);
  core::Result<hsm::KeyInfo> found = core::make_error(ErrorCode::kInternal, "unset");
  if (!ref.id_hex.empty()) {
    MEDLEDGER_TRY_ASSIGN(auto id, core::hex_decode(ref.id_hex));
    found = keys.find_by_id(id);
  } else {
    found = keys.find_by_label(ref.label);
  }
  if (!found)
    return config_error("tls.private_key", "no such key in token '" + pool->token().label + "' (" +
                                               found.error().to_string() + ")");
  if (!ref.label.empty() && found->label != ref.label) {
    return config_error("tls.private_key", "the key with that id is labelled '" + found->label +
                                               "', not '" + ref.label + "'");
  }
  MEDLEDGER_TRY_ASSIGN(auto signer, keys.signer(found->id));
  return std::shared_ptr<const api::TlsKeySource>(
      std::make_shared<api::SignerTlsKey>(std::shared_ptr<core::Signer>(std::move(signer))));
}

void run_serve(const std::string& config_path) {
  // A client that disconnects must cost an error code, not the process (SIGPIPE).
  signal(SIGPIPE, SIG_IGN);
  api::ServerConfig config = require(api::load_server_config(config_path));
  require(api::configure_logging(config.log));
  auto file_trust = require(load_file_trust(config.tls));

  ServedConsortium served;  // outlives the server (declared before it)
  if (!api::served_hospitals(config).empty()) served = open_consortium(config);
  auto key = require(tls_key(config, served));
  api::log_event(api::LogLevel::kInfo, "tls_key", {{"source", key->describe()}});
  api::TlsContext tls = require(api::make_tls_context(config.tls.certificate, key));

  auto metrics = std::make_shared<api::MetricsRegistry>();
  api::describe_standard_metrics(*metrics);
  api::HealthProbes probes;
  auto files = std::make_shared<FileTrust>(file_trust);
  std::shared_ptr<api::LedgerTrust> ledger_trust;
  api::TrustProvider trust = [files] { return files->get(); };
  if (served.ledger) {
    std::vector<std::shared_ptr<hsm::SessionPool>> pools;
    for (const auto& hospital : served.hospitals) pools.push_back(hospital.pool);
    probes.token = api::token_probe(std::move(pools));
    probes.ledger = api::ledger_probe(
        served.ledger->ledger(), served.ledger_dir, config.ledger.min_free_mb << 20,
        [ledger = served.ledger.get()] { return ledger->commit_in_progress_for(); },
        api::kWriterStallLimit,
        [ledger = served.ledger.get()] { return ledger->ordering_health(); });
    ledger_trust = std::make_shared<api::LedgerTrust>(served.ledger->ledger(), file_trust);
    trust = [ledger_trust] { return ledger_trust->current(); };
  } else if (served.token_key_pool) {
    probes.token = api::token_probe({served.token_key_pool});
  }
  auto router = std::make_shared<api::Router>();
  require(api::add_appliance_routes(*router, {std::move(probes), metrics}, served.binding));

  api::ServerParts parts;
  parts.tls = std::move(tls);
  parts.router = router;
  parts.authenticator = std::make_shared<api::ChainValidatingAuthenticator>(std::move(trust));
  parts.metrics = metrics;
  parts.handle_signals = true;
  parts.on_reload = reload_file_trust(config.tls, files, ledger_trust);
  // SIGHUP also reads tls.certificate (and a PEM tls.private_key) again: a renewed
  // certificate goes into service without a restart; a token key stays the same object.
  parts.reload_tls = [certificate = config.tls.certificate, key] {
    return api::make_tls_context(certificate, key);
  };
  // Writes answer from the orderer's thread: it must be done before the server's
  // threads go (what is queued still commits, and its clients get their answers).
  parts.on_drain = [&served] {
    if (served.ledger) served.ledger->stop();
  };
  auto server = require(api::Server::start(config, std::move(parts)));
  server->wait();
}

}  // namespace

void register_api_commands(CLI::App& app) {
  auto config_path = std::make_shared<std::string>();
  CLI::App* serve =
      app.add_subcommand("serve", "run the HTTPS appliance until SIGTERM/SIGINT (graceful stop)");
  serve->add_option("--config", *config_path, "TOML configuration file (docs/api.md)")->required();
  serve->callback([config_path] { run_serve(*config_path); });
}

}  // namespace medledger::app

// `medledger ledger init|append|verify|show|export`: the ledger on disk.
//
// The block proposer signs with a key in the token (--token/--pin/--module and
// --proposer-key LABEL: the node key; docs/architecture.md). --software-proposer
// instead keeps a software key in <path>/proposer-key.pem (mode 0600): for quick
// local trials only, never for production. Either way the proposer's public key
// (SPKI) is in the genesis configuration, so verify needs no token. The contract
// is named in genesis (`--contract` at init): the medical-records contract by
// default, the key/value contract (ledger/kv_contract.h) for storage trials.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <CLI/CLI.hpp>

#include "cli_support.h"
#include "commands.h"
#include "token_options.h"
#include "medledger/core/software_signer.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/kv_contract.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/ordering.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/verify.h"

namespace medledger::app {
namespace {

namespace json = boost::json;
using core::ErrorCode;

constexpr const char* kProposerKeyFile = "proposer-key.pem";
// A block range exported in one call (the export is one JSON document in memory).
constexpr std::uint64_t kMaxExportBlocks = 100000;
// Progress lines at most this often on long verify runs.
constexpr std::chrono::milliseconds kProgressInterval{500};

struct LedgerCliOptions {
  std::string path;
  std::string consortium = "medledger-consortium";
  std::string hospital = "hospital";
  std::vector<std::string> ca_certs;
  std::int64_t admit_quorum = 1;
  std::string tx_file;
  bool progress = false;
  std::int64_t block = -1;
  std::string tx_id;
  std::uint64_t from = 0;
  std::int64_t to = -1;
  TokenOptions token;                // --module, --token, --pin: where the proposer key lives
  std::string proposer_key;          // --proposer-key: CKA_LABEL of the proposer key in the token
  bool software_proposer = false;    // --software-proposer: <path>/proposer-key.pem (trials only)
  std::string contract = "records";  // --contract at init: records or kv
};

// The contract named in genesis decides the rules; every command on the ledger
// after init uses that one, so append and verify can never disagree.
std::unique_ptr<ledger::Contract> make_contract(const std::string& genesis_name) {
  if (genesis_name == ledger::kRecordsContractName)
    return std::make_unique<ledger::RecordsContract>();
  if (genesis_name == ledger::kKeyValueContractName)
    return std::make_unique<ledger::KeyValueContract>();
  fail(core::make_error(ErrorCode::kConfigInvalid,
                        "genesis names an unknown contract '" + genesis_name + "'"));
}

std::string contract_name_for_option(const std::string& option) {
  if (option == "records") return ledger::kRecordsContractName;
  if (option == "kv") return ledger::kKeyValueContractName;
  fail(core::make_error(ErrorCode::kInvalidArgument, "--contract is records or kv"));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(core::make_error(ErrorCode::kIoError, "cannot read " + path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::filesystem::path ledger_dir(const LedgerCliOptions& o) {
  return std::filesystem::path(o.path) / "lmdb";
}

// Exactly one proposer source: the token key, or the software key by explicit choice.
void check_proposer_choice(const LedgerCliOptions& o) {
  const bool token = !o.token.token.empty() || !o.proposer_key.empty();
  if (o.software_proposer && token) {
    fail(core::make_error(ErrorCode::kInvalidArgument,
                          "--software-proposer excludes --token/--proposer-key"));
  }
  if (!o.software_proposer && (o.token.token.empty() || o.proposer_key.empty())) {
    fail(
        core::make_error(ErrorCode::kInvalidArgument,
                         "the block proposer is a token key: give --token and --proposer-key LABEL "
                         "(or --software-proposer for a local trial, not for production)"));
  }
}

// The token key labelled --proposer-key; the signer keeps the token session pool alive.
std::unique_ptr<core::Signer> token_proposer(const LedgerCliOptions& o) {
  hsm::KeyStore keys(open_token(o.token));
  auto key = require(keys.find_by_label(o.proposer_key));
  return require(keys.signer(key.id));
}

std::unique_ptr<core::Signer> load_software_proposer(const LedgerCliOptions& o) {
  std::string pem = read_file((std::filesystem::path(o.path) / kProposerKeyFile).string());
  auto signer = require(core::SoftwareSigner::from_pem(pem));
  std::fill(pem.begin(), pem.end(), '\0');
  return signer;
}

void write_software_proposer(const LedgerCliOptions& o, const core::SoftwareSigner& signer) {
  auto key_path = std::filesystem::path(o.path) / kProposerKeyFile;
  core::SecretBytes pem = signer.private_key_pem();
  std::ofstream out(key_path, std::ios::binary | std::ios::trunc);
  ::chmod(key_path.c_str(), 0600);
  out.write(reinterpret_cast<const char*>(pem.data()), static_cast<std::streamsize>(pem.size()));
  if (!out) fail(core::make_error(ErrorCode::kIoError, "cannot write " + key_path.string()));
}

// The proposer of an existing ledger; refuses a key the genesis does not list
// (its blocks would never verify).
std::unique_ptr<core::Signer> load_proposer(const LedgerCliOptions& o,
                                            const ledger::Ledger& ledger) {
  check_proposer_choice(o);
  auto signer = o.software_proposer ? load_software_proposer(o) : token_proposer(o);
  const auto& keys = ledger.proposer_keys();
  if (std::find(keys.begin(), keys.end(), signer->public_key_spki()) == keys.end()) {
    fail(core::make_error(ErrorCode::kInvalidArgument,
                          "the proposer key is not listed in this ledger's genesis configuration"));
  }
  return signer;
}

json::object proposer_json(const LedgerCliOptions& o, const core::Signer& signer) {
  json::object out{{"source", o.software_proposer ? "software (not for production)" : "token"},
                   {"spki", core::base64url_encode(signer.public_key_spki())}};
  if (!o.software_proposer) out["label"] = o.proposer_key;
  return out;
}

std::unique_ptr<ledger::Ledger> open_ledger(const LedgerCliOptions& o) {
  return require(ledger::Ledger::open(ledger_dir(o)));
}

json::object header_json(const ledger::Block& block) {
  json::object out = json::parse(block.header_json).as_object();
  out["hash"] = core::hex_encode(block.hash);
  return out;
}

json::object tx_json(const ledger::StoredTransaction& tx) {
  return json::object{{"sequence", static_cast<std::int64_t>(tx.sequence)},
                      {"tx_id", core::hex_encode(tx.tx_id)},
                      {"result", ledger::result_name(tx.result)},
                      {"transaction", json::parse(tx.wire)}};
}

void print(const json::value& value) { std::cout << json::serialize(value) << "\n"; }

void run_init(const LedgerCliOptions& o) {
  check_proposer_choice(o);
  std::unique_ptr<core::SoftwareSigner> software;
  std::unique_ptr<core::Signer> token;
  if (o.software_proposer)
    software = require(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256));
  else
    token = token_proposer(o);
  core::Signer& signer = software ? static_cast<core::Signer&>(*software) : *token;
  std::filesystem::create_directories(o.path);
  ledger::GenesisConfig config;
  config.consortium = o.consortium;
  ledger::FoundingHospital hospital{o.hospital, {}};
  for (const std::string& file : o.ca_certs) hospital.ca_certs_pem.push_back(read_file(file));
  config.hospitals.push_back(std::move(hospital));
  config.admit_quorum = o.admit_quorum;
  config.proposers = {&signer};  // its SPKI goes into genesis: verify needs no token
  config.contract = contract_name_for_option(o.contract);
  auto contract = make_contract(config.contract);
  auto created =
      require(ledger::Ledger::create(ledger_dir(o), ledger::make_genesis_document(config),
                                     *contract, signer, ledger::unix_time_ms()));
  // The software key is written only once the ledger exists, owner-only.
  if (software) write_software_proposer(o, *software);
  auto genesis = require(created->block(0));
  print(json::object{{"path", o.path},
                     {"origin", created->origin()},
                     {"proposer", proposer_json(o, signer)},
                     {"genesis", header_json(genesis)}});
}

void run_append(const LedgerCliOptions& o) {
  auto ledger = open_ledger(o);
  auto signer = load_proposer(o, *ledger);
  auto contract = make_contract(require(ledger::genesis_contract_name(ledger->genesis_document())));
  std::string wire = read_file(o.tx_file);
  while (!wire.empty() && wire.back() == '\n') wire.pop_back();  // files usually end with a newline
  auto orderer = ledger::SoloOrderer::start(*ledger, *contract, *signer);
  auto receipt = require(orderer->submit(std::move(wire)).get());
  orderer->stop();
  std::cout << ledger::encode_receipt(receipt) << "\n";
}

void run_verify(const LedgerCliOptions& o) {
  auto ledger = open_ledger(o);
  auto contract = make_contract(require(ledger::genesis_contract_name(ledger->genesis_document())));
  ledger::VerifyOptions options;
  if (o.progress || ::isatty(STDERR_FILENO) == 1) {
    auto last = std::chrono::steady_clock::now();
    options.progress = [last](std::uint64_t height, std::uint64_t tip) mutable {
      auto now = std::chrono::steady_clock::now();
      if (now - last < kProgressInterval && height != tip) return;
      last = now;
      std::cerr << "verify: block " << height << " of " << tip << "\n";
    };
  }
  auto report = require(ledger::verify_ledger(*ledger, *contract, options));
  print(json::object{{"status", "ok"},
                     {"blocks", static_cast<std::int64_t>(report.blocks)},
                     {"transactions", static_cast<std::int64_t>(report.transactions)},
                     {"rejected", static_cast<std::int64_t>(report.rejected)},
                     {"state_entries", static_cast<std::int64_t>(report.state_entries)},
                     {"tip_hash", core::hex_encode(report.tip_hash)},
                     {"root", core::hex_encode(report.root)}});
}

void run_show(const LedgerCliOptions& o) {
  auto ledger = open_ledger(o);
  if (!o.tx_id.empty()) {
    auto id_bytes = core::hex_decode(o.tx_id);
    if (!id_bytes) id_bytes = core::base64url_decode(o.tx_id);
    if (!id_bytes || id_bytes->size() != core::kSha256Size) {
      fail(core::make_error(ErrorCode::kInvalidArgument, "--tx takes a tx_id in hex or base64url"));
    }
    core::Digest id{};
    std::copy(id_bytes->begin(), id_bytes->end(), id.begin());
    auto sequence = require(ledger->find(id));
    if (!sequence)
      fail(core::make_error(ErrorCode::kLedgerNotFound, "no transaction " + core::hex_encode(id)));
    json::object out = tx_json(require(ledger->transaction(*sequence)));
    out["block"] = static_cast<std::int64_t>(require(ledger->block_of(*sequence)));
    print(out);
    return;
  }
  if (o.block >= 0) {
    auto block = require(ledger->block(static_cast<std::uint64_t>(o.block)));
    json::array txs;
    for (std::uint64_t s = block.header.log_size - block.header.tx_count; s < block.header.log_size;
         ++s) {
      auto tx = require(ledger->transaction(s));
      txs.emplace_back(json::object{{"sequence", static_cast<std::int64_t>(s)},
                                    {"tx_id", core::hex_encode(tx.tx_id)},
                                    {"result", ledger::result_name(tx.result)}});
    }
    print(json::object{{"header", header_json(block)}, {"transactions", std::move(txs)}});
    return;
  }
  auto tip = require(ledger->tip());
  print(json::object{{"origin", ledger->origin()},
                     {"height", static_cast<std::int64_t>(tip.block.header.height)},
                     {"log_size", static_cast<std::int64_t>(tip.block.header.log_size)},
                     {"tip", header_json(tip.block)},
                     {"genesis", ledger->genesis_document()}});
}

void run_export(const LedgerCliOptions& o) {
  auto ledger = open_ledger(o);
  auto tip = require(ledger->tip());
  std::uint64_t to = o.to < 0 ? tip.block.header.height : static_cast<std::uint64_t>(o.to);
  if (o.from > to || to > tip.block.header.height || to - o.from >= kMaxExportBlocks) {
    fail(core::make_error(ErrorCode::kInvalidArgument,
                          "--from/--to must name at most 100000 existing blocks, from <= to"));
  }
  json::array blocks;
  for (std::uint64_t h = o.from; h <= to; ++h) {
    auto block = require(ledger->block(h));
    json::array txs;
    for (std::uint64_t s = block.header.log_size - block.header.tx_count; s < block.header.log_size;
         ++s) {
      txs.emplace_back(tx_json(require(ledger->transaction(s))));
    }
    blocks.emplace_back(
        json::object{{"header", header_json(block)}, {"transactions", std::move(txs)}});
  }
  print(json::object{{"origin", ledger->origin()}, {"blocks", std::move(blocks)}});
}

// --module/--token/--pin + --proposer-key (the default, real path) or --software-proposer.
void add_proposer_options(CLI::App* command, LedgerCliOptions& o) {
  add_module_option(command, o.token);
  auto* token = command->add_option("--token", o.token.token,
                                    "token holding the proposer key: label, serial or pkcs11: URI");
  add_pin_option(command, o.token);
  auto* key = command->add_option("--proposer-key", o.proposer_key,
                                  "CKA_LABEL of the proposer (node) key in the token");
  command
      ->add_flag("--software-proposer", o.software_proposer,
                 "sign blocks with <path>/proposer-key.pem instead of a token key: local trials "
                 "only, NOT for production")
      ->excludes(token)
      ->excludes(key);
}

}  // namespace

void register_ledger_commands(CLI::App& app) {
  auto o = std::make_shared<LedgerCliOptions>();
  CLI::App* ledger = app.add_subcommand(
      "ledger", "the tamper-evident ledger (LMDB): init, append, verify, show, export");
  ledger->require_subcommand(1);

  CLI::App* init = ledger->add_subcommand("init", "create a ledger with its genesis block");
  init->add_option("--path", o->path, "ledger directory")->required();
  init->add_option("--consortium", o->consortium, "consortium name in the genesis configuration");
  init->add_option("--hospital", o->hospital, "founding hospital id");
  init->add_option("--ca-cert", o->ca_certs,
                   "founding hospital CA certificate (PEM file); repeatable");
  init->add_option("--admit-quorum", o->admit_quorum, "member CAs needed to admit a hospital");
  init->add_option("--contract", o->contract,
                   "rules the ledger runs, fixed in genesis: records (medical records, default) or "
                   "kv (storage trials)");
  add_proposer_options(init, *o);
  init->callback([o] { run_init(*o); });

  CLI::App* append = ledger->add_subcommand(
      "append", "append one wire transaction through the solo orderer; prints its receipt");
  append->add_option("--path", o->path, "ledger directory")->required();
  append->add_option("--tx", o->tx_file, "file holding the canonical wire transaction")->required();
  add_proposer_options(append, *o);
  append->callback([o] { run_append(*o); });

  CLI::App* verify = ledger->add_subcommand(
      "verify", "recompute every hash, root, link, signature and state transition");
  verify->add_option("--path", o->path, "ledger directory")->required();
  verify->add_flag("--progress", o->progress,
                   "print progress on stderr even when it is not a terminal");
  verify->callback([o] { run_verify(*o); });

  CLI::App* show =
      ledger->add_subcommand("show", "the tip, a block (--block) or a transaction (--tx) as JSON");
  show->add_option("--path", o->path, "ledger directory")->required();
  auto* block_opt = show->add_option("--block", o->block, "block height");
  show->add_option("--tx", o->tx_id, "tx_id (hex or base64url)")->excludes(block_opt);
  show->callback([o] { run_show(*o); });

  CLI::App* exp =
      ledger->add_subcommand("export", "blocks with their transactions as one JSON document");
  exp->add_option("--path", o->path, "ledger directory")->required();
  exp->add_option("--from", o->from, "first block (default 0)");
  exp->add_option("--to", o->to, "last block (default the tip)");
  exp->callback([o] { run_export(*o); });
}

}  // namespace medledger::app

// `medledger node|enrol|record|access|audit|hospital ...`: the hospital node's
// operations (node::HospitalNode) from the command line. docs/node.md is the manual.
//
// Every command opens the node's data directory (--data, default
// $MEDLEDGER_DATA_DIR/node), its token (--token/--pin), and the consortium ledger
// named in node.json with the node's signing key as proposer: one process at a
// time per ledger directory (LMDB allows one writer; the solo orderer is in-process).
// Person PINs come only from file:/env:/prompt sources (--person-pin,
// --doctor-pin, --patient-pin), never from argv.
#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <CLI/CLI.hpp>

#include "cli_support.h"
#include "commands.h"
#include "medledger/ca/store.h"
#include "medledger/core/canonical_json.h"
#include "medledger/core/error.h"
#include "medledger/core/secret_source.h"
#include "medledger/core/sha256.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/public_key.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/ledger/ordering.h"
#include "medledger/ledger/transaction.h"
#include "medledger/ledger/verify.h"
#include "medledger/node/hospital_node.h"
#include "open_node.h"
#include "token_options.h"

namespace medledger::app {
namespace {

using core::ErrorCode;
namespace fs = std::filesystem;
namespace json = boost::json;

/// Most rows a bulk-enrolment CSV may hold (one key, certificate and commit each).
constexpr std::size_t kMaxCsvRows = 100000;
/// Length of a generated initial PIN (base32-like alphabet, ~50 bits).
constexpr std::size_t kGeneratedPinLength = 10;
/// Largest payload / transaction file read.
constexpr std::size_t kMaxInputFile = 2 * 1024 * 1024;

struct NodeCliOptions {
  TokenOptions token;
  std::string data;
  // init
  std::string hospital, node_id = "node", ca_dir, ledger_dir, person_keys = "token",
                        kek_label = "medledger-kek";
  bool genesis = false;
  std::string consortium = "medledger-consortium";
  std::int64_t admit_quorum = 1;
  std::vector<std::string> proposers;
  // persons and records
  std::string id, role, csv, pins_out, public_key, person_pin, doctor_pin, patient_pin;
  std::string record, doctor, patient, content_type = "application/fhir+json", file, out, tx_file,
                                       as, purpose;
  std::uint64_t version = 0;
  std::string grantee;
  std::vector<std::string> scope;
  std::int64_t expires_in = 0;
  std::int64_t from_ms = -1, to_ms = -1;
  std::string request;
};

fs::path data_dir(const NodeCliOptions& o) { return node_data_dir(o.data); }

core::SecretBytes person_pin(const std::string& spec, const std::string& what) {
  if (spec.empty())
    fail(core::make_error(ErrorCode::kSecretUnavailable,
                          "give " + what + " as file:PATH, env:NAME or prompt"));
  return require(core::read_secret(require(core::SecretSource::parse(spec, what))));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(core::make_error(ErrorCode::kIoError, "cannot read " + path));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxInputFile)
    fail(core::make_error(ErrorCode::kInvalidArgument, path + " is too large"));
  return text.str();
}

void write_file(const std::string& path, const std::string& content) {
  require(ca::write_file_atomically(path, core::to_bytes(content)));
}

// A person's PIN (as person_pin reads it) as the credential a signature needs.
node::PersonCredential person_credential(const std::string& spec, const std::string& what) {
  return node::PersonCredential::pin(person_pin(spec, what));
}

// What a person reads of a receipt: tx_id, block height, log sequence, result
// name. The full receipt (proof, checkpoint: ledger::receipt_json) is the API's.
json::object receipt_summary(const ledger::Receipt& r) {
  return json::object{{"tx_id", core::base64url_encode(r.tx_id)},
                      {"height", static_cast<std::int64_t>(r.height)},
                      {"sequence", static_cast<std::int64_t>(r.sequence)},
                      {"result", ledger::result_name(r.result)}};
}

void print(const json::object& o) { std::cout << json::serialize(o) << "\n"; }

OpenNode open_node(const NodeCliOptions& o) { return open_hospital_node(o.token, data_dir(o)); }

void init_node(const NodeCliOptions& o) {
  auto pool = open_token(o.token);
  node::NodeSetup setup;
  setup.hospital_id = o.hospital;
  setup.node_id = o.node_id;
  setup.ca_dir = o.ca_dir;
  setup.ledger_dir =
      fs::path(o.ledger_dir) / "lmdb";  // the `ledger` commands' layout: --path DIR holds DIR/lmdb
  setup.person_keys = require(node::parse_person_key_storage(o.person_keys));
  if (setup.person_keys == node::PersonKeyStorage::kWrapped) {
    // hsm::create_kek names its KEK CKA_ID = SHA-256(label)[0..20).
    auto id = core::sha256(core::to_bytes(o.kek_label));
    setup.kek_id_hex = core::hex_encode(core::ByteView(id.data(), hsm::kKeyIdSize));
  }
  const fs::path dir = data_dir(o);
  auto config = require(node::HospitalNode::provision(dir, pool, setup));
  auto signer = require(node::HospitalNode::signing_key(config, pool));
  write_file((dir / "node-signing.pub.pem").string(), hsm::spki_to_pem(signer->public_key_spki()));
  std::cout << "node " << config.hospital_id << "/" << config.node_id << " provisioned in "
            << dir.string()
            << " (signing and encryption keys in the token; certificates from the hospital CA)\n";
  std::unique_ptr<node::ConsortiumLedger> ledger;
  if (o.genesis) {
    std::vector<std::unique_ptr<node::ProposerPublicKey>> extra;
    std::vector<const core::Signer*> extra_refs;
    for (const auto& path : o.proposers) {
      extra.push_back(std::make_unique<node::ProposerPublicKey>(
          require(ca::parse_public_key(core::to_bytes(read_file(path)))),
          core::KeyAlgorithm::kEcdsaP256));
      extra_refs.push_back(extra.back().get());
    }
    auto chain = require(ca::CaDirectory::open(config.ca_dir)).chain();
    auto genesis = node::founding_genesis(o.consortium, config.hospital_id, chain, *signer,
                                          extra_refs, o.admit_quorum);
    ledger = require(node::ConsortiumLedger::create(config.ledger_dir, genesis, std::move(signer)));
    std::cout << "consortium ledger created in " << config.ledger_dir.string() << " (founder "
              << config.hospital_id << ", " << 1 + extra.size() << " proposer key(s), admit quorum "
              << o.admit_quorum << ")\n";
  } else {
    auto opened = node::ConsortiumLedger::open(config.ledger_dir, std::move(signer));
    if (!opened) {
      std::cout << "ledger not usable yet (" << opened.error().to_string()
                << "); run medledger node register later\n";
      return;
    }
    ledger = std::move(*opened);
  }
  auto hospital_node = require(node::HospitalNode::open(dir, pool, *ledger));
  auto registered = hospital_node->ca().register_node_certificates();
  if (!registered && registered.error().code == ErrorCode::kHospitalNotAdmitted) {
    std::cout << config.hospital_id
              << " is not admitted yet: hospital admit-request, then node register\n";
    return;
  }
  require(std::move(registered));
  std::cout << "node certificates registered on the ledger\n";
}

void register_node(const NodeCliOptions& o) {
  auto n = open_node(o);
  require(n.node->ca().register_node_certificates());
  std::cout << "node certificates of " << n.node->node_principal() << " are on the ledger\n";
}

void enrol_one(const NodeCliOptions& o, ca::Role role) {
  auto n = open_node(o);
  node::EnrolRequest request{role, o.id, person_pin(o.person_pin, "PIN for " + o.id), {}};
  if (!o.public_key.empty())
    request.external_public_key =
        require(ca::parse_public_key(core::to_bytes(read_file(o.public_key))));
  auto e = require(n.node->persons().enrol(request));
  print(json::object{{"principal", e.principal},
                     {"role", std::string(ca::role_name(role))},
                     {"certificate", core::base64url_encode(e.fingerprint)},
                     {"serial", e.certificate.serial_hex()},
                     // The node's setting (node.json), not the --person-keys default of init.
                     {"key", !o.public_key.empty() ? std::string("external")
                                                   : std::string(node::person_key_storage_name(
                                                         n.node->config().person_keys))},
                     {ledger::kTxCertRegister, receipt_summary(e.receipt)}});
}

std::string generated_pin() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";  // 32 symbols, no look-alikes
  unsigned char random[kGeneratedPinLength];
  if (RAND_bytes(random, sizeof random) != 1)
    fail(core::make_error(ErrorCode::kCryptoError, "RAND_bytes failed"));
  std::string pin;
  for (unsigned char r : random) pin.push_back(kAlphabet[r % 32]);
  return pin;
}

// Bulk enrolment: CSV rows "id,role"; each person gets a random initial PIN,
// written with the principal to --pins-out (created 0600, must not exist).
void enrol_csv(const NodeCliOptions& o) {
  if (o.pins_out.empty())
    fail(core::make_error(ErrorCode::kInvalidArgument,
                          "--csv needs --pins-out FILE (created 0600)"));
  std::vector<std::pair<std::string, ca::Role>> rows;
  std::istringstream lines(read_file(o.csv));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("id,", 0) == 0 || line[0] == '#') continue;
    auto comma = line.find(',');
    if (comma == std::string::npos)
      fail(core::make_error(ErrorCode::kInvalidArgument, "CSV row without a role: " + line));
    rows.emplace_back(line.substr(0, comma), require(ca::parse_role(line.substr(comma + 1))));
    if (rows.size() > kMaxCsvRows)
      fail(core::make_error(ErrorCode::kInvalidArgument, "more than 100000 CSV rows"));
  }
  int fd = ::open(o.pins_out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    fail(core::make_error(ErrorCode::kIoError,
                          "cannot create " + o.pins_out + " (it must not exist)"));
  auto n = open_node(o);
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::size_t done = 0;
  for (const auto& [id, role] : rows) {
    std::string pin = generated_pin();
    auto enrolled = n.node->persons().enrol({role, id, core::SecretBytes(core::to_bytes(pin)), {}});
    if (!enrolled) {
      ::close(fd);
      std::cerr << "\n";
      fail(core::make_error(enrolled.error().code, "row " + std::to_string(done + 1) + " (" + id +
                                                       "): " + enrolled.error().message));
    }
    std::string line =
        enrolled->principal + "," + std::string(ca::role_name(role)) + "," + pin + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      ::close(fd);
      fail(core::make_error(ErrorCode::kIoError, "cannot write " + o.pins_out));
    }
    ++done;
    constexpr std::size_t kBarWidth = 30;
    std::size_t filled = done * kBarWidth / rows.size();
    std::cerr << (tty ? "\r" : "") << "enrolling [" << std::string(filled, '#')
              << std::string(kBarWidth - filled, '.') << "] " << done << "/" << rows.size()
              << (tty ? "" : "\n") << std::flush;
  }
  ::fsync(fd);
  ::close(fd);
  std::cerr << "\n";
  std::cout << "enrolled " << done << " persons; initial PINs in " << o.pins_out
            << " (mode 0600)\n";
}

node::RecordPutRequest put_request(const NodeCliOptions& o) {
  return {o.record, o.doctor, o.patient, o.content_type, core::to_bytes(read_file(o.file))};
}

void record_put(const NodeCliOptions& o) {
  auto n = open_node(o);
  auto doctor = person_credential(o.doctor_pin, "PIN of " + o.doctor);
  auto patient = person_credential(o.patient_pin, "PIN of " + o.patient);
  auto receipt = require(n.node->records().put(put_request(o), doctor, patient));
  print(json::object{{"record", o.record}, {ledger::kTxRecordPut, receipt_summary(receipt)}});
}

void record_prepare(const NodeCliOptions& o) {
  auto n = open_node(o);
  auto prepared = require(n.node->records().prepare_put(put_request(o)));
  write_file(o.out, ledger::encode_transaction(prepared.tx));
  print(json::object{{"tx_file", o.out},
                     {"tx_id", core::base64url_encode(prepared.tx_id)},
                     {"sign", "SHA-256 of the signing bytes = tx_id (docs/transactions.md)"}});
}

ledger::Transaction read_tx(const std::string& path) {
  return require(ledger::decode_transaction(read_file(path)));
}

void record_sign(const NodeCliOptions& o) {
  auto n = open_node(o);
  auto tx = read_tx(o.tx_file);
  require(n.node->signing().sign(tx, o.as, person_credential(o.person_pin, "PIN of " + o.as)));
  write_file(o.tx_file, ledger::encode_transaction(tx));
  std::cout << o.as << " signed " << core::base64url_encode(ledger::tx_id(tx)) << " ("
            << tx.signatures.size() << " signature(s))\n";
}

void record_submit(const NodeCliOptions& o) {
  auto n = open_node(o);
  auto receipt = require(n.node->signing().endorse_and_submit(read_tx(o.tx_file)));
  print(json::object{{"submitted", receipt_summary(receipt)}});
}

void record_get(const NodeCliOptions& o) {
  auto n = open_node(o);
  node::ReadRequest request{o.record,
                            o.version > 0 ? std::optional<std::uint64_t>(o.version) : std::nullopt,
                            o.doctor, o.purpose};
  auto read = require(
      n.node->records().read(request, person_credential(o.doctor_pin, "PIN of " + o.doctor)));
  if (!o.out.empty())
    write_file(o.out, core::to_string(read.plaintext));
  else
    std::cout << core::to_string(read.plaintext) << "\n";
  std::cerr << "read version " << read.version << " (" << read.content_type << ", basis "
            << read.basis << "); audit entry record.read "
            << core::base64url_encode(read.receipt.tx_id) << " at sequence "
            << read.receipt.sequence << "\n";
}

void record_list(const NodeCliOptions& o) {
  auto n = open_node(o);
  json::array out;
  for (const auto& r : require(n.node->records().list(o.patient))) {
    out.push_back(json::object{{"record", r.id},
                               {"latest", static_cast<std::int64_t>(r.latest)},
                               {"hospital", r.hospital}});
  }
  print(json::object{{"patient", o.patient}, {"records", std::move(out)}});
}

void record_history(const NodeCliOptions& o) {
  auto n = open_node(o);
  json::array out;
  for (const auto& v : require(n.node->records().history(o.record))) {
    json::object entry{{"version", static_cast<std::int64_t>(v.version)},
                       {"tx", core::base64url_encode(v.tx)},
                       {"time", v.time_ms},
                       {"doctor", v.doctor},
                       {"patient", v.patient},
                       {"content_type", v.content_type}};
    if (v.previous) entry["previous"] = core::base64url_encode(*v.previous);
    out.push_back(std::move(entry));
  }
  print(json::object{{"record", o.record}, {"versions", std::move(out)}});
}

void access_grant(const NodeCliOptions& o) {
  auto n = open_node(o);
  node::GrantRequest request{
      o.patient, o.grantee, o.scope,
      o.expires_in > 0 ? std::optional<std::int64_t>(ledger::unix_time_ms() + o.expires_in * 1000)
                       : std::nullopt};
  auto receipt = require(
      n.node->sharing().grant(request, person_credential(o.patient_pin, "PIN of " + o.patient)));
  print(json::object{{ledger::kTxAccessGrant, receipt_summary(receipt)}, {"grantee", o.grantee}});
}

void access_revoke(const NodeCliOptions& o) {
  auto n = open_node(o);
  auto receipt = require(n.node->sharing().revoke(
      o.patient, o.grantee, person_credential(o.patient_pin, "PIN of " + o.patient)));
  print(json::object{{ledger::kTxAccessRevoke, receipt_summary(receipt)}, {"grantee", o.grantee}});
}

void audit_export(const NodeCliOptions& o) {
  auto n = open_node(o);
  node::AuditQuery query;
  if (!o.patient.empty()) query.patient = o.patient;
  if (o.from_ms >= 0) query.from_ms = o.from_ms;
  if (o.to_ms >= 0) query.to_ms = o.to_ms;
  auto bundle = require(n.node->audit().export_bundle(query));
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) fail(core::make_error(ErrorCode::kIoError, "cannot create " + o.out));
  write_file((fs::path(o.out) / "audit.json").string(), core::canonicalize(bundle.bundle) + "\n");
  for (const auto& [name, pem] : bundle.pem_files)
    write_file((fs::path(o.out) / name).string(), pem);
  std::cout << "audit bundle in " << o.out << ": " << bundle.bundle.at("records").as_array().size()
            << " record(s), " << bundle.bundle.at("reads").as_array().size() << " read(s), "
            << bundle.pem_files.size() << " certificate chain(s)\n";
}

void admit_request(const NodeCliOptions& o) {
  auto n = open_node(o);
  auto prepared = require(n.node->ca().admission_request());
  write_file(o.out, ledger::encode_transaction(prepared.tx));
  std::cout << "hospital.admit for " << n.node->config().hospital_id
            << " signed by its CA, written to " << o.out
            << "; a member runs medledger hospital admit --request " << o.out
            << " within 5 minutes\n";
}

void admit(const NodeCliOptions& o) {
  auto n = open_node(o);
  auto receipt = require(n.node->ca().countersign_admission(read_tx(o.request)));
  print(json::object{{ledger::kTxHospitalAdmit, receipt_summary(receipt)}});
}

void verify(const NodeCliOptions& o) {
  auto opened = require(ledger::Ledger::open(fs::path(o.ledger_dir) / "lmdb"));
  ledger::RecordsContract contract;  // a fresh instance replays the whole log
  auto report = require(ledger::verify_ledger(*opened, contract));
  print(json::object{{"status", "ok"},
                     {"blocks", static_cast<std::int64_t>(report.blocks)},
                     {"transactions", static_cast<std::int64_t>(report.transactions)},
                     {"rejected", static_cast<std::int64_t>(report.rejected)},
                     {"state_entries", static_cast<std::int64_t>(report.state_entries)}});
}

CLI::App* command(CLI::App* parent, const std::string& name, const std::string& help,
                  NodeCliOptions& o) {
  auto* cmd = parent->add_subcommand(name, help);
  cmd->add_option("--data", o.data,
                  "node data directory (default: $MEDLEDGER_DATA_DIR/node, else .medledger/node)");
  add_token_options(cmd, o.token);
  return cmd;
}

void add_put_options(CLI::App* cmd, NodeCliOptions& o) {
  cmd->add_option("--record", o.record, "record id")->required();
  cmd->add_option("--doctor", o.doctor, "doctor principal <hospital>/<id>")->required();
  cmd->add_option("--patient", o.patient, "patient principal (the owner)")->required();
  cmd->add_option("--content-type", o.content_type, "content type (default application/fhir+json)");
  cmd->add_option("--file", o.file, "payload file")->required();
}

}  // namespace

void register_node_commands(CLI::App& app) {
  auto o = std::make_shared<NodeCliOptions>();
  auto* node_cmd = app.add_subcommand("node", "the hospital node: set-up and node certificates");
  node_cmd->require_subcommand(1);
  auto* init =
      command(node_cmd, "init",
              "node keys in the token, node certificates; --genesis founds the ledger", *o);
  init->add_option("--hospital", o->hospital, "hospital id (the CA's)")->required();
  init->add_option("--node-id", o->node_id,
                   "node id (CN of its signing certificate; default node)");
  init->add_option("--ca-dir", o->ca_dir, "the hospital CA directory (medledger ca init)")
      ->required();
  init->add_option("--ledger", o->ledger_dir, "the consortium ledger directory")->required();
  init->add_option("--person-keys", o->person_keys, "token (default) or wrapped (under the KEK)");
  init->add_option("--kek-label", o->kek_label,
                   "label of the KEK for wrapped person keys (default medledger-kek)");
  init->add_flag("--genesis", o->genesis, "create the ledger with this hospital as founder");
  init->add_option("--consortium", o->consortium, "consortium name (with --genesis)");
  init->add_option("--admit-quorum", o->admit_quorum,
                   "member hospitals needed to admit one (with --genesis)");
  init->add_option(
      "--proposer", o->proposers,
      "another node's node-signing.pub.pem allowed to propose blocks (with --genesis)");
  init->callback([o] { init_node(*o); });
  auto* verify_cmd = node_cmd->add_subcommand(
      "verify", "replay the consortium ledger through the records contract");
  verify_cmd->add_option("--ledger", o->ledger_dir, "the consortium ledger directory")->required();
  verify_cmd->callback([o] { verify(*o); });
  command(node_cmd, "register", "register the node certificates (after admission)", *o)
      ->callback([o] { register_node(*o); });

  auto* enrol = app.add_subcommand(
      "enrol", "enrol a doctor, patient or auditor: key, certificate, cert.register, PIN");
  for (auto role : {ca::Role::kDoctor, ca::Role::kPatient, ca::Role::kAuditor}) {
    auto* cmd = command(enrol, std::string(ca::role_name(role)),
                        "enrol a " + std::string(ca::role_name(role)), *o);
    cmd->add_option("--id", o->id, "pseudonymous id")->required();
    cmd->add_option("--person-pin", o->person_pin,
                    "the person's PIN: file:PATH, env:NAME or prompt")
        ->required();
    cmd->add_option("--public-key", o->public_key,
                    "the person's own public key (PEM): external signing, no custodial key");
    cmd->callback([o, role] { enrol_one(*o, role); });
  }
  // Bulk mode on `enrol` itself: medledger enrol --csv FILE --pins-out FILE --token ... (no role
  // subcommand).
  enrol->add_option("--csv", o->csv,
                    "bulk enrolment: CSV of id,role rows (progress bar on stderr)");
  enrol->add_option("--pins-out", o->pins_out,
                    "with --csv: new file (0600) receiving principal,role,initial PIN");
  enrol->add_option("--data", o->data, "node data directory (with --csv)");
  enrol->add_option("--token", o->token.token, "token label, serial or pkcs11: URI (with --csv)");
  enrol->add_option("--pin", o->token.pin, "user PIN source (with --csv)");
  enrol->add_option("--module", o->token.module, "PKCS#11 module (with --csv)");
  enrol->require_subcommand(0, 1);
  enrol->callback([o, enrol] {
    if (!enrol->get_subcommands().empty()) return;
    if (o->csv.empty() || o->token.token.empty()) {
      fail(core::make_error(ErrorCode::kInvalidArgument,
                            "enrol doctor|patient|auditor --id ..., or enrol --csv FILE --pins-out "
                            "FILE --token ..."));
    }
    enrol_csv(*o);
  });

  auto* record = app.add_subcommand("record", "medical records: store, read, list, history");
  record->require_subcommand(1);
  auto* put =
      command(record, "put", "seal, sign as doctor and patient (PINs), endorse, commit", *o);
  add_put_options(put, *o);
  put->add_option("--doctor-pin", o->doctor_pin, "doctor's PIN source")->required();
  put->add_option("--patient-pin", o->patient_pin, "patient's PIN source")->required();
  put->callback([o] { record_put(*o); });
  auto* prepare =
      command(record, "prepare", "seal and build the record.put, unsigned, into --out", *o);
  add_put_options(prepare, *o);
  prepare->add_option("--out", o->out, "transaction file")->required();
  prepare->callback([o] { record_prepare(*o); });
  auto* sign =
      command(record, "sign",
              "add one person's custodial signature (after the PIN) to a transaction file", *o);
  sign->add_option("--tx", o->tx_file, "transaction file")->required();
  sign->add_option("--as", o->as, "principal signing")->required();
  sign->add_option("--person-pin", o->person_pin, "that person's PIN source")->required();
  sign->callback([o] { record_sign(*o); });
  auto* submit =
      command(record, "submit", "endorse a transaction file with the node key and submit it", *o);
  submit->add_option("--tx", o->tx_file, "transaction file")->required();
  submit->callback([o] { record_submit(*o); });
  auto* get = command(record, "get", "read a record for a doctor (grant checked, audited)", *o);
  get->add_option("--record", o->record, "record id")->required();
  get->add_option("--version", o->version, "version (default: latest)");
  get->add_option("--doctor", o->doctor, "reading doctor's principal")->required();
  get->add_option("--doctor-pin", o->doctor_pin, "doctor's PIN source")->required();
  get->add_option("--purpose", o->purpose, "why (goes on the ledger)")->required();
  get->add_option("--out", o->out, "write the plaintext here instead of stdout");
  get->callback([o] { record_get(*o); });
  auto* list = command(record, "list", "records of a patient", *o);
  list->add_option("--patient", o->patient, "patient principal")->required();
  list->callback([o] { record_list(*o); });
  auto* history = command(record, "history", "every version of a record", *o);
  history->add_option("--record", o->record, "record id")->required();
  history->callback([o] { record_history(*o); });

  auto* access = app.add_subcommand("access", "patient-owned sharing");
  access->require_subcommand(1);
  auto* grant = command(access, "grant", "the patient grants a hospital or doctor read access", *o);
  grant->add_option("--patient", o->patient, "patient principal")->required();
  grant->add_option("--grantee", o->grantee, "hospital id or doctor principal")->required();
  grant->add_option("--record", o->scope, "limit to these record ids (default: all)");
  grant->add_option("--expires-in", o->expires_in,
                    "seconds until the grant expires (default: never)");
  grant->add_option("--patient-pin", o->patient_pin, "patient's PIN source")->required();
  grant->callback([o] { access_grant(*o); });
  auto* revoke =
      command(access, "revoke", "the patient withdraws a grant (rotates the patient key)", *o);
  revoke->add_option("--patient", o->patient, "patient principal")->required();
  revoke->add_option("--grantee", o->grantee, "as granted")->required();
  revoke->add_option("--patient-pin", o->patient_pin, "patient's PIN source")->required();
  revoke->callback([o] { access_revoke(*o); });

  auto* audit = app.add_subcommand("audit", "auditor exports");
  audit->require_subcommand(1);
  auto* exp =
      command(audit, "export", "records, reads, certificates + chains, inclusion proofs", *o);
  exp->add_option("--patient", o->patient, "one patient's records and reads");
  exp->add_option("--from", o->from_ms, "from block time (Unix ms, inclusive)");
  exp->add_option("--to", o->to_ms, "to block time (Unix ms, exclusive)");
  exp->add_option("--out", o->out, "output directory (audit.json + PEM chains)")->required();
  exp->callback([o] { audit_export(*o); });

  auto* hospital = app.add_subcommand("hospital", "consortium membership");
  hospital->require_subcommand(1);
  auto* request =
      command(hospital, "admit-request", "the candidate: hospital.admit signed by its CA", *o);
  request->add_option("--out", o->out, "transaction file for the members")->required();
  request->callback([o] { admit_request(*o); });
  auto* admit_cmd =
      command(hospital, "admit", "a member countersigns a hospital.admit and submits it", *o);
  admit_cmd->add_option("--request", o->request, "the candidate's transaction file")->required();
  admit_cmd->callback([o] { admit(*o); });
}

}  // namespace medledger::app

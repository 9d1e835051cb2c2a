// HospitalNode set-up: provisioning the data directory, opening it, and the
// composition of its concept classes.
#include "medledger/node/hospital_node.h"

#include <spdlog/spdlog.h>

#include "custody.h"
#include "hospital_ca.h"
#include "medledger/ca/store.h"
#include "medledger/core/error.h"
#include "medledger/hsm/key_store.h"
#include "node_context.h"
#include "patient_keyring.h"
#include "prepared_transactions.h"

namespace medledger::node {

using core::ErrorCode;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSigningCertFile = "node-signing.pem";
constexpr const char* kEncryptionCertFile = "node-encryption.pem";

// The signing key labelled for this node: reused if present, else generated.
core::Result<hsm::KeyInfo> node_signing_key(hsm::KeyStore& keys, const std::string& label) {
  auto found = keys.find_by_label(label);
  if (found) return found;
  if (found.error().code != ErrorCode::kKeyNotFound) return found.error();
  return keys.generate({label, core::KeyAlgorithm::kEcdsaP256});
}

core::Result<hsm::KeyInfo> node_encryption_key(const std::shared_ptr<hsm::SessionPool>& pool,
                                               const std::string& label) {
  auto made = hsm::TokenKeyAgreement::generate(pool, label);
  if (made || made.error().code != ErrorCode::kAlreadyExists) return made;
  hsm::KeyStore keys(pool);
  return keys.find_by_label(label);
}

// The certificate in `file` if present, else a new one from the CA for `spki`.
core::Result<ca::Certificate> node_certificate(const fs::path& file, HospitalCa& ca,
                                               core::ByteView spki, const std::string& subject_id) {
  if (auto text = read_small_file(file)) return ca::Certificate::from_pem(*text);
  ca::IssueRequest request;
  request.role = ca::Role::kNode;
  request.subject_id = subject_id;
  MEDLEDGER_TRY_ASSIGN(auto cert, ca.issue_for_key(spki, request));
  MEDLEDGER_TRY(ca::write_file_atomically(file, core::to_bytes(cert.to_pem())));
  return cert;
}

// A hex key id from node.json: kConfigInvalid naming it when malformed.
core::Result<core::Bytes> config_key_id(const std::string& hex, const char* what) {
  auto id = core::hex_decode(hex);
  if (!id)
    return core::make_error(ErrorCode::kConfigInvalid,
                            std::string("node.json holds a malformed ") + what);
  return std::move(*id);
}

// The node's identity and token keys as node.json and the certificates name them.
core::Result<std::unique_ptr<NodeContext>> open_context(const fs::path& data_dir,
                                                        std::shared_ptr<hsm::SessionPool> pool,
                                                        ConsortiumLedger& ledger,
                                                        NodeOptions options) {
  MEDLEDGER_TRY_ASSIGN(auto config, load_node_config(data_dir));
  MEDLEDGER_TRY_ASSIGN(auto signing_text, read_small_file(data_dir / kSigningCertFile));
  MEDLEDGER_TRY_ASSIGN(auto encryption_text, read_small_file(data_dir / kEncryptionCertFile));
  MEDLEDGER_TRY_ASSIGN(auto signing_cert, ca::Certificate::from_pem(signing_text));
  MEDLEDGER_TRY_ASSIGN(auto encryption_cert, ca::Certificate::from_pem(encryption_text));
  MEDLEDGER_TRY_ASSIGN(auto signer, HospitalNode::signing_key(config, pool));
  MEDLEDGER_TRY_ASSIGN(auto encryption_id,
                       config_key_id(config.encryption_key_id_hex, "encryption key id"));
  MEDLEDGER_TRY_ASSIGN(auto encryption, hsm::TokenKeyAgreement::open(pool, encryption_id));
  if (signing_cert.public_key_spki() != signer->public_key_spki() ||
      encryption_cert.public_key_spki() != encryption->public_key_spki()) {
    return core::make_error(ErrorCode::kConfigInvalid,
                            "the node certificates do not match the token keys");
  }
  std::unique_ptr<hsm::WrappedKeyStore> wrapped;
  if (config.person_keys == PersonKeyStorage::kWrapped) {
    MEDLEDGER_TRY_ASSIGN(auto kek, config_key_id(config.kek_id_hex, "KEK id"));
    MEDLEDGER_TRY_ASSIGN(wrapped, hsm::WrappedKeyStore::open(pool, kek));
  }
  if (!options.on_refused_read) {
    options.on_refused_read = [](const RefusedRead& refused) {
      spdlog::warn("read refused: doctor={} record={} code={} ({})", refused.doctor, refused.record,
                   core::error_code_name(refused.reason.code), refused.reason.message);
    };
  }
  fs::path persons_dir = data_dir / "persons";
  return std::unique_ptr<NodeContext>(new NodeContext{
      data_dir, std::move(config), std::move(pool), ledger, std::move(options), std::move(signer),
      std::move(encryption), std::move(wrapped), std::move(signing_cert),
      std::move(encryption_cert), PersonDirectory(persons_dir)});
}

}  // namespace

ledger::GenesisConfig founding_genesis(std::string consortium, const std::string& hospital_id,
                                       const std::vector<ca::Certificate>& ca_chain,
                                       const core::Signer& node_signer,
                                       const std::vector<const core::Signer*>& extra_proposers,
                                       std::int64_t admit_quorum) {
  ledger::GenesisConfig config;
  config.consortium = std::move(consortium);
  ledger::FoundingHospital founder;
  founder.id = hospital_id;
  for (const auto& cert : ca_chain) founder.ca_certs_pem.push_back(cert.to_pem());
  config.hospitals.push_back(std::move(founder));
  config.admit_quorum = admit_quorum;
  config.proposers.push_back(&node_signer);
  for (const auto* extra : extra_proposers) config.proposers.push_back(extra);
  return config;
}

core::Result<NodeConfig> HospitalNode::provision(const fs::path& data_dir,
                                                 const std::shared_ptr<hsm::SessionPool>& pool,
                                                 const NodeSetup& setup) {
  NodeConfig config;
  if (auto existing = load_node_config(data_dir)) {
    config = *existing;
    if (config.hospital_id != setup.hospital_id || config.node_id != setup.node_id) {
      return core::make_error(
          ErrorCode::kAlreadyExists,
          data_dir.string() + " holds node " + config.hospital_id + "/" + config.node_id);
    }
  } else if (existing.error().code != ErrorCode::kNotFound) {
    return existing.error();
  } else {
    if (!ca::is_valid_identifier(setup.hospital_id) || !ca::is_valid_identifier(setup.node_id) ||
        setup.node_id == kNodeEncryptionId) {
      return core::make_error(ErrorCode::kInvalidArgument,
                              "hospital and node ids must be identifiers");
    }
    config.hospital_id = setup.hospital_id;
    config.node_id = setup.node_id;
    config.ca_dir = fs::absolute(setup.ca_dir);
    config.ledger_dir = fs::absolute(setup.ledger_dir);
    config.person_keys = setup.person_keys;
    config.kek_id_hex = setup.kek_id_hex;
    config.max_payload = std::min(setup.max_payload, kMaxRecordPayloadCeiling);
  }
  if (config.person_keys == PersonKeyStorage::kWrapped) {
    auto kek = core::hex_decode(config.kek_id_hex);
    if (!kek || kek->empty())
      return core::make_error(ErrorCode::kInvalidArgument, "wrapped person keys need a KEK id");
    MEDLEDGER_TRY_ASSIGN(auto store, hsm::WrappedKeyStore::open(pool, *kek));
  }
  MEDLEDGER_TRY_ASSIGN(auto ca, HospitalCa::open(config.ca_dir, pool));
  if (ca->directory().settings().hospital_id != config.hospital_id) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "the CA in " + config.ca_dir.string() + " belongs to " +
                                ca->directory().settings().hospital_id);
  }
  hsm::KeyStore keys(pool);
  MEDLEDGER_TRY_ASSIGN(auto signing,
                       node_signing_key(keys, detail::node_signing_label(config.node_id)));
  MEDLEDGER_TRY_ASSIGN(auto encryption,
                       node_encryption_key(pool, detail::node_encryption_label(config.node_id)));
  config.signing_key_id_hex = core::hex_encode(signing.id);
  config.encryption_key_id_hex = core::hex_encode(encryption.id);
  MEDLEDGER_TRY(save_node_config(data_dir, config));
  auto signing_cert =
      node_certificate(data_dir / kSigningCertFile, *ca, signing.public_key_spki, config.node_id);
  if (!signing_cert) return signing_cert.error();
  auto encryption_cert =
      node_certificate(data_dir / kEncryptionCertFile, *ca, encryption.public_key_spki,
                       std::string(kNodeEncryptionId));
  if (!encryption_cert) return encryption_cert.error();
  return config;
}

core::Result<std::unique_ptr<hsm::TokenSigner>> HospitalNode::signing_key(
    const NodeConfig& config, const std::shared_ptr<hsm::SessionPool>& pool) {
  MEDLEDGER_TRY_ASSIGN(auto id, config_key_id(config.signing_key_id_hex, "signing key id"));
  hsm::KeyStore keys(pool);
  return keys.signer(id);
}

HospitalNode::HospitalNode(std::unique_ptr<NodeContext> context, std::unique_ptr<HospitalCa> ca,
                           std::unique_ptr<PinStore> pins)
    : context_(std::move(context)),
      hospital_ca_(std::move(ca)),
      custody_(std::make_unique<Custody>(*context_, std::move(pins))),
      patient_keys_(std::make_unique<PatientKeyring>(*context_)),
      prepared_(std::make_unique<PreparedTransactions>()),
      persons_(*context_, *custody_, *patient_keys_, *hospital_ca_),
      signing_(*context_, *custody_),
      records_(*context_, *custody_, *patient_keys_, signing_),
      sharing_(*context_, *custody_, *patient_keys_, signing_, *prepared_),
      audit_(*context_),
      ca_(*context_, *custody_, *hospital_ca_) {}

HospitalNode::~HospitalNode() = default;

core::Result<std::unique_ptr<HospitalNode>> HospitalNode::open(
    const fs::path& data_dir, std::shared_ptr<hsm::SessionPool> pool, ConsortiumLedger& ledger,
    NodeOptions options) {
  MEDLEDGER_TRY_ASSIGN(auto context, open_context(data_dir, pool, ledger, std::move(options)));
  MEDLEDGER_TRY_ASSIGN(auto ca, HospitalCa::open(context->config.ca_dir, pool));
  MEDLEDGER_TRY_ASSIGN(auto pins, PinStore::open(data_dir / "pins", context->options.pin_policy));
  return std::unique_ptr<HospitalNode>(
      new HospitalNode(std::move(context), std::move(ca), std::move(pins)));
}

const NodeConfig& HospitalNode::config() const { return context_->config; }

std::string HospitalNode::node_principal() const { return context_->node_principal(); }

ConsortiumLedger& HospitalNode::consortium() { return context_->ledger; }

const ca::Certificate& HospitalNode::signing_certificate() const { return context_->signing_cert; }

PatientKeyCacheStats HospitalNode::patient_key_cache_stats() const {
  return patient_keys_->stats();
}

}  // namespace medledger::node

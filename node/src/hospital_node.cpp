// HospitalNode set-up: provisioning the data directory, opening it, the
// consortium operations (node certificates, admission) and the transaction
// helpers every operation shares.
#include <openssl/rand.h>

#include <chrono>
#include <spdlog/spdlog.h>
#include <system_error>

#include "hospital_node_internal.h"
#include "medledger/ca/store.h"
#include "medledger/core/error.h"
#include "medledger/hsm/key_store.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node {

using core::ErrorCode;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSigningCertFile = "node-signing.pem";
constexpr const char* kEncryptionCertFile = "node-encryption.pem";

std::int64_t system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct OpenCa {
  std::unique_ptr<hsm::TokenSigner> signer;
  std::optional<ca::CaDirectory> store;
  std::optional<ca::CertificateAuthority> authority;
};

core::Result<OpenCa> open_ca(const fs::path& ca_dir,
                             const std::shared_ptr<hsm::SessionPool>& pool) {
  OpenCa out;
  auto store = ca::CaDirectory::open(ca_dir);
  if (!store) return store.error();
  out.store.emplace(std::move(*store));
  auto key_id = core::hex_decode(out.store->settings().key_id_hex);
  if (!key_id)
    return core::make_error(ErrorCode::kConfigInvalid, "CA settings hold a malformed key id");
  hsm::KeyStore keys(pool);
  auto signer = keys.signer(*key_id);
  if (!signer) return signer.error();
  out.signer = std::move(*signer);
  const auto& chain = out.store->chain();
  auto authority = ca::CertificateAuthority::open(
      *out.signer, chain.front(), std::vector<ca::Certificate>(chain.begin() + 1, chain.end()));
  if (!authority) return authority.error();
  out.authority.emplace(std::move(*authority));
  return out;
}

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
core::Result<ca::Certificate> node_certificate(const fs::path& file, OpenCa& ca,
                                               core::ByteView spki, const std::string& subject_id) {
  if (auto text = read_small_file(file)) return ca::Certificate::from_pem(*text);
  ca::IssueRequest request;
  request.role = ca::Role::kNode;
  request.subject_id = subject_id;
  auto cert = ca.authority->issue_for_key(spki, request, std::time(nullptr));
  if (!cert) return cert.error();
  MEDLEDGER_TRY(ca.store->record_issued(*cert, ca::Role::kNode));
  MEDLEDGER_TRY(ca::write_file_atomically(file, core::to_bytes(cert->to_pem())));
  return cert;
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
    auto store = hsm::WrappedKeyStore::open(pool, *kek);
    if (!store) return store.error();
  }
  auto ca = open_ca(config.ca_dir, pool);
  if (!ca) return ca.error();
  if (ca->store->settings().hospital_id != config.hospital_id) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "the CA in " + config.ca_dir.string() + " belongs to " + ca->store->settings().hospital_id);
  }
  hsm::KeyStore keys(pool);
  auto signing = node_signing_key(keys, detail::node_signing_label(config.node_id));
  if (!signing) return signing.error();
  auto encryption = node_encryption_key(pool, detail::node_encryption_label(config.node_id));
  if (!encryption) return encryption.error();
  config.signing_key_id_hex = core::hex_encode(signing->id);
  config.encryption_key_id_hex = core::hex_encode(encryption->id);
  MEDLEDGER_TRY(save_node_config(data_dir, config));
  auto signing_cert =
      node_certificate(data_dir / kSigningCertFile, *ca, signing->public_key_spki, config.node_id);
  if (!signing_cert) return signing_cert.error();
  auto encryption_cert =
      node_certificate(data_dir / kEncryptionCertFile, *ca, encryption->public_key_spki,
                       std::string(kNodeEncryptionId));
  if (!encryption_cert) return encryption_cert.error();
  return config;
}

core::Result<std::unique_ptr<hsm::TokenSigner>> HospitalNode::signing_key(
    const NodeConfig& config, const std::shared_ptr<hsm::SessionPool>& pool) {
  auto id = core::hex_decode(config.signing_key_id_hex);
  if (!id)
    return core::make_error(ErrorCode::kConfigInvalid,
                            "node.json holds a malformed signing key id");
  hsm::KeyStore keys(pool);
  return keys.signer(*id);
}

HospitalNode::HospitalNode(fs::path dir, NodeConfig config, std::shared_ptr<hsm::SessionPool> pool,
                           ConsortiumLedger& ledger, NodeOptions options,
                           ca::Certificate signing_cert, ca::Certificate encryption_cert)
    : dir_(std::move(dir)),
      config_(std::move(config)),
      pool_(std::move(pool)),
      ledger_(ledger),
      options_(std::move(options)),
      keys_(std::make_unique<Keys>()),
      signing_cert_(std::move(signing_cert)),
      encryption_cert_(std::move(encryption_cert)),
      persons_(dir_ / "persons") {}

HospitalNode::~HospitalNode() = default;

core::Result<std::unique_ptr<HospitalNode>> HospitalNode::open(
    const fs::path& data_dir, std::shared_ptr<hsm::SessionPool> pool, ConsortiumLedger& ledger,
    NodeOptions options) {
  auto config = load_node_config(data_dir);
  if (!config) return config.error();
  auto signing_text = read_small_file(data_dir / kSigningCertFile);
  if (!signing_text) return signing_text.error();
  auto encryption_text = read_small_file(data_dir / kEncryptionCertFile);
  if (!encryption_text) return encryption_text.error();
  auto signing_cert = ca::Certificate::from_pem(*signing_text);
  if (!signing_cert) return signing_cert.error();
  auto encryption_cert = ca::Certificate::from_pem(*encryption_text);
  if (!encryption_cert) return encryption_cert.error();

  auto keys = std::make_unique<Keys>();
  auto signer = signing_key(*config, pool);
  if (!signer) return signer.error();
  keys->node_signer = std::move(*signer);
  auto encryption_id = core::hex_decode(config->encryption_key_id_hex);
  if (!encryption_id)
    return core::make_error(ErrorCode::kConfigInvalid,
                            "node.json holds a malformed encryption key id");
  auto encryption = hsm::TokenKeyAgreement::open(pool, *encryption_id);
  if (!encryption) return encryption.error();
  keys->encryption = std::move(*encryption);
  if (signing_cert->public_key_spki() != keys->node_signer->public_key_spki() ||
      encryption_cert->public_key_spki() != keys->encryption->public_key_spki()) {
    return core::make_error(ErrorCode::kConfigInvalid,
                            "the node certificates do not match the token keys");
  }
  auto ca = open_ca(config->ca_dir, pool);
  if (!ca) return ca.error();
  keys->ca_signer = std::move(ca->signer);
  keys->ca_store.emplace(std::move(*ca->store));
  keys->authority.emplace(std::move(*ca->authority));
  if (config->person_keys == PersonKeyStorage::kWrapped) {
    auto kek = core::hex_decode(config->kek_id_hex);
    if (!kek)
      return core::make_error(ErrorCode::kConfigInvalid, "node.json holds a malformed KEK id");
    auto wrapped = hsm::WrappedKeyStore::open(pool, *kek);
    if (!wrapped) return wrapped.error();
    keys->wrapped = std::move(*wrapped);
  }
  auto pins = PinStore::open(data_dir / "pins", options.pin_policy);
  if (!pins) return pins.error();
  if (!options.on_refused_read) {
    options.on_refused_read = [](const RefusedRead& refused) {
      spdlog::warn("read refused: doctor={} record={} code={} ({})", refused.doctor, refused.record,
                   core::error_code_name(refused.reason.code), refused.reason.message);
    };
  }
  std::unique_ptr<HospitalNode> node(
      new HospitalNode(data_dir, std::move(*config), std::move(pool), ledger, std::move(options),
                       std::move(*signing_cert), std::move(*encryption_cert)));
  node->keys_ = std::move(keys);
  node->pins_ = std::move(*pins);
  return node;
}

std::int64_t HospitalNode::now_ms() const { return system_ms(); }

std::string HospitalNode::node_principal() const {
  return ledger::principal(config_.hospital_id, config_.node_id);
}

ledger::Transaction HospitalNode::new_transaction(std::string_view type,
                                                  boost::json::object body) const {
  ledger::Transaction tx;
  tx.type = std::string(type);
  tx.time_ms = now_ms();
  tx.nonce.resize(ledger::kMinNonceBytes);
  if (RAND_bytes(tx.nonce.data(), static_cast<int>(tx.nonce.size())) != 1)
    std::abort();  // CSPRNG failure: no safe way on
  tx.body = std::move(body);
  return tx;
}

core::Result<ledger::Receipt> HospitalNode::submit_ca_signed(ledger::Transaction tx,
                                                             std::string_view what) {
  MEDLEDGER_TRY(ledger::add_signature(
      tx, *keys_->ca_signer, ledger::certificate_fingerprint(keys_->ca_store->chain().front())));
  return accepted_or_error(ledger_.submit(tx), what);
}

core::Result<ledger::Receipt> HospitalNode::endorse_and_submit(ledger::Transaction tx) {
  auto pending = endorse_and_submit_async(std::move(tx));
  if (!pending) return pending.error();
  return pending->wait();
}

core::Result<PendingCommit> HospitalNode::endorse_and_submit_async(ledger::Transaction tx) {
  const core::Digest id = ledger::tx_id(tx);
  return endorse_and_submit_async(std::move(tx), id);
}

core::Result<PendingCommit> HospitalNode::endorse_and_submit_async(ledger::Transaction tx,
                                                                   const core::Digest& id) {
  MEDLEDGER_TRY(ledger::add_signature(tx, id, *keys_->node_signer,
                                      ledger::certificate_fingerprint(signing_cert_)));
  std::string what = tx.type;
  return ledger_.submit_pending(tx, std::move(what));
}

core::Result<void> HospitalNode::register_node_certificates() {
  std::vector<const ca::Certificate*> pending;
  {
    auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
    if (!state) return state.error();
    auto hospital = ledger::find_hospital(**state, config_.hospital_id);
    if (!hospital) return hospital.error();
    if (!*hospital) {
      return core::make_error(
          ErrorCode::kHospitalNotAdmitted,
          config_.hospital_id + " is not admitted to this ledger yet (hospital admit)");
    }
    for (const auto* cert : {&signing_cert_, &encryption_cert_}) {
      auto found = ledger::find_certificate(**state, ledger::certificate_fingerprint(*cert));
      if (!found) return found.error();
      if (!*found) pending.push_back(cert);
    }
  }
  for (const auto* cert : pending) {
    auto receipt = submit_ca_signed(
        new_transaction(ledger::kTxCertRegister, ledger::make_cert_register_body(*cert)),
        "cert.register of the node certificate");
    if (!receipt) return receipt.error();
  }
  return core::success();
}

core::Result<PreparedTransaction> HospitalNode::admission_request() {
  ledger::HospitalAdmitBody body;
  body.hospital = config_.hospital_id;
  for (const auto& cert : keys_->ca_store->chain()) body.ca_certs_pem.push_back(cert.to_pem());
  PreparedTransaction out;
  out.tx = new_transaction(ledger::kTxHospitalAdmit, ledger::make_hospital_admit_body(body));
  MEDLEDGER_TRY(
      ledger::add_signature(out.tx, *keys_->ca_signer,
                            ledger::certificate_fingerprint(keys_->ca_store->chain().front())));
  out.tx_id = ledger::tx_id(out.tx);
  return out;
}

core::Result<ledger::Receipt> HospitalNode::countersign_admission(ledger::Transaction request) {
  if (request.type != ledger::kTxHospitalAdmit) {
    return core::make_error(ErrorCode::kInvalidArgument, "not a hospital.admit transaction");
  }
  return submit_ca_signed(std::move(request), "hospital.admit");
}
}  // namespace medledger::node

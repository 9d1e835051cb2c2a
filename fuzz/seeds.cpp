// fuzz_seeds <corpus dir>: writes the generated seeds of fuzz/corpus/ -- inputs that the
// production encoders make and the production decoders accept (signed with the fuzz
// targets' fixed keys), so each target starts from the deep paths. The hand-written
// seeds (api_request, config's TOML, the transaction vectors) are checked in as they are.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <openssl/rand.h>

#include "fuzz_support.h"
#include "medledger/ca/authority.h"
#include "medledger/core/bytes.h"
#include "medledger/hsm/wrapped_key.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/kv_contract.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/replication.h"
#include "medledger/node/node_config.h"
#include "medledger/node/patient_key.h"
#include "medledger/node/person_directory.h"
#include "medledger/node/pin_verifier.h"
#include "medledger/node/record_envelope.h"

using namespace medledger;
namespace fs = std::filesystem;

namespace {

fs::path g_root;

void put(const std::string& target, const std::string& name, std::string_view bytes) {
  fs::create_directories(g_root / target);
  fuzz::write_file(g_root / target / name, bytes);
}
void put(const std::string& target, const std::string& name, const core::Bytes& bytes) {
  put(target, name, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

template <typename T>
T must(core::Result<T> result) {
  if (!result) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", result.error().to_string().c_str());
    std::exit(1);
  }
  return std::move(*result);
}
void must(core::Result<void> result) {
  if (!result) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", result.error().to_string().c_str());
    std::exit(1);
  }
}

constexpr std::int64_t kTimeMs = 1700000000000;

std::string kv_put(const std::string& key, const std::string& value) {
  ledger::Transaction tx;
  tx.type = "record.put";
  tx.time_ms = kTimeMs;
  tx.nonce.assign(ledger::kMinNonceBytes, 0);
  tx.nonce.back() = static_cast<std::uint8_t>(key.size());
  tx.body = boost::json::object{{"key", key}, {"value", value}};
  return ledger::encode_transaction(tx);
}

void ledger_seeds() {
  // A signed transaction with one signature of each algorithm.
  ledger::Transaction tx;
  tx.type = "record.read";
  tx.time_ms = kTimeMs;
  tx.nonce.assign(ledger::kMinNonceBytes, 7);
  tx.body = boost::json::object{{"record", "rec-1"}};
  const auto fingerprint_a = core::sha256(core::to_bytes("certificate a"));
  const auto fingerprint_b = core::sha256(core::to_bytes("certificate b"));
  must(ledger::add_signature(tx, fuzz::p256_signer(), fingerprint_a));
  must(ledger::add_signature(tx, fuzz::ed25519_signer(), fingerprint_b));
  put("transaction", "signed-two-algorithms", ledger::encode_transaction(tx));

  // A ledger with two blocks: headers, an exchanged block, a receipt, proofs, a checkpoint.
  const fs::path dir = fuzz::scratch_dir() / "seed-ledger";
  fs::remove_all(dir);
  ledger::KeyValueContract contract;
  ledger::GenesisConfig config;
  config.consortium = "fuzz";
  config.hospitals = {{"hospital-a", {}}};
  config.proposers = {&fuzz::p256_signer()};
  config.contract = ledger::kKeyValueContractName;
  auto made = must(ledger::Ledger::create(dir, ledger::make_genesis_document(config), contract,
                                          fuzz::p256_signer(), kTimeMs));
  std::vector<ledger::PendingTransaction> batch;
  for (const auto& wire : {kv_put("a", "1"), kv_put("b", "2"), kv_put("c", "3")})
    batch.push_back(must(ledger::prepare_transaction(wire)));
  auto block = must(made->append_block(batch, kTimeMs + 1, contract, fuzz::p256_signer()));
  put("block_header", "genesis", must(made->block(0)).header_json);
  put("block_header", "block-1", ledger::encode_header(block.header));
  put("ordered_block", "block-1", ledger::encode_ordered_block(must(made->ordered_block(1))));
  put("ordered_block", "genesis", ledger::encode_ordered_block(must(made->ordered_block(0))));
  put("transaction", "kv-put", batch[0].wire);

  auto checkpoint = must(ledger::checkpoint_at(*made, block.header, fuzz::p256_signer()));
  put("checkpoint", "p256", ledger::format_checkpoint(checkpoint));
  put("checkpoint", "ed25519",
      ledger::format_checkpoint(must(ledger::sign_checkpoint(
          checkpoint.checkpoint, fuzz::ed25519_signer(), "medledger-fuzz"))));

  const auto& outcome = block.outcomes[1];
  auto receipt = must(ledger::make_receipt(*made, outcome.tx_id, block.header.height,
                                           outcome.sequence, outcome.result, checkpoint));
  put("receipt", "kv-put", ledger::encode_receipt(receipt) + std::string(1, '\0') + batch[1].wire);

  // Proofs as merkle_proof_fuzzer reads them: two u64, two hashes, the path.
  auto proof_input = [](std::uint64_t first, std::uint64_t second, const ledger::MerkleHash& a,
                        const ledger::MerkleHash& b, const std::vector<ledger::MerkleHash>& path) {
    std::string out(reinterpret_cast<const char*>(&first), 8);
    out.append(reinterpret_cast<const char*>(&second), 8);
    out.append(reinterpret_cast<const char*>(a.data()), a.size());
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    for (const auto& h : path) out.append(reinterpret_cast<const char*>(h.data()), h.size());
    return out;
  };
  ledger::MemoryMerkleTree tree;
  std::vector<ledger::MerkleHash> leaves;
  for (int i = 0; i < 7; ++i) {
    leaves.push_back(ledger::merkle_leaf_hash(core::to_bytes("leaf " + std::to_string(i))));
    tree.append(leaves.back());
  }
  const auto root7 = must(ledger::root_at(tree, 7));
  const auto root3 = must(ledger::root_at(tree, 3));
  put("merkle_proof", "inclusion-5-of-7",
      proof_input(5, 7, leaves[5], root7, must(ledger::inclusion_proof(tree, 5, 7))));
  put("merkle_proof", "consistency-3-7",
      proof_input(3, 7, root3, root7, must(ledger::consistency_proof(tree, 3, 7))));
}

void hsm_seeds() {
  hsm::WrappedKey key;
  key.algorithm = core::KeyAlgorithm::kEcdsaP256;
  key.kek_id = {0x01, 0x02, 0x03, 0x04};
  key.public_key_spki = fuzz::p256_signer().public_key_spki();
  key.wrapped_private_key.assign(144, 0xab);
  put("wrapped_key", "p256-rfc5649", hsm::encode_wrapped_key(key));
  key.algorithm = core::KeyAlgorithm::kEd25519;
  key.public_key_spki = fuzz::ed25519_signer().public_key_spki();
  key.wrapped_private_key.assign(56, 0xcd);
  key.wrap_format = hsm::WrapFormat::kRfc3394Pkcs7;
  key.wrap_mechanism = CKM_AES_KEY_WRAP_PAD;
  put("wrapped_key", "ed25519-rfc3394", hsm::encode_wrapped_key(key));
}

void ca_seeds() {
  constexpr std::time_t kNow = 1767225600;
  auto& signer = fuzz::p256_signer();
  auto cert =
      must(ca::CertificateAuthority::self_signed(signer, {.hospital_id = "hospital-a"}, kNow));
  auto authority = must(ca::CertificateAuthority::open(signer, cert, {}));
  put("ca", "ca-cert.pem", cert.to_pem());
  put("ca", "ca-cert.der", cert.to_der());
  auto doctor =
      must(authority.issue_for_key(fuzz::ed25519_signer().public_key_spki(),
                                   {.role = ca::Role::kDoctor, .subject_id = "dr-1"}, kNow));
  put("ca", "doctor-cert.pem", doctor.to_pem());
  put("ca", "bundle.pem", doctor.to_pem() + cert.to_pem());
  auto csr = must(ca::CertificateRequest::for_key(signer, "dr-2", {}));
  put("ca", "csr.pem", csr.to_pem());
  put("ca", "csr.der", csr.to_der());
  put("ca", "public-key.der", fuzz::ed25519_signer().public_key_spki());
  auto crl = must(authority.make_crl(
      {{doctor.serial_hex(), kNow, ca::RevocationReason::kKeyCompromise}}, 7, kNow, 7));
  put("ca", "crl.pem", crl.to_pem());
  put("ca", "crl.der", crl.to_der());
}

void node_seeds() {
  auto patient_key = must(node::generate_patient_key("patient-1"));
  auto sealed =
      must(node::seal_record({"patient-1", "rec-1", 1, "application/fhir+json"},
                             core::to_bytes("{\"resourceType\":\"Observation\"}"), patient_key));
  put("record_envelope", "sealed", sealed.to_json_text());
  auto wrapped =
      must(node::wrap_patient_key_for(fuzz::p256_signer().public_key_spki(), patient_key));
  put("record_envelope", "wrapped-patient-key", wrapped.to_json_text());

  auto pin =
      must(node::make_pin_record("dr-1", core::SecretBytes(core::to_bytes("correct horse 1")),
                                 {.log2_n = node::kMinScryptLogN, .r = 8, .p = 1}));
  put("person_files", "pin-record", pin.to_json_text());
  const fs::path persons = fuzz::scratch_dir() / "seed-persons";
  fs::remove_all(persons);
  fs::create_directories(persons);
  node::PersonDirectory directory(persons);
  node::PersonEntry entry;
  entry.principal = "hospital-a/dr-1";
  entry.id = "dr-1";
  entry.cert_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  entry.wrapped = true;
  entry.wrapped_blob = {0x4d, 0x4c, 0x57, 0x4b, 0x02};
  must(directory.add(entry));
  for (const auto& file : fs::directory_iterator(persons))
    put("person_files", "person-wrapped", must(node::read_small_file(file.path())));

  node::NodeConfig config;
  config.hospital_id = "hospital-a";
  config.ca_dir = "ca";
  config.ledger_dir = "ledger";
  config.signing_key_id_hex = "0a0b";
  config.encryption_key_id_hex = "0c0d";
  const fs::path node_dir = fuzz::scratch_dir() / "seed-node";
  must(node::save_node_config(node_dir, config));
  put("config", "node.json", must(node::read_small_file(node_dir / "node.json")));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds <corpus dir>\n");
    return 2;
  }
  g_root = argv[1];
  ledger_seeds();
  hsm_seeds();
  ca_seeds();
  node_seeds();
  fs::remove_all(fuzz::scratch_dir());
  return 0;
}

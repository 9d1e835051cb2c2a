// A node's data directory and its settings file (docs/node.md, "Data directory"):
//
//   <dir>/node.json               NodeConfig below (canonical JSON)
//   <dir>/node-signing.pem        the node's signing certificate (role node, CN = node id)
//   <dir>/node-encryption.pem     its encryption certificate (role node, CN = kNodeEncryptionId)
//   <dir>/persons/<h>.json        persons enrolled here (person_directory.h)
//   <dir>/pins/<h>.pin.json       their PIN verifiers (pin_store.h)
//   <dir>/patient-keys/<h>.json   patients' keys, wrapped for this node's encryption key
//
// <h> = hex SHA-256 of the principal. The ledger and the CA directory live where
// node.json says (a shared ledger directory for a one-machine consortium).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "medledger/core/result.h"
#include "medledger/node/limits.h"

namespace medledger::node {

/// The node's default id: the CN of its signing certificate.
inline constexpr std::string_view kDefaultNodeId = "node";
/// CN of every node encryption certificate of a hospital, so a granting node
/// finds them all under one principal "<hospital>/node-encryption" (reserved id).
inline constexpr std::string_view kNodeEncryptionId = "node-encryption";
/// Largest node.json / person file read.
inline constexpr std::size_t kMaxNodeFileBytes = 64 * 1024;

/// Where persons' custodial private keys live.
enum class PersonKeyStorage {
  kToken,    // a token object per person (CKA_SENSITIVE, never extractable)
  kWrapped,  // generated in the token, kept here wrapped under the token's KEK
};

/// Default audit export limit: 64 MiB.
inline constexpr std::uint64_t kDefaultMaxExportBytes = 64ull * 1024 * 1024;

struct NodeConfig {
  std::string hospital_id;
  std::string node_id = std::string(kDefaultNodeId);
  std::filesystem::path ca_dir;
  std::filesystem::path ledger_dir;
  std::string signing_key_id_hex;     // CKA_ID of the node signing key
  std::string encryption_key_id_hex;  // CKA_ID of the node encryption (ECDH) key
  PersonKeyStorage person_keys = PersonKeyStorage::kToken;
  std::string kek_id_hex;  // kWrapped: CKA_ID of the KEK
  std::size_t max_payload = kDefaultMaxRecordPayload;
  // Largest audit export (archive or FHIR) in bytes; node.json "max_export_bytes",
  // optional. An HTTPS export is held in memory up to this size (EXPORT_TOO_LARGE past it).
  std::uint64_t max_export_bytes = kDefaultMaxExportBytes;
};

/// "token" / "wrapped"; parse: kInvalidArgument otherwise.
std::string_view person_key_storage_name(PersonKeyStorage storage);
core::Result<PersonKeyStorage> parse_person_key_storage(std::string_view name);

/// Reads <dir>/node.json. kNotFound if absent, kConfigInvalid if damaged.
core::Result<NodeConfig> load_node_config(const std::filesystem::path& dir);
/// Writes <dir>/node.json atomically (creating <dir> 0700). kIoError.
core::Result<void> save_node_config(const std::filesystem::path& dir, const NodeConfig& config);

/// Reads a small file whole (at most kMaxNodeFileBytes). kNotFound / kIoError.
core::Result<std::string> read_small_file(const std::filesystem::path& path);

}  // namespace medledger::node

// Genesis: the consortium configuration carried by block 0.
//
// Block 0 holds exactly one transaction, of type "genesis", whose body is the
// configuration document (restricted canonical JSON, so it is hash-linked through
// the Merkle root and the block hash):
//
//   {"consortium":"<name>",
//    "hospitals":[{"id":"<hospital id>","ca_certs":["<PEM>",...]},...],
//    "policies":{"admit_quorum":Q, ...},
//    "proposers":[{"alg":"ecdsa-p256"|"ed25519","spki":"<b64url DER SPKI>"},...]}
//
// The ledger itself reads only "proposers" (whose keys may sign blocks and
// checkpoints); the rest belongs to the contract.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"

namespace medledger::ledger {

/// Most proposers a consortium lists (each block names one).
inline constexpr std::size_t kMaxProposers = 64;

struct FoundingHospital {
  std::string id;
  std::vector<std::string> ca_certs_pem;
};

/// Contract names a genesis document may carry (the rules every node applies).
inline constexpr const char* kRecordsContractName = "medical-records/1";
inline constexpr const char* kKeyValueContractName = "kv/1";

struct GenesisConfig {
  std::string consortium;
  std::vector<FoundingHospital> hospitals;
  std::int64_t admit_quorum = 1;
  std::vector<const core::Signer*> proposers;   // public keys only are read
  std::string contract = kRecordsContractName;  // which rules the ledger runs
};

/// The configuration document above.
boost::json::object make_genesis_document(const GenesisConfig& config);

/// The proposers' SPKI DER from a configuration document; kTxMalformed when
/// missing, empty, over kMaxProposers or not base64url.
core::Result<std::vector<core::Bytes>> genesis_proposer_keys(const boost::json::object& document);

/// The contract a configuration document names; kTxMalformed when missing or not a string.
/// Fixed at genesis so that every later append and every verify applies the same rules.
core::Result<std::string> genesis_contract_name(const boost::json::object& document);

}  // namespace medledger::ledger

// The genesis configuration document (genesis.h).
#include "medledger/ledger/genesis.h"

#include <boost/json/array.hpp>

namespace medledger::ledger {

namespace json = boost::json;

json::object make_genesis_document(const GenesisConfig& config) {
  json::object doc;
  doc["consortium"] = config.consortium;
  doc["contract"] = config.contract;
  json::array hospitals;
  for (const FoundingHospital& h : config.hospitals) {
    json::array certs;
    for (const std::string& pem : h.ca_certs_pem) certs.emplace_back(pem);
    hospitals.emplace_back(json::object{{"id", h.id}, {"ca_certs", std::move(certs)}});
  }
  doc["hospitals"] = std::move(hospitals);
  doc["policies"] = json::object{{"admit_quorum", config.admit_quorum}};
  json::array proposers;
  for (const core::Signer* signer : config.proposers) {
    proposers.emplace_back(
        json::object{{"alg", std::string(core::key_algorithm_name(signer->algorithm()))},
                     {"spki", core::base64url_encode(signer->public_key_spki())}});
  }
  doc["proposers"] = std::move(proposers);
  return doc;
}

core::Result<std::vector<core::Bytes>> genesis_proposer_keys(const json::object& document) {
  auto bad = [](const std::string& what) {
    return core::make_error(core::ErrorCode::kTxMalformed, "genesis: " + what);
  };
  auto it = document.find("proposers");
  if (it == document.end() || !it->value().is_array()) return bad("\"proposers\" is missing");
  const json::array& list = it->value().as_array();
  if (list.empty() || list.size() > kMaxProposers) return bad("\"proposers\" must list 1-64 keys");
  std::vector<core::Bytes> keys;
  for (const json::value& entry : list) {
    if (!entry.is_object()) return bad("a proposer is not an object");
    auto spki = entry.as_object().find("spki");
    if (spki == entry.as_object().end() || !spki->value().is_string())
      return bad("a proposer lacks \"spki\"");
    auto der = core::base64url_decode(std::string_view(spki->value().as_string()));
    if (!der || der->empty()) return bad("a proposer's \"spki\" is not base64url");
    keys.push_back(std::move(*der));
  }
  return keys;
}

core::Result<std::string> genesis_contract_name(const json::object& document) {
  auto it = document.find("contract");
  if (it == document.end() || !it->value().is_string()) {
    return core::make_error(core::ErrorCode::kTxMalformed, "genesis: \"contract\" is missing");
  }
  return std::string(it->value().as_string());
}

}  // namespace medledger::ledger

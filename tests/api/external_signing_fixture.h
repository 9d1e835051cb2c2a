// Persons who hold their own keys, for the external-signing route tests: the test
// keeps each private key (OpenSSL, not the token), the node only certifies its
// public key; prepare routes build a transaction, the test signs tx_id and
// submits the signatures to POST /v1/transactions.
#pragma once

#include <memory>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "medledger/core/software_signer.h"
#include "medledger/ledger/transaction.h"
#include "node_routes_fixture.h"

namespace medledger::api {

// A person holding their own key: the node only certifies its public key.
struct Device {
  std::unique_ptr<core::SoftwareSigner> key;
  std::string principal;
  std::string cert;  // base64url SHA-256 of the certificate DER, as transactions name it
};

class ExternalSigningRoutes : public NodeRoutes {
 protected:
  // Enrolled at hospital-a with a fresh software key and no PIN.
  Device enrol_device(ca::Role role, const std::string& id,
                      core::KeyAlgorithm algorithm = core::KeyAlgorithm::kEcdsaP256) {
    Device device;
    device.key = node::testing::expect_ok(core::SoftwareSigner::generate(algorithm));
    node::EnrolRequest request{role, id, {}, device.key->public_key_spki()};
    auto enrolment = node::testing::expect_ok(node_a_->persons().enrol(request));
    device.principal = enrolment.principal;
    device.cert = core::base64url_encode(enrolment.fingerprint);
    return device;
  }

  // POST /v1/records/prepare's body: `record` of `patient`, written by `doctor`.
  static std::string record_body(const std::string& record, const Device& doctor,
                                 const Device& patient) {
    boost::json::object body;
    body["record_id"] = record;
    body["doctor"] = doctor.principal;
    body["patient"] = patient.principal;
    body["payload"] = core::base64url_encode(core::to_bytes(kPayload));
    return boost::json::serialize(body);
  }

  // {tx, tx_id} of POST /v1/records/prepare.
  boost::json::object prepare_record(const std::string& record, const Device& doctor,
                                     const Device& patient) {
    auto prepared = post("/v1/records/prepare", record_body(record, doctor, patient));
    EXPECT_EQ(prepared.status, 200) << prepared.body;
    return json_of(prepared);
  }

  static core::Digest digest_of(const boost::json::object& prepared) {
    auto bytes = core::base64url_decode(std::string(prepared.at("tx_id").as_string()));
    core::Digest digest{};
    EXPECT_TRUE(bytes.ok() && bytes->size() == digest.size());
    if (bytes.ok() && bytes->size() == digest.size())
      std::copy(bytes->begin(), bytes->end(), digest.begin());
    return digest;
  }

  // The unsigned transaction a prepare route answered.
  static ledger::Transaction tx_of(const boost::json::object& prepared) {
    auto wire = node::testing::expect_ok(
        core::base64url_decode(std::string(prepared.at("tx").as_string())));
    return node::testing::expect_ok(
        ledger::decode_transaction(std::string(wire.begin(), wire.end())));
  }

  // {tx} of a transaction built (or altered) by the test, as a prepare route answers it.
  static boost::json::object prepared_of(const ledger::Transaction& tx) {
    boost::json::object out;
    out["tx"] = core::base64url_encode(core::to_bytes(ledger::encode_transaction(tx)));
    out["tx_id"] = core::base64url_encode(ledger::tx_id(tx));
    return out;
  }

  // {cert, sig} by `device` over `digest`, made with OpenSSL outside the node.
  static boost::json::object signature(const Device& device, const core::Digest& digest) {
    auto sig = node::testing::expect_ok(device.key->sign_digest(digest));
    boost::json::object out;
    out["cert"] = device.cert;
    out["sig"] = core::base64url_encode(sig);
    if (device.key->algorithm() == core::KeyAlgorithm::kEd25519) out["alg"] = "ed25519";
    return out;
  }

  static std::string submit_body(const boost::json::object& prepared,
                                 boost::json::array signatures) {
    boost::json::object body;
    body["tx"] = prepared.at("tx");
    body["signatures"] = std::move(signatures);
    return boost::json::serialize(body);
  }

  // POST /v1/transactions of `prepared` signed by each of `signers`.
  testing::HttpResult submit(const boost::json::object& prepared,
                             std::initializer_list<const Device*> signers) {
    boost::json::array signatures;
    for (const Device* device : signers)
      signatures.push_back(signature(*device, digest_of(prepared)));
    return post("/v1/transactions", submit_body(prepared, std::move(signatures)));
  }
};

}  // namespace medledger::api

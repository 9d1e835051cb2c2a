// Two hospitals on real SoftHSM2 tokens sharing one real LMDB ledger through one
// ConsortiumLedger (solo orderer, proposer = hospital A's node key in its token):
// each has its CA (key in its token, ca::CaDirectory), a provisioned node, and a
// doctor and a patient enrolled with PINs. Hospital B is admitted by A (quorum 1).
#pragma once

#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "medledger/ca/authority.h"
#include "medledger/ca/store.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/verify.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/hospital_node.h"
#include "node_test_support.h"

namespace medledger::node::testing {

inline constexpr const char* kDoctorPin = "4711-doctor";
inline constexpr const char* kPatientPin = "0815-patient";

/// A CA whose key is generated in the token, as `medledger ca init` makes it.
inline void make_token_ca(const std::shared_ptr<hsm::SessionPool>& pool,
                          const std::string& hospital, const std::filesystem::path& dir) {
  hsm::KeyStore keys(pool);
  auto key = expect_ok(keys.generate({"ca-" + hospital, core::KeyAlgorithm::kEcdsaP256}));
  auto signer = expect_ok(keys.signer(key.id));
  ca::CaOptions options;
  options.hospital_id = hospital;
  auto cert =
      expect_ok(ca::CertificateAuthority::self_signed(*signer, options, std::time(nullptr) - 3600));
  (void)expect_ok(
      ca::CaDirectory::create(dir, {hospital, "ca-" + hospital, core::hex_encode(key.id)}, {cert}));
}

class TwoHospitals : public TwoNodeTokens {
 protected:
  void SetUp() override {
    TwoNodeTokens::SetUp();
    root_ = dir_.root() / "hospitals";
    make_token_ca(pool_a_, "hospital-a", root_ / "a-ca");
    make_token_ca(pool_b_, "hospital-b", root_ / "b-ca");
    NodeSetup a = setup("hospital-a", "a-ca");
    NodeSetup b = setup("hospital-b", "b-ca");
    adjust_setup(a);
    auto config_a = expect_ok(HospitalNode::provision(root_ / "a", pool_a_, a));
    (void)expect_ok(HospitalNode::provision(root_ / "b", pool_b_, b));

    auto proposer = expect_ok(HospitalNode::signing_key(config_a, pool_a_));
    auto chain = expect_ok(ca::CaDirectory::open(root_ / "a-ca")).chain();
    auto genesis = founding_genesis("test-consortium", "hospital-a", chain, *proposer, {});
    ledger_ = expect_ok(ConsortiumLedger::create(root_ / "ledger", genesis, std::move(proposer)));

    node_a_ = expect_ok(HospitalNode::open(root_ / "a", pool_a_, *ledger_, options()));
    expect_ok(node_a_->ca().register_node_certificates());
    node_b_ = expect_ok(HospitalNode::open(root_ / "b", pool_b_, *ledger_, options()));
    auto request = expect_ok(node_b_->ca().admission_request());
    (void)expect_ok(node_a_->ca().countersign_admission(request.tx));
    expect_ok(node_b_->ca().register_node_certificates());

    (void)expect_ok(node_a_->persons().enrol({ca::Role::kDoctor, "dr-a", secret(kDoctorPin), {}}));
    (void)expect_ok(
        node_a_->persons().enrol({ca::Role::kPatient, "pat-a", secret(kPatientPin), {}}));
    (void)expect_ok(node_b_->persons().enrol({ca::Role::kDoctor, "dr-b", secret(kDoctorPin), {}}));
  }

  NodeSetup setup(const std::string& hospital, const std::string& ca_dir) {
    NodeSetup s;
    s.hospital_id = hospital;
    s.ca_dir = root_ / ca_dir;
    s.ledger_dir = root_ / "ledger";
    return s;
  }

  virtual void adjust_setup(NodeSetup&) {}
  virtual PinPolicy pin_policy() const { return {}; }

  NodeOptions options() {
    NodeOptions o;
    o.scrypt.log2_n = kMinScryptLogN;  // the cheapest accepted cost: tests run many PIN checks
    o.pin_policy = pin_policy();
    o.on_refused_read = [this](const RefusedRead& r) { refused_.push_back(r); };
    return o;
  }

  RecordPutRequest fhir(const std::string& record,
                        const std::string& text = R"({"resourceType":"Observation"})") {
    return {record, "hospital-a/dr-a", "hospital-a/pat-a", "application/fhir+json",
            core::to_bytes(text)};
  }

  ReadRequest read_at_b(const std::string& record) {
    return {record, std::nullopt, "hospital-b/dr-b", "second opinion"};
  }
  ReadRequest read_at_a(const std::string& record) {
    return {record, std::nullopt, "hospital-a/dr-a", "follow-up"};
  }

  std::uint64_t log_size() { return expect_ok(ledger_->ledger().tip()).block.header.log_size; }

  void expect_verify_clean() {
    ledger::RecordsContract fresh;
    auto report = ledger::verify_ledger(ledger_->ledger(), fresh);
    ASSERT_TRUE(report) << report.error().to_string();
  }

  std::filesystem::path root_;
  std::unique_ptr<ConsortiumLedger> ledger_;
  std::unique_ptr<HospitalNode> node_a_;
  std::unique_ptr<HospitalNode> node_b_;
  std::vector<RefusedRead> refused_;
};

}  // namespace medledger::node::testing

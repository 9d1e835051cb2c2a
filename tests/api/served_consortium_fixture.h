// The tests/node two-hospital fixture handed to a real `medledger serve` process:
// the fixture provisions both hospitals (two SoftHSM2 tokens, one ledger), then
// closes its own ledger and nodes so the binary can open them; the helpers write
// the serve configuration ([[hospital]] tables, token PINs from an environment
// variable, never in the file).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "../node/hospital_node_fixture.h"
#include "api_test_support.h"

namespace medledger::api::testing {

// The variable the configurations name as `token_pin = "env:..."`.
inline constexpr const char* kServedTokenPinVariable = "MEDLEDGER_SERVED_CONSORTIUM_TEST_PIN";

class ServedConsortium : public node::testing::TwoHospitals {
 protected:
  void SetUp() override {
    TwoHospitals::SetUp();
    pki_ = Pki::create();
    // The binary opens the ledger and the nodes itself: close the fixture's.
    node_a_.reset();
    node_b_.reset();
    ledger_.reset();
    ASSERT_EQ(setenv(kServedTokenPinVariable, node::testing::kUserPin, 1), 0);
  }

  /// [listen] on an ephemeral loopback port, [tls] with the test PKI's server
  /// certificate (plus `extra_tls` lines), [log] to log_path().
  std::string head(const std::string& extra_tls = "") const {
    return head_logging_to(log_path(), extra_tls);
  }
  /// head(), logging to `log` (several serve processes, or one started again).
  std::string head_logging_to(const std::filesystem::path& log, const std::string& extra_tls = "",
                              int port = 0) const {
    return "[listen]\naddress = \"127.0.0.1\"\nport = " + std::to_string(port) +
           "\n[tls]\ncertificate = \"" + pki_->server_chain.string() + "\"\nprivate_key = \"" +
           pki_->server_key.string() + "\"\n" + extra_tls + "[log]\nlevel = \"info\"\nfile = \"" +
           log.string() + "\"\n";
  }
  /// One [[hospital]] table: the node in `dir`, its token by label.
  static std::string hospital(const std::filesystem::path& dir, const std::string& label) {
    return "[[hospital]]\ndata_dir = \"" + dir.string() + "\"\ntoken_label = \"" + label +
           "\"\ntoken_pin = \"env:" + kServedTokenPinVariable + "\"\n";
  }
  std::filesystem::path log_path() const { return root_ / "serve.jsonl"; }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream(root_ / name) << text;
    return root_ / name;
  }

  std::unique_ptr<Pki> pki_;
};

/// ServedConsortium whose ledger is founded again with BOTH nodes' signing keys as
/// proposers, so that each hospital can run its own `serve` on its own replica
/// (a replica's node must be a proposer). Hospital B is admitted by A and both
/// nodes' certificates are registered, as in TwoHospitals; nobody is enrolled on
/// it (TwoHospitals' persons are left in the node directories only).
class ServedReplicas : public ServedConsortium {
 protected:
  void SetUp() override {
    ServedConsortium::SetUp();
    if (HasFatalFailure()) return;
    using node::testing::expect_ok;
    std::filesystem::remove_all(root_ / "ledger");
    // provision() is idempotent: it returns the node's configuration.
    auto config_a =
        expect_ok(node::HospitalNode::provision(root_ / "a", pool_a_, setup("hospital-a", "a-ca")));
    auto config_b =
        expect_ok(node::HospitalNode::provision(root_ / "b", pool_b_, setup("hospital-b", "b-ca")));
    auto proposer_a = expect_ok(node::HospitalNode::signing_key(config_a, pool_a_));
    auto proposer_b = expect_ok(node::HospitalNode::signing_key(config_b, pool_b_));
    auto chain = expect_ok(ca::CaDirectory::open(root_ / "a-ca")).chain();
    std::vector<const core::Signer*> other_proposers;
    if (admit_b_) other_proposers.push_back(proposer_b.get());
    auto genesis = node::founding_genesis("test-consortium", "hospital-a", chain, *proposer_a,
                                          other_proposers);
    auto ledger =
        expect_ok(node::ConsortiumLedger::create(root_ / "ledger", genesis, std::move(proposer_a)));
    auto a = expect_ok(node::HospitalNode::open(root_ / "a", pool_a_, *ledger, options()));
    expect_ok(a->ca().register_node_certificates());
    if (!admit_b_) return;  // B joins the live consortium itself
    auto b = expect_ok(node::HospitalNode::open(root_ / "b", pool_b_, *ledger, options()));
    auto request = expect_ok(b->ca().admission_request());
    (void)expect_ok(a->ca().countersign_admission(request.tx));
    expect_ok(b->ca().register_node_certificates());
  }

  /// false (set before SetUp): B is neither a genesis proposer nor admitted.
  bool admit_b_ = true;
};

}  // namespace medledger::api::testing

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
    return "[listen]\naddress = \"127.0.0.1\"\nport = 0\n[tls]\ncertificate = \"" +
           pki_->server_chain.string() + "\"\nprivate_key = \"" + pki_->server_key.string() +
           "\"\n" + extra_tls + "[log]\nlevel = \"info\"\nfile = \"" + log_path().string() + "\"\n";
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

}  // namespace medledger::api::testing

// The node routes' test fixture: a real server in process fronting real
// HospitalNodes (SoftHSM2 tokens, token CAs, one LMDB ledger; tests/node fixture),
// called with curl and client certificates of the api test PKI (hospital-a's
// clients, and kForeignNode for hospital-b). The api log goes to log_file_ (JSON
// lines, debug level) so that tests can check what is never logged.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "../../api/src/node_route_errors.h"
#include "../node/hospital_node_fixture.h"
#include "api_test_support.h"
#include "medledger/api/client_auth.h"
#include "medledger/api/logging.h"
#include "medledger/api/node_routes.h"
#include "medledger/api/tls.h"
#include "medledger/core/bytes.h"

namespace medledger::api {

using testing::kAuditor;
using testing::kForeignNode;
using testing::kNode;

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline boost::json::object json_of(const testing::HttpResult& result) {
  auto value = boost::json::parse(result.body);
  EXPECT_TRUE(value.is_object()) << result.body;
  return value.is_object() ? value.as_object() : boost::json::object();
}

inline std::string error_code_of(const testing::HttpResult& result) {
  auto body = json_of(result);
  if (!body.contains("error")) return "(no error) " + result.body;
  return std::string(body.at("error").at("code").as_string());
}

struct Command {
  int exit = -1;
  std::string output;
};

// Runs a shell command (the openssl CLI), stdout and stderr together.
inline Command run(const std::string& command) {
  Command result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class NodeRoutes : public node::testing::TwoHospitals {
 protected:
  void SetUp() override {
    TwoHospitals::SetUp();
    pki_ = testing::Pki::create();
    log_file_ = root_ / "api.jsonl";
  }

  // A server whose node routes front `node` alone (null: infrastructure-only).
  void serve(node::HospitalNode* node, const std::shared_ptr<hsm::SessionPool>& pool) {
    if (node == nullptr) return start(nullptr);
    auto binding = std::make_shared<NodeBinding>();
    ASSERT_TRUE(binding
                    ->host(node, node::testing::expect_ok(
                                     node::HospitalNode::signing_key(node->config(), pool)))
                    .ok());
    start(binding);
  }

  // One server hosting both hospitals' nodes (a single-machine consortium).
  void serve_both() {
    auto binding = std::make_shared<NodeBinding>();
    ASSERT_TRUE(binding
                    ->host(node_a_.get(), node::testing::expect_ok(node::HospitalNode::signing_key(
                                              node_a_->config(), pool_a_)))
                    .ok());
    ASSERT_TRUE(binding
                    ->host(node_b_.get(), node::testing::expect_ok(node::HospitalNode::signing_key(
                                              node_b_->config(), pool_b_)))
                    .ok());
    start(binding);
  }

  // Trusts the clients of both hospitals of the api PKI (hospital-b's: kForeignNode).
  void start(std::shared_ptr<NodeBinding> binding) {
    ServerConfig config = testing::test_config(*pki_);
    config.log.level = "debug";
    config.log.file = log_file_;
    ASSERT_TRUE(configure_logging(config.log).ok());
    auto trust = node::testing::expect_ok(
        trust_snapshot_from_pem(read_file(pki_->ca_pem) + read_file(pki_->foreign_ca_pem),
                                {read_file(pki_->crl_pem), read_file(pki_->foreign_crl_pem)}, 1));
    auto metrics = std::make_shared<MetricsRegistry>();
    describe_standard_metrics(*metrics);
    auto router = std::make_shared<Router>();
    ASSERT_TRUE(add_appliance_routes(*router, {{}, metrics}, binding).ok());
    ServerParts parts;
    parts.tls = node::testing::expect_ok(make_tls_context(
        config.tls.certificate, std::make_shared<PemFileTlsKey>(config.tls.private_key)));
    parts.router = router;
    parts.authenticator = std::make_shared<ChainValidatingAuthenticator>([trust] { return trust; });
    parts.metrics = metrics;
    server_ = node::testing::expect_ok(Server::start(config, std::move(parts)));
  }

  // POSTs `body` from a file (so that PINs stay off curl's argv).
  testing::HttpResult post(const std::string& path, const std::string& body,
                           const std::string& client = kNode) {
    auto file = root_ / ("body-" + std::to_string(++bodies_) + ".json");
    std::ofstream(file) << body;
    return checked(
        "POST", path,
        testing::curl(*pki_, server_->port(), path, client,
                      "-H 'Content-Type: application/json' --data-binary @" + file.string()));
  }
  testing::HttpResult get(const std::string& path, const std::string& client = kNode) {
    return checked("GET", path, testing::curl(*pki_, server_->port(), path, client));
  }

  // Every error a node route answers must be one docs/api.md lists for it ("Errors by
  // route", api/src/node_route_errors.cpp).
  static testing::HttpResult checked(const std::string& method, const std::string& path,
                                     testing::HttpResult result) {
    if (result.status < 400) return result;
    auto operation = node_route_operation(method, path.substr(0, path.find('?')));
    auto body = boost::json::parse(result.body);
    const auto* error = body.is_object() ? body.as_object().if_contains("error") : nullptr;
    if (!operation || error == nullptr) return result;
    const std::string name(error->at("code").as_string());
    auto code = core::error_code_named(name);
    EXPECT_TRUE(code && node_routes::route_may_answer(*operation, *code))
        << *operation << " answered " << name
        << ", which docs/api.md (Errors by route) does not list for it";
    return result;
  }

  // "POST /v1/persons/{id}/sign" for POST /v1/persons/dr-a/sign; nullopt off the table.
  static std::optional<std::string> node_route_operation(const std::string& method,
                                                         const std::string& path) {
    auto segments = [](std::string_view text) {
      std::vector<std::string_view> out;
      for (std::size_t at = 1; at <= text.size();) {
        auto end = std::min(text.find('/', at), text.size());
        out.push_back(text.substr(at, end - at));
        at = end + 1;
      }
      return out;
    };
    const auto parts = segments(path);
    for (const auto& row : node_routes::node_route_errors()) {
      const auto space = row.operation.find(' ');
      if (row.operation.substr(0, space) != method) continue;
      const auto pattern = segments(row.operation.substr(space + 1));
      if (pattern.size() != parts.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < parts.size() && same; ++i)
        same = pattern[i] == parts[i] || (pattern[i].starts_with("{") && !parts[i].empty());
      if (same) return std::string(row.operation);
    }
    return std::nullopt;
  }

  std::string store_body(const std::string& record,
                         const std::string& doctor_pin = node::testing::kDoctorPin) {
    boost::json::object body;
    body["record_id"] = record;
    body["doctor"] = "hospital-a/dr-a";
    body["patient"] = "hospital-a/pat-a";
    body["payload"] = core::base64url_encode(core::to_bytes(kPayload));
    body["doctor_pin"] = doctor_pin;
    body["patient_pin"] = node::testing::kPatientPin;
    return boost::json::serialize(body);
  }
  static std::string read_body(const std::string& doctor,
                               const std::string& pin = node::testing::kDoctorPin) {
    boost::json::object body;
    body["doctor"] = doctor;
    body["doctor_pin"] = pin;
    body["purpose"] = "follow-up";
    return boost::json::serialize(body);
  }

  static constexpr const char* kPayload = R"({"resourceType":"Observation","id":"bp-1"})";
  std::unique_ptr<testing::Pki> pki_;
  std::unique_ptr<Server> server_;
  std::filesystem::path log_file_;
  int bodies_ = 0;
};

}  // namespace medledger::api

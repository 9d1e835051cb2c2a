// Helpers for the api tests: a PKI made with the ca library (a hospital CA with
// a node server certificate and client certificates of every role, a revoked
// one, one from a foreign CA), a real server on an ephemeral loopback port, and
// real TLS clients: curl (most tests) and a raw OpenSSL socket (slow clients).
#pragma once

#include "temp_dir.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "medledger/api/builtin_routes.h"
#include "medledger/api/config.h"
#include "medledger/api/metrics.h"
#include "medledger/api/server.h"
#include "medledger/core/software_signer.h"

namespace medledger::api::testing {

using medledger::testing::TempDir;  // tests/support/temp_dir.h

/// Client certificates the PKI holds (file stems under Pki::dir).
inline constexpr const char* kAdmin = "admin-1";
inline constexpr const char* kDoctor = "dr-1";
inline constexpr const char* kPatient = "pt-1";
inline constexpr const char* kAuditor = "auditor-1";
inline constexpr const char* kNode = "node-2";
inline constexpr const char* kRevokedDoctor = "dr-revoked";
inline constexpr const char* kForeignDoctor = "dr-foreign";  // issued by hospital-b's CA
inline constexpr const char* kForeignNode = "node-b";        // role node, issued by hospital-b's CA

struct Pki {
  TempDir dir;
  std::filesystem::path ca_pem;   // hospital-a CA certificate
  std::filesystem::path crl_pem;  // revokes kRevokedDoctor
  std::filesystem::path
      foreign_ca_pem;  // hospital-b CA certificate (start_server does not trust it)
  std::filesystem::path foreign_crl_pem;  // an empty CRL of hospital-b's CA
  std::filesystem::path server_chain;     // node-1 (SAN IP:127.0.0.1, DNS:localhost), then the CA
  std::filesystem::path server_key;
  std::shared_ptr<core::SoftwareSigner> server_signer;  // the server key as a Signer
  std::filesystem::path cert(const std::string& client) const {
    return dir.path() / (client + ".pem");
  }
  std::filesystem::path key(const std::string& client) const {
    return dir.path() / (client + ".key");
  }

  /// Builds everything (a few ms of ECDSA).
  static std::unique_ptr<Pki> create();
};

/// A config that passes validation, with the PKI's files and an ephemeral port;
/// short timeouts so that tests stay fast.
ServerConfig test_config(const Pki& pki);

/// A running server with the appliance routes plus whatever `extra_routes` adds.
struct TestServer {
  std::shared_ptr<MetricsRegistry> metrics;
  std::unique_ptr<Server> server;
  std::uint16_t port() const { return server->port(); }
};

struct TestServerOptions {
  std::function<void(ServerConfig&)> tweak_config;
  std::function<void(Router&)> extra_routes;
  HealthProbes probes;
  std::function<void()> on_drain;
  bool handle_signals = false;
  bool signer_tls_key = false;  // the TLS key through core::Signer instead of the PEM file
};
std::unique_ptr<TestServer> start_server(const Pki& pki, TestServerOptions options = {});

struct HttpResult {
  int curl_exit = -1;  // 0: a response arrived; 7: connection refused; 35/56: TLS failures
  int status = 0;
  std::string body;
};
/// Runs curl against https://127.0.0.1:port (trusting the PKI's CA) with the
/// client certificate `client` (none if empty) and any extra curl arguments.
HttpResult curl(const Pki& pki, std::uint16_t port, const std::string& path,
                const std::string& client = "", const std::string& extra_args = "");

/// A TLS client on a raw OpenSSL socket, for what curl cannot do (half requests).
class RawTlsClient {
 public:
  RawTlsClient() = default;
  ~RawTlsClient();
  RawTlsClient(const RawTlsClient&) = delete;
  RawTlsClient& operator=(const RawTlsClient&) = delete;

  /// TCP connect + TLS handshake, with an optional client certificate. False on
  /// failure. `max_tls_version` (e.g. TLS1_1_VERSION) caps the client's protocol and
  /// lowers its own security level, so that only the server's policy can refuse.
  bool connect(const Pki& pki, std::uint16_t port, const std::string& client = "",
               int max_tls_version = 0);
  /// Writes bytes; false once the server has closed.
  bool send(const std::string& bytes);
  /// True if the server closed the connection (EOF or error) within `timeout_ms`.
  bool closed_within(int timeout_ms);
  /// Reads until the server closes or `timeout_ms`; returns what arrived.
  std::string read_all(int timeout_ms);

 private:
  int fd_ = -1;
  bool closed_ = false;
  void* ctx_ = nullptr;  // SSL_CTX*
  void* ssl_ = nullptr;  // SSL*
};

}  // namespace medledger::api::testing

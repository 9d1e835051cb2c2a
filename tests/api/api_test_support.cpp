#include "api_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "medledger/api/client_auth.h"
#include "medledger/api/logging.h"
#include "medledger/api/tls.h"
#include "medledger/ca/authority.h"

namespace medledger::api::testing {

namespace {
namespace fs = std::filesystem;

// Certificates start a little in the past so that clock skew cannot make them "not yet valid".
constexpr std::time_t kBackdateSeconds = 300;

template <typename T>
T expect_ok(core::Result<T> result, const char* what) {
  if (!result) {
    ADD_FAILURE() << what << ": " << result.error().to_string();
    std::abort();
  }
  return std::move(*result);
}

std::string private_key_pem(EVP_PKEY* key) {
  core::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

core::Bytes spki_of(EVP_PKEY* key) {
  int size = i2d_PUBKEY(key, nullptr);
  core::Bytes der(static_cast<std::size_t>(size));
  unsigned char* out = der.data();
  i2d_PUBKEY(key, &out);
  return der;
}

ca::IssueRequest issue_request(ca::Role role, const std::string& id) {
  ca::IssueRequest request;
  request.role = role;
  request.subject_id = id;
  return request;
}

ca::CaOptions ca_options(const std::string& hospital) {
  ca::CaOptions options;
  options.hospital_id = hospital;
  return options;
}

// A CSR for the node's TLS certificate with the SANs curl checks.
ca::CertificateRequest server_csr(EVP_PKEY* key) {
  ca::X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("node-1"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("node"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("hospital-a"), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key);
  STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  sk_X509_EXTENSION_push(extensions, san);
  X509_REQ_add_extensions(req.get(), extensions);
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  X509_REQ_sign(req.get(), key, EVP_sha256());
  return ca::CertificateRequest::adopt(std::move(req));
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}
}  // namespace

std::unique_ptr<Pki> Pki::create() {
  auto pki = std::make_unique<Pki>();
  const std::time_t now = std::time(nullptr) - kBackdateSeconds;

  auto ca_signer =
      expect_ok(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256), "CA key");
  auto ca_cert = expect_ok(
      ca::CertificateAuthority::self_signed(*ca_signer, ca_options("hospital-a"), now), "CA");
  auto authority = expect_ok(ca::CertificateAuthority::open(*ca_signer, ca_cert, {}), "open CA");
  pki->ca_pem = pki->dir.write("ca.pem", ca_cert.to_pem());

  // The server key: one key, as a PEM file and as a Signer.
  auto server_signer =
      expect_ok(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256), "server key");
  auto server_pem = server_signer->private_key_pem();
  std::string server_key_pem(reinterpret_cast<const char*>(server_pem.data()), server_pem.size());
  pki->server_key = pki->dir.write("server.key", server_key_pem);
  core::BioPtr bio(BIO_new_mem_buf(server_key_pem.data(), static_cast<int>(server_key_pem.size())));
  core::EvpPkeyPtr server_key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  auto server_cert = expect_ok(
      authority.issue(server_csr(server_key.get()), issue_request(ca::Role::kNode, "node-1"), now),
      "server certificate");
  pki->server_chain = pki->dir.write("server-chain.pem", server_cert.to_pem() + ca_cert.to_pem());
  pki->server_signer = std::move(server_signer);

  auto issue_client = [&](ca::CertificateAuthority& issuer, ca::Role role, const std::string& id) {
    core::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    auto cert = expect_ok(issuer.issue_for_key(spki_of(key.get()), issue_request(role, id), now),
                          "client certificate");
    pki->dir.write(id + ".pem", cert.to_pem());
    pki->dir.write(id + ".key", private_key_pem(key.get()));
    return cert;
  };
  issue_client(authority, ca::Role::kAdmin, kAdmin);
  issue_client(authority, ca::Role::kDoctor, kDoctor);
  issue_client(authority, ca::Role::kPatient, kPatient);
  issue_client(authority, ca::Role::kAuditor, kAuditor);
  issue_client(authority, ca::Role::kNode, kNode);
  auto revoked = issue_client(authority, ca::Role::kDoctor, kRevokedDoctor);

  ca::RevokedEntry entry;
  entry.serial_hex = revoked.serial_hex();
  entry.revoked_at = now;
  entry.reason = ca::RevocationReason::kKeyCompromise;
  auto crl = expect_ok(authority.make_crl({entry}, 1, now, 7), "CRL");
  pki->crl_pem = pki->dir.write("crl.pem", crl.to_pem());

  auto foreign_signer =
      expect_ok(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256), "foreign CA key");
  auto foreign_cert = expect_ok(
      ca::CertificateAuthority::self_signed(*foreign_signer, ca_options("hospital-b"), now),
      "foreign CA");
  auto foreign = expect_ok(ca::CertificateAuthority::open(*foreign_signer, foreign_cert, {}),
                           "open foreign CA");
  issue_client(foreign, ca::Role::kDoctor, kForeignDoctor);
  issue_client(foreign, ca::Role::kNode, kForeignNode);
  pki->foreign_ca_pem = pki->dir.write("foreign-ca.pem", foreign_cert.to_pem());
  pki->foreign_crl_pem = pki->dir.write(
      "foreign-crl.pem", expect_ok(foreign.make_crl({}, 1, now, 7), "foreign CRL").to_pem());
  return pki;
}

ServerConfig test_config(const Pki& pki) {
  ServerConfig config;
  config.listen.address = "127.0.0.1";
  config.listen.port = 0;
  config.tls.certificate = pki.server_chain;
  config.tls.private_key = pki.server_key;
  config.tls.client_ca = pki.ca_pem;
  config.tls.client_crls = {pki.crl_pem};
  config.limits.max_body_bytes = 64 * 1024;
  config.limits.max_connections = 64;
  config.limits.handshake_timeout = std::chrono::milliseconds(3000);
  config.limits.header_timeout = std::chrono::milliseconds(3000);
  config.limits.body_timeout = std::chrono::milliseconds(3000);
  config.limits.idle_timeout = std::chrono::milliseconds(3000);
  config.limits.write_timeout = std::chrono::milliseconds(3000);
  config.limits.shutdown_grace = std::chrono::milliseconds(5000);
  config.threads.io = 2;
  config.threads.handlers = 4;
  config.log.level = std::getenv("MEDLEDGER_TEST_LOG") ? std::getenv("MEDLEDGER_TEST_LOG") : "warn";
  return config;
}

std::unique_ptr<TestServer> start_server(const Pki& pki, TestServerOptions options) {
  ServerConfig config = test_config(pki);
  if (options.tweak_config) options.tweak_config(config);
  EXPECT_TRUE(configure_logging(config.log).ok());

  std::ifstream ca_in(pki.ca_pem), crl_in(pki.crl_pem);
  std::string ca_text((std::istreambuf_iterator<char>(ca_in)), std::istreambuf_iterator<char>());
  std::string crl_text((std::istreambuf_iterator<char>(crl_in)), std::istreambuf_iterator<char>());
  auto trust = expect_ok(trust_snapshot_from_pem(ca_text, {crl_text}, 1), "trust");

  std::shared_ptr<const TlsKeySource> key;
  if (options.signer_tls_key)
    key = std::make_shared<SignerTlsKey>(pki.server_signer);
  else
    key = std::make_shared<PemFileTlsKey>(config.tls.private_key);

  auto server = std::make_unique<TestServer>();
  server->metrics = std::make_shared<MetricsRegistry>();
  describe_standard_metrics(*server->metrics);
  auto router = std::make_shared<Router>();
  EXPECT_TRUE(add_appliance_routes(*router, {options.probes, server->metrics}).ok());
  if (options.extra_routes) options.extra_routes(*router);

  ServerParts parts;
  parts.tls = expect_ok(make_tls_context(config.tls.certificate, key), "TLS context");
  parts.router = router;
  parts.authenticator = std::make_shared<ChainValidatingAuthenticator>([trust] { return trust; });
  parts.metrics = server->metrics;
  parts.on_drain = options.on_drain;
  parts.handle_signals = options.handle_signals;
  server->server = expect_ok(Server::start(config, std::move(parts)), "server start");
  return server;
}

HttpResult curl(const Pki& pki, std::uint16_t port, const std::string& path,
                const std::string& client, const std::string& extra_args) {
  std::string command = "curl -sS --max-time 15 --cacert " + shell_quote(pki.ca_pem.string()) +
                        " -w '\\n%{http_code}' ";
  if (!client.empty()) {
    command += "--cert " + shell_quote(pki.cert(client).string()) + " --key " +
               shell_quote(pki.key(client).string()) + " ";
  }
  command += extra_args + " " + shell_quote("https://127.0.0.1:" + std::to_string(port) + path) +
             " 2>/dev/null";
  HttpResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::string output;
  std::array<char, 4096> buffer;
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = pclose(pipe);
  result.curl_exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto newline = output.rfind('\n');
  if (newline != std::string::npos) {
    result.body = output.substr(0, newline);
    result.status = std::atoi(output.c_str() + newline + 1);
  }
  return result;
}

RawTlsClient::~RawTlsClient() {
  if (ssl_ != nullptr) SSL_free(static_cast<SSL*>(ssl_));
  if (ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  if (fd_ >= 0) close(fd_);
}

bool RawTlsClient::connect(const Pki& pki, std::uint16_t port, const std::string& client,
                           int max_tls_version) {
  // Writing to a connection the server closed must fail, not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return false;
  auto* ctx = SSL_CTX_new(TLS_client_method());
  ctx_ = ctx;
  SSL_CTX_load_verify_locations(ctx, pki.ca_pem.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (max_tls_version != 0) {
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, 0);
    SSL_CTX_set_max_proto_version(ctx, max_tls_version);
    SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
  }
  if (!client.empty()) {
    SSL_CTX_use_certificate_file(ctx, pki.cert(client).c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, pki.key(client).c_str(), SSL_FILETYPE_PEM);
  }
  auto* ssl = SSL_new(ctx);
  ssl_ = ssl;
  SSL_set_fd(ssl, fd_);
  SSL_set1_host(ssl, "127.0.0.1");
  return SSL_connect(ssl) == 1;
}

bool RawTlsClient::send(const std::string& bytes) {
  return SSL_write(static_cast<SSL*>(ssl_), bytes.data(), static_cast<int>(bytes.size())) > 0;
}

bool RawTlsClient::closed_within(int timeout_ms) {
  (void)read_all(timeout_ms);
  return closed_;
}

std::string RawTlsClient::read_all(int timeout_ms) {
  std::string out;
  auto* ssl = static_cast<SSL*>(ssl_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (SSL_pending(ssl) == 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) == 0) return out;
    }
    char buffer[4096];
    int n = SSL_read(ssl, buffer, sizeof buffer);
    if (n <= 0) {
      int error = SSL_get_error(ssl, n);
      if (error == SSL_ERROR_WANT_READ) continue;  // a TLS 1.3 ticket or partial record
      closed_ = true;
      return out;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace medledger::api::testing

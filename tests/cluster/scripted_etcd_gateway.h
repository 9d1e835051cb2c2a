// A scripted etcd JSON gateway for cluster::EtcdClient: a TLS server on 127.0.0.1 (free
// port, self-signed certificate for that IP) that answers every request, on one
// keep-alive connection at a time, with the status and body it was last given. For
// answers a real etcd never sends: tests/cluster/etcd_client_answers_test.cpp and
// fuzz/etcd_gateway_fuzzer.cpp. Header-only, no GoogleTest: the fuzz build has no tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace medledger::cluster::testing {

// A self-signed certificate for IP 127.0.0.1: the server's, and the client's trust.
struct ServerIdentity {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

inline ServerIdentity make_identity() {
  ServerIdentity id;
  id.key = EVP_EC_gen("P-256");
  id.cert = X509_new();
  X509_set_version(id.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(id.cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(id.cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(id.cert), 30L * 24 * 3600);
  X509_set_pubkey(id.cert, id.key);
  X509_NAME* name = X509_get_subject_name(id.cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("scripted-etcd"), -1, -1, 0);
  X509_set_issuer_name(id.cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, id.cert, id.cert, nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_key_usage, "critical,digitalSignature,keyCertSign"},
      {NID_subject_alt_name, "IP:127.0.0.1"}};
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) std::abort();
    X509_add_ext(id.cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(id.cert, id.key, EVP_sha256()) == 0) std::abort();
  return id;
}

class ScriptedGateway {
 public:
  /// Listens at once; `ca_file` receives the certificate to trust (EtcdConfig::ca_file).
  explicit ScriptedGateway(const std::filesystem::path& ca_file) {
    const ServerIdentity id = make_identity();
    FILE* out = std::fopen(ca_file.c_str(), "w");
    if (out == nullptr || PEM_write_X509(out, id.cert) != 1) std::abort();
    std::fclose(out);
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate(ctx_, id.cert) != 1 || SSL_CTX_use_PrivateKey(ctx_, id.key) != 1)
      std::abort();
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 8) != 0)
      std::abort();
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
    X509_free(id.cert);
    EVP_PKEY_free(id.key);
  }
  ~ScriptedGateway() {
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept
    const int connection = connection_.load();
    if (connection >= 0) ::shutdown(connection, SHUT_RDWR);  // wakes a blocked read
    thread_.join();
    ::close(listener_);
    SSL_CTX_free(ctx_);
  }
  ScriptedGateway(const ScriptedGateway&) = delete;
  ScriptedGateway& operator=(const ScriptedGateway&) = delete;

  std::string endpoint() const { return "https://127.0.0.1:" + std::to_string(port_); }

  std::uint16_t port() const { return port_; }

  /// What the next request is answered with.
  void script(int status, std::string body) {
    std::lock_guard lock(mutex_);
    status_ = status;
    body_ = std::move(body);
  }

 private:
  void serve() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      connection_ = fd;
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) serve_requests(ssl);
      SSL_free(ssl);
      connection_ = -1;
      ::close(fd);
      ERR_clear_error();
    }
  }

  // Reads each request (head, then Content-Length bytes of body) and answers it.
  void serve_requests(SSL* ssl) {
    std::string pending;
    auto fill = [&]() {
      char buffer[16384];
      const int n = SSL_read(ssl, buffer, sizeof buffer);
      if (n <= 0) return false;
      pending.append(buffer, static_cast<std::size_t>(n));
      return true;
    };
    for (;;) {
      std::size_t end;
      while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        if (!fill()) return;
      }
      std::size_t length = 0;
      const auto at = pending.find("Content-Length: ");
      if (at != std::string::npos && at < end)
        length = std::stoul(pending.substr(at + 16, end - at - 16));
      while (pending.size() < end + 4 + length) {
        if (!fill()) return;
      }
      pending.erase(0, end + 4 + length);
      std::string answer;
      {
        std::lock_guard lock(mutex_);
        answer = "HTTP/1.1 " + std::to_string(status_) +
                 " Scripted\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(body_.size()) + "\r\n\r\n" + body_;
      }
      if (SSL_write(ssl, answer.data(), static_cast<int>(answer.size())) <= 0) return;
    }
  }

  SSL_CTX* ctx_ = nullptr;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> connection_{-1};
  std::mutex mutex_;
  int status_ = 200;
  std::string body_;
};

}  // namespace medledger::cluster::testing

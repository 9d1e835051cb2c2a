// The server's TLS configuration (OpenSSL 3, no Beast types): protocol floor,
// cipher suites, certificate chain, where the private key comes from, and
// client-certificate requests.
//
// Policy: TLS 1.2 minimum, TLS 1.3 preferred; AEAD ECDHE suites only; no
// renegotiation, no compression, no session resumption (each connection's client
// certificate is authenticated afresh against the current trust). A client
// certificate is requested on every connection but not required by TLS: the
// router refuses routes that need one (401 CLIENT_CERTIFICATE_REQUIRED), so that
// /healthz works without one.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"

namespace medledger::api {

/// Where the TLS private key comes from. Installs it into an SSL_CTX whose
/// certificate is already set (so OpenSSL can check the pair).
class TlsKeySource {
 public:
  virtual ~TlsKeySource() = default;
  /// SSL_CTX_use_PrivateKey with this source's key. kConfigInvalid / kCryptoError.
  virtual core::Result<void> install(SSL_CTX* context) const = 0;
  /// "pem file /etc/medledger/tls.key" or "signer (ecdsa-p256)": never key material.
  virtual std::string describe() const = 0;
};

/// A PEM private key file (tests, and deployments that accept a key on disk).
class PemFileTlsKey final : public TlsKeySource {
 public:
  explicit PemFileTlsKey(std::filesystem::path path) : path_(std::move(path)) {}
  core::Result<void> install(SSL_CTX* context) const override;
  std::string describe() const override;

 private:
  std::filesystem::path path_;
};

/// A key that never leaves a core::Signer (hsm::TokenSigner in production): each
/// TLS handshake signature is one Signer::sign_digest over a SHA-256 digest,
/// through an OpenSSL EC_KEY_METHOD. ECDSA P-256 only (kUnsupportedAlgorithm
/// otherwise); the server then signs handshakes with ecdsa_secp256r1_sha256 only.
/// The handshake blocks its I/O thread for the signer's round trip.
class SignerTlsKey final : public TlsKeySource {
 public:
  explicit SignerTlsKey(std::shared_ptr<core::Signer> signer) : signer_(std::move(signer)) {}
  core::Result<void> install(SSL_CTX* context) const override;
  std::string describe() const override;

 private:
  std::shared_ptr<core::Signer> signer_;
};

/// A configured server SSL_CTX (shared ownership; keeps its key source alive).
class TlsContext {
 public:
  /// The SSL_CTX with one more reference taken for the caller (who must SSL_CTX_free it).
  SSL_CTX* acquire() const;
  /// "serial <hex>, not after <YYYY-MM-DDTHH:MM:SSZ>" of the leaf certificate: what a
  /// reload log line says was put in force.
  std::string leaf_summary() const;
  /// kConfigInvalid if the leaf certificate is expired or not yet valid now.
  core::Result<void> leaf_valid_now() const;

 private:
  friend core::Result<TlsContext> make_tls_context(const std::filesystem::path&,
                                                   std::shared_ptr<const TlsKeySource>);
  std::shared_ptr<SSL_CTX> context_;
  std::shared_ptr<const TlsKeySource> key_;
};

/// Builds the server context: `certificate_chain` is a PEM file with the server
/// certificate first, then its issuers. kConfigInvalid if the file is unreadable
/// or the key does not match the certificate; kCryptoError if OpenSSL refuses the policy.
core::Result<TlsContext> make_tls_context(const std::filesystem::path& certificate_chain,
                                          std::shared_ptr<const TlsKeySource> key);

/// The client's certificate chain as DER, leaf first (empty if none was sent).
std::vector<core::Bytes> peer_certificate_chain(SSL* connection);

}  // namespace medledger::api

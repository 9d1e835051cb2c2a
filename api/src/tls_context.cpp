#include "medledger/api/tls.h"

#include <ctime>
#include <optional>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "medledger/ca/certificate.h"
#include "medledger/core/openssl.h"

namespace medledger::api {

namespace {
using core::ErrorCode;

// TLS 1.2 suites: forward-secret AEAD only (the server key is ECDSA P-256).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";
constexpr const char* kTls13Ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";
// What we accept in a client's CertificateVerify: the key types the CA issues
// (P-256, Ed25519) plus common ones a foreign CA might use, so that such a client
// fails with a clear authentication error rather than a handshake alert.
constexpr const char* kClientSignatureAlgorithms =
    "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:RSA+"
    "SHA256";

// The handshake accepts any client certificate: authentication against the current
// trust (which can change while the server runs) is the ClientAuthenticator's job.
int accept_any_client_certificate(int /*preverify_ok*/, X509_STORE_CTX* /*store*/) { return 1; }

core::Error tls_error(ErrorCode code, const std::string& what) {
  return core::openssl_error(code, what);
}

core::Result<void> apply_policy(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
    return tls_error(ErrorCode::kCryptoError, "TLS 1.2 minimum");
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
    return tls_error(ErrorCode::kCryptoError, "TLS 1.2 ciphers");
  if (SSL_CTX_set_ciphersuites(ctx, kTls13Ciphersuites) != 1)
    return tls_error(ErrorCode::kCryptoError, "TLS 1.3 suites");
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1)
    return tls_error(ErrorCode::kCryptoError, "groups");
  if (SSL_CTX_set1_client_sigalgs_list(ctx, kClientSignatureAlgorithms) != 1) {
    return tls_error(ErrorCode::kCryptoError, "client signature algorithms");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
  // No resumption: every connection presents its certificate and is authenticated afresh.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, accept_any_client_certificate);
  return core::success();
}
}  // namespace

core::Result<void> PemFileTlsKey::install(SSL_CTX* context) const {
  core::BioPtr bio(BIO_new_file(path_.c_str(), "r"));
  if (!bio)
    return tls_error(ErrorCode::kConfigInvalid, "tls.private_key: cannot read " + path_.string());
  core::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return tls_error(ErrorCode::kConfigInvalid,
                     "tls.private_key: no PEM private key in " + path_.string());
  if (SSL_CTX_use_PrivateKey(context, key.get()) != 1) {
    return tls_error(ErrorCode::kConfigInvalid, "tls.private_key: does not match the certificate");
  }
  return core::success();
}

std::string PemFileTlsKey::describe() const { return "pem file " + path_.string(); }

SSL_CTX* TlsContext::acquire() const {
  SSL_CTX_up_ref(context_.get());
  return context_.get();
}

namespace {
// The context's leaf certificate (shared with the context), if it has one.
std::optional<ca::Certificate> leaf_of(SSL_CTX* context) {
  X509* leaf = SSL_CTX_get0_certificate(context);
  if (leaf == nullptr || X509_up_ref(leaf) != 1) return std::nullopt;
  return ca::Certificate::adopt(core::X509Ptr(leaf));
}
}  // namespace

std::string TlsContext::leaf_summary() const {
  const auto leaf = leaf_of(context_.get());
  if (!leaf) return "no certificate";
  return "serial " + leaf->serial_hex() + ", not after " + ca::utc_text(leaf->not_after());
}

core::Result<void> TlsContext::leaf_valid_now() const {
  const auto leaf = leaf_of(context_.get());
  if (!leaf) return core::make_error(ErrorCode::kConfigInvalid, "tls.certificate: no certificate");
  const std::time_t now = std::time(nullptr);
  if (now >= leaf->not_after()) {
    return core::make_error(ErrorCode::kConfigInvalid,
                            "tls.certificate: the certificate has expired");
  }
  if (now < leaf->not_before()) {
    return core::make_error(ErrorCode::kConfigInvalid,
                            "tls.certificate: the certificate is not valid yet");
  }
  return core::success();
}

core::Result<TlsContext> make_tls_context(const std::filesystem::path& certificate_chain,
                                          std::shared_ptr<const TlsKeySource> key) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return tls_error(ErrorCode::kCryptoError, "SSL_CTX_new");
  MEDLEDGER_TRY(apply_policy(ctx.get()));
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), certificate_chain.c_str()) != 1) {
    return tls_error(ErrorCode::kConfigInvalid,
                     "tls.certificate: cannot load the PEM chain " + certificate_chain.string());
  }
  MEDLEDGER_TRY(key->install(ctx.get()));
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return tls_error(ErrorCode::kConfigInvalid, "tls.private_key: does not match tls.certificate");
  }
  TlsContext result;
  result.context_ = std::move(ctx);
  result.key_ = std::move(key);
  return result;
}

std::vector<core::Bytes> peer_certificate_chain(SSL* connection) {
  std::vector<core::Bytes> chain;
  auto append = [&](X509* cert) {
    int size = i2d_X509(cert, nullptr);
    if (size <= 0) return;
    core::Bytes der(static_cast<std::size_t>(size));
    unsigned char* out = der.data();
    i2d_X509(cert, &out);
    chain.push_back(std::move(der));
  };
  X509* leaf = SSL_get0_peer_certificate(connection);
  if (leaf == nullptr) return chain;
  append(leaf);
  // On the server side the stack excludes the leaf (SSL_get_peer_cert_chain(3)).
  STACK_OF(X509)* rest = SSL_get_peer_cert_chain(connection);
  for (int i = 0; rest != nullptr && i < sk_X509_num(rest); ++i) append(sk_X509_value(rest, i));
  return chain;
}

}  // namespace medledger::api

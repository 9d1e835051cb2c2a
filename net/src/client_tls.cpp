#include "client_tls.h"

#include <arpa/inet.h>

#include <string>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "medledger/core/openssl.h"

namespace medledger::net::detail {

namespace {
using core::ErrorCode;

core::Error config_error(const std::string& what) {
  return core::openssl_error(ErrorCode::kConfigInvalid, what);
}

bool is_ip_literal(const std::string& host) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), address) == 1;
}
}  // namespace

core::Result<SslCtxPtr> make_client_ssl_context(const HttpsClientOptions& options) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return core::openssl_error(ErrorCode::kCryptoError, "SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "TLS 1.2 minimum");
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (options.ca_bundle.empty())
    return core::make_error(ErrorCode::kConfigInvalid, "no CA bundle to verify the server");
  if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_bundle.c_str(), nullptr) != 1) {
    return config_error("CA bundle: cannot load PEM certificates from " +
                        options.ca_bundle.string());
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);

  const bool has_key = options.client_key_object != nullptr || !options.client_key.empty();
  if (options.client_certificate.empty()) {
    if (has_key)
      return core::make_error(ErrorCode::kConfigInvalid,
                              "a client key without a client certificate");
    return ctx;
  }
  if (!has_key)
    return core::make_error(ErrorCode::kConfigInvalid, "a client certificate without its key");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.client_certificate.c_str()) != 1) {
    return config_error("client certificate: cannot load the PEM chain " +
                        options.client_certificate.string());
  }
  if (options.client_key_object != nullptr) {
    if (SSL_CTX_use_PrivateKey(ctx.get(), options.client_key_object) != 1) {
      return config_error("client key object: refused");
    }
  } else {
    core::BioPtr bio(BIO_new_file(options.client_key.c_str(), "r"));
    if (!bio) return config_error("client key: cannot read " + options.client_key.string());
    core::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key)
      return config_error("client key: no PEM private key in " + options.client_key.string());
    if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1)
      return config_error("client key: refused");
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return config_error("client key does not match the client certificate " +
                        options.client_certificate.string());
  }
  return ctx;
}

bool expect_server_name(SSL* connection, const std::string& host) {
  if (is_ip_literal(host)) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(connection), host.c_str()) == 1;
  }
  return SSL_set_tlsext_host_name(connection, host.c_str()) == 1 &&
         SSL_set1_host(connection, host.c_str()) == 1;
}

std::string verify_failure(SSL* connection) {
  long result = SSL_get_verify_result(connection);
  if (result == X509_V_OK) return {};
  return X509_verify_cert_error_string(result);
}

}  // namespace medledger::net::detail

// The HTTPS client's OpenSSL context (plain OpenSSL, no Beast): TLS 1.2 floor,
// the CA bundle that must verify the server, an optional client certificate.
#pragma once

#include <memory>

#include <openssl/ssl.h>

#include "medledger/net/https_client.h"
#include "medledger/core/result.h"

namespace medledger::net::detail {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

/// A client SSL_CTX per `options`. kConfigInvalid naming the file that is
/// unreadable, holds no PEM, or whose key does not match the certificate;
/// kCryptoError if OpenSSL refuses the policy. Cost: reads and parses the files.
core::Result<SslCtxPtr> make_client_ssl_context(const HttpsClientOptions& options);

/// Configures one connection: SNI (DNS names only) and the name the server's
/// certificate must carry (DNS SAN, or IP SAN for an IP literal). False on failure.
bool expect_server_name(SSL* connection, const std::string& host);

/// Why the server's certificate failed verification ("" if it did not fail).
std::string verify_failure(SSL* connection);

}  // namespace medledger::net::detail

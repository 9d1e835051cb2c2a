// RAII owners for OpenSSL objects, shared by the modules that use OpenSSL, and
// the one way to turn OpenSSL's error queue into an Error.
#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "medledger/core/error.h"

namespace medledger::core {

template <auto FreeFn>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;

/// Drains OpenSSL's error queue into an Error: "<what>: <openssl reason>".
Error openssl_error(ErrorCode code, const std::string& what);

/// Parses a DER SubjectPublicKeyInfo.
EvpPkeyPtr parse_public_key_spki(const unsigned char* der, std::size_t size);

}  // namespace medledger::core

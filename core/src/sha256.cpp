#include "medledger/core/sha256.h"

#include <openssl/evp.h>

#include "medledger/core/assert.h"
#include "medledger/core/openssl.h"

namespace medledger::core {
namespace {

// Fetched once: EVP_sha256() makes every init look the implementation up again
// (a locked property query), which costs more than hashing a key or a signature.
// An EVP_MD is immutable and may be shared by threads.
const EVP_MD* fetched_sha256() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    MEDLEDGER_ASSERT(fetched != nullptr);
    return fetched;  // kept for the process's life
  }();
  return md;
}

}  // namespace

Digest sha256(ByteView data) {
  // One context per thread, re-initialised per call: no allocation per hash.
  thread_local EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
  MEDLEDGER_ASSERT(ctx != nullptr);
  Digest out{};
  unsigned int size = 0;
  MEDLEDGER_ASSERT(EVP_DigestInit_ex2(ctx.get(), fetched_sha256(), nullptr) == 1);
  MEDLEDGER_ASSERT(EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1);
  MEDLEDGER_ASSERT(EVP_DigestFinal_ex(ctx.get(), out.data(), &size) == 1);
  MEDLEDGER_ASSERT(size == kSha256Size);
  return out;
}

struct Sha256::Impl {
  EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  MEDLEDGER_ASSERT(impl_->ctx != nullptr);
  MEDLEDGER_ASSERT(EVP_DigestInit_ex2(impl_->ctx.get(), fetched_sha256(), nullptr) == 1);
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

Sha256& Sha256::update(ByteView data) {
  MEDLEDGER_ASSERT(EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) == 1);
  return *this;
}

Digest Sha256::finish() {
  Digest out{};
  unsigned int size = 0;
  MEDLEDGER_ASSERT(EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &size) == 1);
  MEDLEDGER_ASSERT(size == kSha256Size);
  return out;
}

}  // namespace medledger::core

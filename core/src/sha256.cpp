#include "medledger/core/sha256.h"

#include <openssl/evp.h>

#include "medledger/core/assert.h"
#include "medledger/core/openssl.h"

namespace medledger::core {

Digest sha256(ByteView data) {
  Digest out{};
  unsigned int size = 0;
  MEDLEDGER_ASSERT(EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr) == 1);
  MEDLEDGER_ASSERT(size == kSha256Size);
  return out;
}

struct Sha256::Impl {
  EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  MEDLEDGER_ASSERT(impl_->ctx != nullptr);
  MEDLEDGER_ASSERT(EVP_DigestInit_ex(impl_->ctx.get(), EVP_sha256(), nullptr) == 1);
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

// SHA-256 through OpenSSL. Cost: CPU only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "medledger/core/bytes.h"

namespace medledger::core {

inline constexpr std::size_t kSha256Size = 32;
using Digest = std::array<std::uint8_t, kSha256Size>;

/// SHA-256 of `data` in one call.
Digest sha256(ByteView data);

/// Incremental SHA-256 for data that arrives in pieces (Merkle leaves, files).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(ByteView data);
  /// Finishes the hash; the object may not be updated afterwards.
  Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

inline Bytes to_bytes(const Digest& d) { return Bytes(d.begin(), d.end()); }

}  // namespace medledger::core

// SecretBytes: PINs, passphrases and key material in memory.
//
// The buffer is wiped with OPENSSL_cleanse when destroyed or reassigned, is never
// printable (no operator<<, no implicit conversion to string) and is compared in
// constant time. Pages are excluded from core dumps where the kernel allows it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "medledger/core/bytes.h"

namespace medledger::core {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(ByteView data);
  explicit SecretBytes(std::size_t size);  // zero-filled
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  // Copies would multiply the places a secret must be wiped from.
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  std::uint8_t* data() { return data_.data(); }
  const std::uint8_t* data() const { return data_.data(); }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  ByteView view() const { return ByteView(data_.data(), data_.size()); }

  /// Wipes and empties the buffer now.
  void wipe();
  /// Makes an explicit copy (the caller owns wiping it too).
  SecretBytes clone() const { return SecretBytes(view()); }

 private:
  std::vector<std::uint8_t> data_;
};

/// Constant-time equality (CRYPTO_memcmp); different lengths compare unequal.
bool constant_time_equal(ByteView a, ByteView b);

/// Excludes this process from core dumps (prctl PR_SET_DUMPABLE 0 and RLIMIT_CORE 0).
/// Called once at start by every binary that handles PINs or keys.
void disable_core_dumps();

}  // namespace medledger::core

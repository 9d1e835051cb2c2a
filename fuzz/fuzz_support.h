// Shared by the fuzz targets: fixed signing keys (so checked-in seeds carry signatures
// that verify, and the targets reach past the signature checks), input helpers and a
// scratch directory for the parsers that read files.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "medledger/core/software_signer.h"

namespace medledger::fuzz {

// Test keys, used only by the fuzz targets and their seed generator: never a real key.
inline constexpr std::string_view kP256KeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvdIGy4LVcJ6rttoR\n"
    "jy2JsHQa2zZemOU5YJmVm57VoyWhRANCAATDdeJk3krlDcTp1bDQWXHTlotihIWV\n"
    "koIPFH5ZllYz4x+ALZj4iWmpkVJ22eMESejmQvxxNzBTLrGBp/L1kLfT\n"
    "-----END PRIVATE KEY-----\n";
inline constexpr std::string_view kEd25519KeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIC4zFDCXIBEv5QMj5tZi1xm87JZ2rw2OZqFe7CChqFtT\n"
    "-----END PRIVATE KEY-----\n";

inline core::SoftwareSigner& signer_from(std::string_view pem) {
  auto made = core::SoftwareSigner::from_pem(pem);
  if (!made) std::abort();
  return *made->release();  // lives for the process
}
inline core::SoftwareSigner& p256_signer() {
  static core::SoftwareSigner& signer = signer_from(kP256KeyPem);
  return signer;
}
inline core::SoftwareSigner& ed25519_signer() {
  static core::SoftwareSigner& signer = signer_from(kEd25519KeyPem);
  return signer;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits at the first NUL: (before, after). Without one: (all, "").
inline std::pair<std::string_view, std::string_view> split_at_nul(std::string_view text) {
  const auto at = text.find('\0');
  if (at == std::string_view::npos) return {text, {}};
  return {text.substr(0, at), text.substr(at + 1)};
}

/// A directory of this process's own under $TMPDIR (default /tmp), made once.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto path = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
                ("medledger-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

}  // namespace medledger::fuzz

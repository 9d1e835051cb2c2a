// A fresh private temporary directory per test, removed with everything in it
// at destruction. Shared by every suite that needs files (CA stores, ledgers, PINs).
#pragma once

#include <filesystem>
#include <string>

#include "medledger/core/bytes.h"

namespace medledger::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// Writes `content` to path()/name and returns the file's path.
  std::filesystem::path write(const std::string& name, const std::string& content) const;
  std::filesystem::path write(const std::string& name, const core::Bytes& content) const;

 private:
  std::filesystem::path path_;
};

}  // namespace medledger::testing

#include "temp_dir.h"

#include <cstdlib>
#include <fstream>

namespace medledger::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "medledger-test-XXXXXX").string();
  // A test without its directory cannot mean anything: stop at once.
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& content) const {
  std::filesystem::path file = path_ / name;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
  return file;
}

std::filesystem::path TempDir::write(const std::string& name, const core::Bytes& content) const {
  return write(name, core::to_string(content));
}

}  // namespace medledger::testing

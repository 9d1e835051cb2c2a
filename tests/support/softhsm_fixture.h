// A fresh SoftHSM2 token directory per test.
//
// The constructor makes a private temporary directory with its own softhsm2.conf
// and points SOFTHSM2_CONF at it (SoftHSM reads it at C_Initialize), so tests never
// share or leak token state. The destructor removes the directory. Each ctest test
// runs in its own process, so the process-wide variable is safe.
#pragma once

#include <filesystem>
#include <string>

namespace medledger::testing {

class SoftHsmDirectory {
 public:
  SoftHsmDirectory();
  ~SoftHsmDirectory();
  SoftHsmDirectory(const SoftHsmDirectory&) = delete;
  SoftHsmDirectory& operator=(const SoftHsmDirectory&) = delete;

  const std::filesystem::path& root() const { return root_; }
  const std::filesystem::path& conf_path() const { return conf_; }
  /// The SoftHSM2 PKCS#11 module to dlopen.
  static std::string module_path() { return MEDLEDGER_SOFTHSM_MODULE; }

  /// Initialises a token with softhsm2-util (outside the code under test) and returns
  /// its serial. For suites that need "a token" rather than testing provisioning.
  std::string init_token_with_softhsm_util(const std::string& label, const std::string& so_pin,
                                           const std::string& user_pin) const;

  /// Writes `content` to a file under root() with mode 0600 and returns its path
  /// (used for PIN files).
  std::filesystem::path write_private_file(const std::string& name,
                                           const std::string& content) const;

 private:
  std::filesystem::path root_;
  std::filesystem::path conf_;
};

}  // namespace medledger::testing

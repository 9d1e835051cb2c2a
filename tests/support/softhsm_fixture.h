// A fresh token directory per test: SoftHSM2 by default, or another PKCS#11 module
// named by the environment.
//
// The constructor makes a private temporary directory with its own softhsm2.conf
// and points SOFTHSM2_CONF at it (SoftHSM reads it at C_Initialize), so tests never
// share or leak token state. The destructor removes the directory. Each ctest test
// runs in its own process, so the process-wide variables are safe.
//
// Another module (scripts/nss-tests.sh runs the suites on NSS's softoken this way):
//   MEDLEDGER_TEST_PKCS11_MODULE     the module to load instead of SoftHSM2
//   MEDLEDGER_TEST_PKCS11_PROVISION  a command run as `CMD DIR LABEL` (PINs in
//       $MEDLEDGER_TEST_SO_PIN / $MEDLEDGER_TEST_USER_PIN) that makes an initialised
//       token LABEL under DIR and prints two lines: its serial, then the module's
//       initialisation arguments for every token made so far under DIR. They are put in
//       $MEDLEDGER_PKCS11_MODULE_ARGS, which Module::load reads. Such a module has no
//       free slot and no SO: tests of token init and SO-only operations skip there.
#pragma once

#include <filesystem>
#include <string>

// In a gtest test: skips a test of C_InitToken or an SO-only operation, by name and
// with the reason, on a module that has neither (see without_token_init_reason()).
#define MEDLEDGER_SKIP_WITHOUT_TOKEN_INIT()                                    \
  if (const std::string medledger_skip_reason =                                \
          ::medledger::testing::SoftHsmDirectory::without_token_init_reason(); \
      !medledger_skip_reason.empty())                                          \
  GTEST_SKIP() << medledger_skip_reason

namespace medledger::testing {

class SoftHsmDirectory {
 public:
  SoftHsmDirectory();
  ~SoftHsmDirectory();
  SoftHsmDirectory(const SoftHsmDirectory&) = delete;
  SoftHsmDirectory& operator=(const SoftHsmDirectory&) = delete;

  const std::filesystem::path& root() const { return root_; }
  const std::filesystem::path& conf_path() const { return conf_; }
  /// The PKCS#11 module to dlopen: $MEDLEDGER_TEST_PKCS11_MODULE, else SoftHSM2.
  static std::string module_path();
  /// True when $MEDLEDGER_TEST_PKCS11_PROVISION makes the tokens (no C_InitToken, no SO).
  static bool provisioned_by_hook();
  /// Why a test of token init / the SO cannot run on the module under test (empty: it can).
  static std::string without_token_init_reason();

  /// Initialises a token outside the code under test (softhsm2-util, or the provisioning
  /// hook, which also sets $MEDLEDGER_PKCS11_MODULE_ARGS: load the module afterwards) and
  /// returns its serial. For suites that need "a token" rather than testing provisioning.
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

#include "softhsm_fixture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace medledger::testing {

namespace {
std::string run_capture(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::array<char, 512> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  int status = ::pclose(pipe);
  if (status != 0)
    throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command + "\n" +
                             output);
  return output;
}
}  // namespace

std::string SoftHsmDirectory::module_path() {
  const char* env = std::getenv("MEDLEDGER_TEST_PKCS11_MODULE");
  return env != nullptr && *env != '\0' ? env : MEDLEDGER_SOFTHSM_MODULE;
}

bool SoftHsmDirectory::provisioned_by_hook() {
  const char* env = std::getenv("MEDLEDGER_TEST_PKCS11_PROVISION");
  return env != nullptr && *env != '\0';
}

std::string SoftHsmDirectory::without_token_init_reason() {
  if (!provisioned_by_hook()) return "";
  return "the module under test (" + module_path() +
         ") has no free slot for C_InitToken and no security officer; its tokens come from "
         "$MEDLEDGER_TEST_PKCS11_PROVISION";
}

SoftHsmDirectory::SoftHsmDirectory() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "medledger-softhsm-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
  std::filesystem::create_directories(root_ / "tokens");
  conf_ = root_ / "softhsm2.conf";
  std::ofstream(conf_) << "directories.tokendir = " << (root_ / "tokens").string() << "\n"
                       << "objectstore.backend = file\n"
                       << "log.level = ERROR\n"
                       << "slots.removable = false\n";
  ::setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
  if (provisioned_by_hook()) {
    ::unsetenv("MEDLEDGER_PKCS11_MODULE_ARGS");  // no token made yet
    // The CLIs the tests run pick the module under test too.
    ::setenv("MEDLEDGER_PKCS11_MODULE", module_path().c_str(), 1);
  }
}

SoftHsmDirectory::~SoftHsmDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

std::string SoftHsmDirectory::init_token_with_softhsm_util(const std::string& label,
                                                           const std::string& so_pin,
                                                           const std::string& user_pin) const {
  if (provisioned_by_hook()) {
    ::setenv("MEDLEDGER_TEST_SO_PIN", so_pin.c_str(), 1);
    ::setenv("MEDLEDGER_TEST_USER_PIN", user_pin.c_str(), 1);
    auto out = run_capture(std::string(std::getenv("MEDLEDGER_TEST_PKCS11_PROVISION")) + " '" +
                           (root_ / "tokens").string() + "' '" + label + "'");
    auto newline = out.find('\n');
    if (newline == std::string::npos) throw std::runtime_error("provisioning hook printed " + out);
    std::string serial = out.substr(0, newline);
    std::string args = out.substr(newline + 1);
    while (!args.empty() && args.back() == '\n') args.pop_back();
    ::setenv("MEDLEDGER_PKCS11_MODULE_ARGS", args.c_str(), 1);
    return serial;
  }
  run_capture("SOFTHSM2_CONF='" + conf_.string() + "' softhsm2-util --init-token --free --label '" +
              label + "' --so-pin '" + so_pin + "' --pin '" + user_pin + "' 2>&1");
  // In --show-slots output a token's "Serial number:" line comes before its "Label:" line.
  auto serial =
      run_capture("SOFTHSM2_CONF='" + conf_.string() +
                  "' softhsm2-util --show-slots | awk '/Serial number:/{s=$3} /Label:/{if($2==\"" +
                  label + "\") print s}' | tail -1");
  while (!serial.empty() && (serial.back() == '\n' || serial.back() == ' ')) serial.pop_back();
  return serial;
}

std::filesystem::path SoftHsmDirectory::write_private_file(const std::string& name,
                                                           const std::string& content) const {
  auto path = root_ / name;
  std::ofstream(path) << content;
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

}  // namespace medledger::testing

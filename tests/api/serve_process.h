// Test support for `medledger serve` as a real process: a consortium config
// writer, the process started and stopped like systemd would, and client
// certificates issued by a hospital's token CA (the CA admitted on the ledger).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/pem.h>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "api_test_support.h"
#include "medledger/ca/authority.h"
#include "medledger/ca/store.h"
#include "medledger/core/openssl.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/token_signer.h"

namespace medledger::api::testing {

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// `medledger serve --config FILE` in a child process; SIGKILLed if the test ends first.
class ServeProcess {
 public:
  ServeProcess(std::filesystem::path config, std::filesystem::path log)
      : config_(std::move(config)), log_(std::move(log)) {}
  ~ServeProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  /// Starts the binary and waits (up to ~10 s) for its "listening" log line.
  /// Returns the port, 0 if it did not start (see exit_status() and log()).
  std::uint16_t start() {
    pid_ = fork();
    if (pid_ == 0) {
      execl(MEDLEDGER_CLI, MEDLEDGER_CLI, "serve", "--config", config_.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    reaped_ = false;
    for (int i = 0; i < 1000 && port_ == 0; ++i) {
      std::istringstream lines(slurp(log_));
      std::string line;
      while (std::getline(lines, line)) {
        if (line.find("\"event\":\"listening\"") != std::string::npos) {
          port_ = static_cast<std::uint16_t>(boost::json::parse(line).at("port").as_int64());
        }
      }
      if (port_ == 0) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          reaped_ = true;
          status_ = status;
          return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    return port_;
  }

  /// SIGTERM, then waits up to `limit` for the exit. True if it exited in time.
  bool terminate(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        status_ = status;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  /// The exit code once reaped (-1 if killed by a signal or still running).
  int exit_code() const { return reaped_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }
  std::uint16_t port() const { return port_; }
  std::string log() const { return slurp(log_); }
  pid_t pid() const { return pid_; }

 private:
  std::filesystem::path config_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  bool reaped_ = true;
  int status_ = 0;
  std::uint16_t port_ = 0;
};

/// Runs a shell command; returns its standard output and sets `exit_code`.
inline std::string run_command(const std::string& command, int& exit_code) {
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[512];
  while (pipe != nullptr && fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pipe != nullptr ? pclose(pipe) : -1;
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

/// Runs `medledger serve` on a config that must be refused; returns its output
/// and sets `exit_code`.
inline std::string serve_refused(const std::filesystem::path& config, int& exit_code) {
  return run_command(std::string(MEDLEDGER_CLI) + " serve --config '" + config.string() + "' 2>&1",
                     exit_code);
}

/// Issues a client certificate (fresh P-256 key) from the CA in `ca_dir`, whose
/// key is in the token behind `pool`; writes <id>.pem and <id>.key into `out_dir`
/// (so Pki-based curl() finds them when out_dir is the Pki's directory).
inline ca::Certificate issue_from_token_ca(const std::shared_ptr<hsm::SessionPool>& pool,
                                           const std::filesystem::path& ca_dir, ca::Role role,
                                           const std::string& id,
                                           const std::filesystem::path& out_dir) {
  auto directory = ca::CaDirectory::open(ca_dir);
  EXPECT_TRUE(directory.ok());
  auto key_id = core::hex_decode(directory->settings().key_id_hex);
  hsm::KeyStore keys(pool);
  auto signer = keys.signer(*key_id);
  EXPECT_TRUE(signer.ok()) << signer.error().to_string();
  auto chain = directory->chain();
  auto authority = ca::CertificateAuthority::open(**signer, chain.front(), {});
  EXPECT_TRUE(authority.ok()) << authority.error().to_string();
  core::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const int size = i2d_PUBKEY(key.get(), nullptr);
  core::Bytes spki(static_cast<std::size_t>(size));
  unsigned char* out = spki.data();
  i2d_PUBKEY(key.get(), &out);
  ca::IssueRequest request;
  request.role = role;
  request.subject_id = id;
  auto cert = authority->issue_for_key(spki, request, std::time(nullptr) - 300);
  EXPECT_TRUE(cert.ok()) << cert.error().to_string();
  core::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  std::ofstream(out_dir / (id + ".pem")) << cert->to_pem();
  std::ofstream(out_dir / (id + ".key")) << std::string(data, static_cast<std::size_t>(length));
  return *cert;
}

}  // namespace medledger::api::testing

// `medledger serve --config FILE`: the real binary, started and stopped like systemd would.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/json/parse.hpp>

#include "api_test_support.h"
#include "serve_process.h"

namespace medledger::api {
namespace {

using namespace std::chrono_literals;
using testing::Pki;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string config_text(const Pki& pki, const std::string& listen_extra,
                        const std::filesystem::path& log) {
  return "[listen]\naddress = \"127.0.0.1\"\n" + listen_extra + "\n[tls]\ncertificate = \"" +
         pki.server_chain.string() + "\"\nprivate_key = \"" + pki.server_key.string() +
         "\"\nclient_ca = \"" + pki.ca_pem.string() + "\"\nclient_crls = [\"" +
         pki.crl_pem.string() + "\"]\n[log]\nlevel = \"info\"\nfile = \"" + log.string() +
         "\"\n[ledger]\npath = \"" + pki.dir.path().string() + "\"\n";
}

TEST(Serve, BadConfigRefusesToStartNamingTheKey) {
  auto pki = Pki::create();
  auto config =
      pki->dir.write("bad.toml", config_text(*pki, "port = 70000", pki->dir.path() / "log.jsonl"));
  int exit_code = 0;
  const std::string output = testing::serve_refused(config, exit_code);
  EXPECT_EQ(exit_code, core::exit_code_for(core::ErrorCode::kConfigInvalid));
  EXPECT_NE(output.find("CONFIG_INVALID: listen.port: must be 0..65535, got 70000"),
            std::string::npos)
      << output;
}

// [token] module_args reaches C_Initialize (NSS's softoken refuses a database that does
// not exist) and, holding a password, is never echoed by the refusal.
TEST(Serve, TokenModuleArgumentsReachTheModuleAndAreNeverEchoed) {
  auto pki = Pki::create();
  const std::string text =
      config_text(*pki, "port = 0", pki->dir.path() / "log.jsonl") +
      "[token]\nmodule = \"/usr/lib/x86_64-linux-gnu/libsoftokn3.so\"\nmodule_args = "
      "\"env:MEDLEDGER_SERVE_TEST_MODULE_ARGS\"\nlabel = \"tls\"\npin = "
      "\"env:MEDLEDGER_SERVE_TEST_PIN\"\n";
  // The TLS key in the token: the infrastructure-only server opens the module for it.
  std::string with_key = text;
  const auto key_at = with_key.find("private_key = \"");
  const auto key_end = with_key.find('\n', key_at);
  with_key.replace(key_at, key_end - key_at, "private_key = \"pkcs11:object=tls\"");
  auto config = pki->dir.write("nss.toml", with_key);
  ASSERT_EQ(setenv("MEDLEDGER_SERVE_TEST_MODULE_ARGS",
                   "configdir='sql:/nonexistent/nssdb' flags=readOnly password='canary-7731'", 1),
            0);
  ASSERT_EQ(setenv("MEDLEDGER_SERVE_TEST_PIN", "1234", 1), 0);
  int exit_code = 0;
  const std::string output =
      testing::serve_refused(config, exit_code) + read_file(pki->dir.path() / "log.jsonl");
  EXPECT_EQ(exit_code, core::exit_code_for(core::ErrorCode::kModuleInitFailed)) << output;
  EXPECT_NE(output.find("MODULE_INIT_FAILED"), std::string::npos) << output;
  // Refused with the arguments given (without any, NSS says CKR_ARGUMENTS_BAD instead).
  EXPECT_NE(output.find("arguments (not shown)"), std::string::npos) << output;
  EXPECT_EQ(output.find("canary-7731"), std::string::npos) << output;
  EXPECT_EQ(output.find("nonexistent"), std::string::npos) << output;
}

// `medledger serve` as a child process; killed if a test fails before stopping it.
struct ServeProcess {
  pid_t pid = -1;
  int port = 0;
  bool reaped = false;
  ServeProcess() = default;
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  ~ServeProcess() {
    if (pid > 0 && !reaped) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  // Starts it and reads the port from the "listening" log line (0 if it never came).
  void start(const std::filesystem::path& config, const std::filesystem::path& log) {
    pid = fork();
    if (pid == 0) {
      execl(MEDLEDGER_CLI, MEDLEDGER_CLI, "serve", "--config", config.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500 && port == 0 && pid > 0; ++i) {
      std::istringstream lines(read_file(log));
      std::string line;
      while (std::getline(lines, line)) {
        if (line.find("\"event\":\"listening\"") == std::string::npos) continue;
        port = static_cast<int>(boost::json::parse(line).at("port").as_int64());
      }
      if (port == 0) std::this_thread::sleep_for(10ms);
    }
  }
  // Waits up to 5 s for it to exit; the wait status, or -1.
  int wait_exit() {
    int status = 0;
    for (int i = 0; i < 500 && !reaped; ++i) {
      reaped = waitpid(pid, &status, WNOHANG) == pid;
      if (!reaped) std::this_thread::sleep_for(10ms);
    }
    return reaped ? status : -1;
  }
};

TEST(Serve, ServesHealthzAndWhoamiThenStopsCleanlyOnSigterm) {
  auto pki = Pki::create();
  const auto log = pki->dir.path() / "log.jsonl";
  auto config = pki->dir.write("good.toml", config_text(*pki, "port = 0", log));
  ServeProcess serve;
  serve.start(config, log);
  ASSERT_GT(serve.pid, 0);
  ASSERT_NE(serve.port, 0) << read_file(log);
  const int port = serve.port;

  auto health = testing::curl(*pki, static_cast<std::uint16_t>(port), "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  auto whoami =
      testing::curl(*pki, static_cast<std::uint16_t>(port), "/v1/whoami", testing::kAuditor);
  EXPECT_EQ(whoami.status, 200);
  auto revoked =
      testing::curl(*pki, static_cast<std::uint16_t>(port), "/v1/whoami", testing::kRevokedDoctor);
  EXPECT_EQ(revoked.status, 401);

  ASSERT_EQ(kill(serve.pid, SIGTERM), 0);
  const int status = serve.wait_exit();
  ASSERT_TRUE(serve.reaped) << "serve did not stop within 5 s of SIGTERM";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  const std::string lines = read_file(log);
  EXPECT_NE(lines.find(R"("event":"request","method":"GET","route":"/v1/whoami","status":200)"),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find(R"("principal":"hospital-a/auditor-1")"), std::string::npos) << lines;
  EXPECT_NE(lines.find(R"("error":"CERTIFICATE_REVOKED")"), std::string::npos);
  EXPECT_NE(lines.find(R"("event":"signal","signal":"SIGTERM")"), std::string::npos);
  EXPECT_NE(lines.find(R"("event":"stopped")"), std::string::npos);
  // Every line is one JSON object.
  std::istringstream each(lines);
  std::string line;
  while (std::getline(each, line)) {
    boost::json::error_code ec;
    auto value = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << line;
    EXPECT_TRUE(value.is_object()) << line;
  }
}

TEST(Serve, SighupReloadsTheClientCaFileWithoutARestartAndABadFileKeepsTheTrustInForce) {
  auto pki = Pki::create();
  const auto log = pki->dir.path() / "log.jsonl";
  const auto bundle = pki->dir.write("bundle.pem", read_file(pki->ca_pem));  // hospital-a only
  std::string text = config_text(*pki, "port = 0", log);
  const std::string ca_line = "client_ca = \"" + pki->ca_pem.string() + "\"";
  text.replace(text.find(ca_line), ca_line.size(), "client_ca = \"" + bundle.string() + "\"");
  const std::string crl_line = "\nclient_crls = [\"" + pki->crl_pem.string() + "\"]";
  text.erase(text.find(crl_line), crl_line.size());  // no CRLs: hospital-b's clients need none
  auto config = pki->dir.write("reload.toml", text);
  ServeProcess serve;
  serve.start(config, log);
  ASSERT_GT(serve.pid, 0);
  ASSERT_NE(serve.port, 0) << read_file(log);
  const auto port = static_cast<std::uint16_t>(serve.port);
  auto whoami = [&](const char* client) {
    return testing::curl(*pki, port, "/v1/whoami", client).status;
  };
  ASSERT_EQ(whoami(testing::kAuditor), 200);
  EXPECT_EQ(whoami(testing::kForeignDoctor), 401);  // hospital-b's CA is not in the bundle

  auto log_count = [&](const std::string& needle) {
    const std::string lines = read_file(log);
    std::size_t n = 0;
    for (auto at = lines.find(needle); at != std::string::npos; at = lines.find(needle, at + 1))
      ++n;
    return n;
  };
  auto reload_and_wait = [&](std::size_t reloads_before) {
    ASSERT_EQ(kill(serve.pid, SIGHUP), 0);
    // The TLS context is reloaded after the trust, in the same task: its line comes last.
    for (int i = 0; i < 500 && log_count("\"event\":\"tls_reload\"") == reloads_before; ++i) {
      std::this_thread::sleep_for(10ms);
    }
  };
  // A damaged bundle: the reload fails, the trust in force stays.
  pki->dir.write("bundle.pem",
                 "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  reload_and_wait(0);
  EXPECT_EQ(log_count("the trust in force is kept"), 1u) << read_file(log);
  EXPECT_EQ(whoami(testing::kAuditor), 200);
  EXPECT_EQ(whoami(testing::kForeignDoctor), 401);

  // Both CAs: after SIGHUP hospital-b's doctor is trusted, without a restart.
  pki->dir.write("bundle.pem", read_file(pki->ca_pem) + read_file(pki->foreign_ca_pem));
  reload_and_wait(1);
  EXPECT_EQ(log_count("\"event\":\"trust_reload\",\"result\":\"reloaded\""), 1u) << read_file(log);
  EXPECT_EQ(log_count("\"event\":\"tls_reload\",\"result\":\"reloaded\""), 2u)
      << read_file(log);  // the same certificate again
  EXPECT_EQ(whoami(testing::kForeignDoctor), 200);
  EXPECT_EQ(whoami(testing::kAuditor), 200);

  ASSERT_EQ(kill(serve.pid, SIGTERM), 0);
  const int status = serve.wait_exit();
  ASSERT_TRUE(serve.reaped);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(log_count("\"signal\":\"SIGHUP\""), 2u);
}

}  // namespace
}  // namespace medledger::api

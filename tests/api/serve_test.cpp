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

std::string config_text(const Pki& pki, const std::string& listen_extra, const std::filesystem::path& log) {
  return "[listen]\naddress = \"127.0.0.1\"\n" + listen_extra + "\n[tls]\ncertificate = \"" + pki.server_chain.string() +
         "\"\nprivate_key = \"" + pki.server_key.string() + "\"\nclient_ca = \"" + pki.ca_pem.string() +
         "\"\nclient_crls = [\"" + pki.crl_pem.string() + "\"]\n[log]\nlevel = \"info\"\nfile = \"" + log.string() +
         "\"\n[ledger]\npath = \"" + pki.dir.path().string() + "\"\n";
}

TEST(Serve, BadConfigRefusesToStartNamingTheKey) {
  auto pki = Pki::create();
  auto config = pki->dir.write("bad.toml", config_text(*pki, "port = 70000", pki->dir.path() / "log.jsonl"));
  const std::string command = std::string(MEDLEDGER_CLI) + " serve --config '" + config.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), core::exit_code_for(core::ErrorCode::kConfigInvalid));
  EXPECT_NE(output.find("CONFIG_INVALID: listen.port: must be 0..65535, got 70000"), std::string::npos) << output;
}

TEST(Serve, ServesHealthzAndWhoamiThenStopsCleanlyOnSigterm) {
  auto pki = Pki::create();
  const auto log = pki->dir.path() / "log.jsonl";
  auto config = pki->dir.write("good.toml", config_text(*pki, "port = 0", log));
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl(MEDLEDGER_CLI, MEDLEDGER_CLI, "serve", "--config", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Whatever fails below, the server process does not outlive the test.
  struct KillOnExit {
    pid_t pid;
    bool reaped = false;
    ~KillOnExit() {
      if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } guard{child};
  // The port is in the "listening" log line.
  int port = 0;
  for (int i = 0; i < 500 && port == 0; ++i) {
    std::istringstream lines(read_file(log));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("\"event\":\"listening\"") == std::string::npos) continue;
      port = static_cast<int>(boost::json::parse(line).at("port").as_int64());
    }
    if (port == 0) std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(port, 0) << read_file(log);

  auto health = testing::curl(*pki, static_cast<std::uint16_t>(port), "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  auto whoami = testing::curl(*pki, static_cast<std::uint16_t>(port), "/v1/whoami", testing::kAuditor);
  EXPECT_EQ(whoami.status, 200);
  auto revoked = testing::curl(*pki, static_cast<std::uint16_t>(port), "/v1/whoami", testing::kRevokedDoctor);
  EXPECT_EQ(revoked.status, 401);

  ASSERT_EQ(kill(child, SIGTERM), 0);
  int status = 0;
  for (int i = 0; i < 500 && !guard.reaped; ++i) {
    guard.reaped = waitpid(child, &status, WNOHANG) == child;
    if (!guard.reaped) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(guard.reaped) << "serve did not stop within 5 s of SIGTERM";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  const std::string lines = read_file(log);
  EXPECT_NE(lines.find(R"("event":"request","method":"GET","route":"/v1/whoami","status":200)"), std::string::npos) << lines;
  EXPECT_NE(lines.find(R"("principal":"auditor-1")"), std::string::npos);
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

}  // namespace
}  // namespace medledger::api

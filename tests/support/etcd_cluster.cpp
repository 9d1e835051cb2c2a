#include "etcd_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <regex>
#include <sstream>
#include <string_view>
#include <thread>

#include "medledger/core/assert.h"

extern char** environ;

namespace medledger::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kPollInterval{50};
constexpr milliseconds kStopGrace{5000};
constexpr milliseconds kCommandTimeout{30000};
constexpr int kStartAttempts = 3;

core::Error failure(std::string message) {
  return core::make_error(core::ErrorCode::kInternal, "etcd test cluster: " + std::move(message));
}

// argv/envp as the C arrays execve wants; built before fork (the child only calls
// async-signal-safe functions).
class CArgs {
 public:
  explicit CArgs(const std::vector<std::string>& strings) : strings_(strings) {
    for (auto& s : strings_) pointers_.push_back(s.data());
    pointers_.push_back(nullptr);
  }
  char* const* get() { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> pointers_;
};

// The parent's environment without ETCD_* / ETCDCTL_* (etcd and etcdctl read their flags
// from those too: a developer's shell must not change what the tests start).
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("ETCD_") || entry.starts_with("ETCDCTL_")) continue;
    env.emplace_back(entry);
  }
  env.emplace_back("ETCDCTL_API=3");
  return env;
}

// In the child: die with the test process (a crashed test leaves no etcd behind).
void die_with_parent(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
}

int exit_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// Runs argv[0] (an absolute path, no shell) and collects its output, killing it after
// `timeout`.
CommandResult run(const std::vector<std::string>& argv, milliseconds timeout = kCommandTimeout) {
  CommandResult result;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  CArgs args(argv);
  CArgs env(child_environment());
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    die_with_parent(parent);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out_pipe[1], 1) < 0 ||
        ::dup2(err_pipe[1], 2) < 0)
      ::_exit(127);
    ::execve(argv[0].c_str(), args.get(), env.get());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return result;
  }
  const auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    int ready = ::poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {}
  result.status = timed_out ? -1 : exit_status(wait_status);
  return result;
}

}  // namespace

// Free 127.0.0.1 ports: all bound at once (so they differ), then released for etcd. Another
// process may take one in between; start() retries on that.
std::vector<int> free_ports(std::size_t count) {
  std::vector<int> sockets;
  std::vector<int> ports;
  for (std::size_t i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      if (fd >= 0) ::close(fd);
      break;
    }
    sockets.push_back(fd);
    ports.push_back(ntohs(address.sin_port));
  }
  for (int fd : sockets) ::close(fd);
  return ports;
}

namespace {

std::string url(int port) { return "https://127.0.0.1:" + std::to_string(port); }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

EtcdCluster::EtcdCluster(EtcdOptions options) : options_(options) {
  MEDLEDGER_ASSERT(options_.members == 1 || options_.members == 3);
  ca_file_ = dir_.path() / "ca.pem";
  ca_key_ = dir_.path() / "ca.key";
  client_cert_ = dir_.path() / "client.pem";
  client_key_ = dir_.path() / "client.key";
  for (int k = 0; k < options_.members; ++k) {
    Member m;
    m.name = "m" + std::to_string(k);
    m.data_dir = dir_.path() / m.name;
    m.log = dir_.path() / (m.name + ".log");
    m.cert = dir_.path() / (m.name + ".pem");
    m.key = dir_.path() / (m.name + ".key");
    members_.push_back(std::move(m));
  }
}

EtcdCluster::~EtcdCluster() { stop(); }

namespace {
// A fresh P-256 key and a certificate for it in one `openssl req -x509` call: self-signed,
// or signed by the cluster CA when `extra` names -CA/-CAkey.
core::Result<void> openssl_certificate(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {
      MEDLEDGER_OPENSSL_BIN,     "req",    "-x509", "-newkey", "ec", "-pkeyopt",
      "ec_paramgen_curve:P-256", "-nodes", "-days", "2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  CommandResult r = run(argv);
  if (!r.ok()) return failure("openssl req failed: " + r.err);
  return core::success();
}
}  // namespace

core::Result<void> EtcdCluster::issue_leaf(const std::string& cn, const fs::path& cert,
                                           const fs::path& key, const std::string& eku,
                                           bool server) const {
  std::vector<std::string> extra = {"-subj",   "/CN=" + cn,
                                    "-keyout", key.string(),
                                    "-out",    cert.string(),
                                    "-CA",     ca_file_.string(),
                                    "-CAkey",  ca_key_.string(),
                                    "-addext", "basicConstraints=critical,CA:FALSE",
                                    "-addext", "keyUsage=critical,digitalSignature",
                                    "-addext", "extendedKeyUsage=" + eku};
  if (server) {
    extra.push_back("-addext");
    extra.push_back("subjectAltName=IP:127.0.0.1,DNS:localhost");
  }
  return openssl_certificate(extra);
}

core::Result<void> EtcdCluster::make_pki() {
  MEDLEDGER_TRY(openssl_certificate({"-subj", "/CN=medledger-test-etcd-ca", "-keyout",
                                     ca_key_.string(), "-out", ca_file_.string(), "-addext",
                                     "basicConstraints=critical,CA:TRUE", "-addext",
                                     "keyUsage=critical,keyCertSign,cRLSign"}));
  // A member's one certificate serves its client port and both ends of peer connections.
  for (const Member& m : members_) {
    MEDLEDGER_TRY(issue_leaf(m.name, m.cert, m.key, "serverAuth,clientAuth", true));
  }
  return issue_leaf("medledger-node", client_cert_, client_key_, "clientAuth", false);
}

core::Result<EtcdCluster::ClientCertificate> EtcdCluster::issue_client_certificate(
    const std::string& name) {
  if (!fs::exists(ca_file_)) {
    MEDLEDGER_TRY(make_pki());
  }
  ClientCertificate issued{dir_.path() / (name + ".pem"), dir_.path() / (name + ".key")};
  MEDLEDGER_TRY(issue_leaf(name, issued.cert, issued.key, "clientAuth", false));
  return issued;
}

std::vector<std::string> EtcdCluster::member_args(int member, bool existing) const {
  const Member& m = members_.at(static_cast<std::size_t>(member));
  std::string initial_cluster;
  for (const Member& other : members_) {
    if (!initial_cluster.empty()) initial_cluster += ",";
    initial_cluster += other.name + "=" + url(other.peer_port);
  }
  std::vector<std::string> argv = {
      MEDLEDGER_ETCD_BIN, "--name", m.name, "--data-dir", m.data_dir.string(),
      "--listen-client-urls", url(m.client_port), "--advertise-client-urls", url(m.client_port),
      "--listen-peer-urls", url(m.peer_port), "--initial-advertise-peer-urls", url(m.peer_port),
      "--initial-cluster", initial_cluster, "--initial-cluster-state",
      existing ? "existing" : "new", "--initial-cluster-token", token_, "--client-cert-auth",
      "--trusted-ca-file", client_trust_file().string(), "--cert-file", m.cert.string(),
      "--key-file", m.key.string(), "--peer-client-cert-auth", "--peer-trusted-ca-file",
      ca_file_.string(), "--peer-cert-file", m.cert.string(), "--peer-key-file", m.key.string(),
      "--logger", "zap",
      // stderr goes to the member's log file (spawn).
      "--log-outputs", "stderr", "--heartbeat-interval",
      std::to_string(options_.heartbeat_interval_ms), "--election-timeout",
      std::to_string(options_.election_timeout_ms), "--snapshot-count",
      std::to_string(options_.snapshot_count)};
  if (options_.quota_backend_bytes != 0) {
    argv.push_back("--quota-backend-bytes");
    argv.push_back(std::to_string(options_.quota_backend_bytes));
  }
  if (options_.max_request_bytes != 0) {
    argv.push_back("--max-request-bytes");
    argv.push_back(std::to_string(options_.max_request_bytes));
  }
  return argv;
}

fs::path EtcdCluster::client_trust_file() const {
  return options_.extra_trusted_ca_files.empty() ? ca_file_ : dir_.path() / "client-trust.pem";
}

core::Result<void> EtcdCluster::write_client_trust_file() const {
  if (options_.extra_trusted_ca_files.empty()) return core::success();
  std::ostringstream bundle;
  std::vector<fs::path> files{ca_file_};
  files.insert(files.end(), options_.extra_trusted_ca_files.begin(),
               options_.extra_trusted_ca_files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return failure("cannot read the trusted CA file " + file.string());
    bundle << in.rdbuf() << "\n";
  }
  std::ofstream out(client_trust_file(), std::ios::binary | std::ios::trunc);
  out << bundle.str();
  if (!out.flush()) return failure("cannot write " + client_trust_file().string());
  return core::success();
}

core::Result<void> EtcdCluster::spawn(int member, bool existing) {
  Member& m = members_.at(static_cast<std::size_t>(member));
  MEDLEDGER_ASSERT(m.pid < 0);
  MEDLEDGER_TRY(write_client_trust_file());
  CArgs args(member_args(member, existing));
  CArgs env(child_environment());
  int log_fd = ::open(m.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return failure("cannot open " + m.log.string());
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    die_with_parent(parent);
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0)
      ::_exit(127);
    ::execve(MEDLEDGER_ETCD_BIN, args.get(), env.get());
    ::_exit(127);
  }
  ::close(log_fd);
  if (pid < 0) return failure("fork failed");
  m.pid = pid;
  m.paused = false;
  return core::success();
}

bool EtcdCluster::reap_if_exited(Member& member) {
  if (member.pid < 0) return true;
  int status = 0;
  if (::waitpid(member.pid, &status, WNOHANG) == member.pid) {
    member.pid = -1;
    return true;
  }
  return false;
}

std::string EtcdCluster::log_tail(int member) const {
  std::string log = read_file(members_.at(static_cast<std::size_t>(member)).log);
  constexpr std::size_t kTail = 2000;
  return log.size() > kTail ? log.substr(log.size() - kTail) : log;
}

core::Result<void> EtcdCluster::wait_healthy(const std::vector<int>& members, bool* port_race) {
  const auto deadline = Clock::now() + options_.start_timeout;
  std::vector<bool> ok(members_.size(), false);
  while (true) {
    bool all = true;
    for (int k : members) {
      auto& m = members_[static_cast<std::size_t>(k)];
      if (reap_if_exited(m)) {
        std::string tail = log_tail(k);
        if (port_race != nullptr && tail.find("address already in use") != std::string::npos)
          *port_race = true;
        return failure(m.name + " exited while starting; its log ends:\n" + tail);
      }
      if (!ok[static_cast<std::size_t>(k)]) ok[static_cast<std::size_t>(k)] = healthy(k);
      all = all && ok[static_cast<std::size_t>(k)];
    }
    if (all) return core::success();
    if (Clock::now() > deadline) {
      std::string which;
      for (int k : members) {
        if (!ok[static_cast<std::size_t>(k)])
          which += " " + members_[static_cast<std::size_t>(k)].name;
      }
      return failure("not healthy within " + std::to_string(options_.start_timeout.count()) +
                     " ms:" + which + "; log of the first ends:\n" + log_tail(members.front()));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

core::Result<void> EtcdCluster::start_once(int attempt, bool* port_race) {
  std::vector<int> ports = free_ports(members_.size() * 2);
  if (ports.size() != members_.size() * 2) return failure("no free 127.0.0.1 ports");
  token_ = "medledger-test-" + dir_.path().filename().string() + "-" + std::to_string(attempt);
  std::vector<int> all;
  for (std::size_t k = 0; k < members_.size(); ++k) {
    members_[k].client_port = ports[2 * k];
    members_[k].peer_port = ports[2 * k + 1];
    std::error_code ignored;
    fs::remove_all(members_[k].data_dir, ignored);
    all.push_back(static_cast<int>(k));
  }
  for (int k : all) {
    MEDLEDGER_TRY(spawn(k, false));
  }
  return wait_healthy(all, port_race);
}

core::Result<void> EtcdCluster::start() {
  if (!fs::exists(ca_file_)) {
    MEDLEDGER_TRY(make_pki());
  }
  for (int attempt = 1;; ++attempt) {
    bool port_race = false;
    auto started = start_once(attempt, &port_race);
    if (started) return started;
    stop();
    if (!port_race || attempt == kStartAttempts) return started;
  }
}

void EtcdCluster::terminate(Member& member, int signal) {
  if (member.pid < 0) return;
  // A stopped process acts on SIGTERM only once it runs again.
  if (member.paused && signal != SIGKILL) ::kill(member.pid, SIGCONT);
  member.paused = false;
  ::kill(member.pid, signal);
  const auto deadline = Clock::now() + kStopGrace;
  while (!reap_if_exited(member)) {
    if (Clock::now() > deadline) {
      ::kill(member.pid, SIGKILL);
      while (::waitpid(member.pid, nullptr, 0) < 0 && errno == EINTR) {}
      member.pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void EtcdCluster::stop() {
  // One at a time, the leader first: it hands leadership over, then each follower exits
  // at once. Followers stopped side by side, or under a live leader, linger for seconds.
  if (std::optional<int> first = leader(milliseconds(0))) {
    terminate(members_[static_cast<std::size_t>(*first)], SIGTERM);
  }
  for (Member& m : members_) terminate(m, SIGTERM);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> all;
  for (const Member& m : members_) all.push_back(url(m.client_port));
  return all;
}

std::string EtcdCluster::endpoint(int member) const {
  return url(members_.at(static_cast<std::size_t>(member)).client_port);
}
int EtcdCluster::client_port(int member) const {
  return members_.at(static_cast<std::size_t>(member)).client_port;
}
int EtcdCluster::peer_port(int member) const {
  return members_.at(static_cast<std::size_t>(member)).peer_port;
}
bool EtcdCluster::running(int member) const {
  return members_.at(static_cast<std::size_t>(member)).pid >= 0;
}
pid_t EtcdCluster::pid(int member) const {
  return members_.at(static_cast<std::size_t>(member)).pid;
}
const fs::path& EtcdCluster::log_file(int member) const {
  return members_.at(static_cast<std::size_t>(member)).log;
}

bool EtcdCluster::healthy(int member) const {
  return run_etcdctl({endpoint(member)},
                     {"--dial-timeout", "500ms", "--command-timeout", "1s", "endpoint", "health"},
                     Credentials::kClientCertificate)
      .ok();
}

std::optional<int> EtcdCluster::leader(milliseconds timeout) const {
  static const std::regex member_id(R"re("member_id":(\d+))re");
  static const std::regex leader_id(R"re("leader":(\d+))re");
  const auto deadline = Clock::now() + timeout;
  while (true) {
    for (int k = 0; k < size(); ++k) {
      const Member& m = members_[static_cast<std::size_t>(k)];
      if (m.pid < 0 || m.paused) continue;
      CommandResult r = etcdctl_at(k, {"--dial-timeout", "500ms", "--command-timeout", "1s",
                                       "endpoint", "status", "-w", "json"});
      std::smatch self;
      std::smatch lead;
      if (r.ok() && std::regex_search(r.out, self, member_id) &&
          std::regex_search(r.out, lead, leader_id) && self[1] == lead[1])
        return k;
    }
    if (Clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

void EtcdCluster::kill_member(int member, int signal) {
  terminate(members_.at(static_cast<std::size_t>(member)), signal);
}

void EtcdCluster::pause_member(int member) {
  Member& m = members_.at(static_cast<std::size_t>(member));
  if (m.pid < 0 || m.paused) return;
  ::kill(m.pid, SIGSTOP);
  m.paused = true;
}

void EtcdCluster::resume_member(int member) {
  Member& m = members_.at(static_cast<std::size_t>(member));
  if (m.pid < 0 || !m.paused) return;
  ::kill(m.pid, SIGCONT);
  m.paused = false;
}

core::Result<void> EtcdCluster::restart_member(int member) {
  Member& m = members_.at(static_cast<std::size_t>(member));
  if (m.pid >= 0) return failure(m.name + " is still running");
  MEDLEDGER_TRY(spawn(member, true));
  return wait_healthy({member}, nullptr);
}

CommandResult EtcdCluster::run_etcdctl(const std::vector<std::string>& endpoints,
                                       const std::vector<std::string>& args,
                                       Credentials credentials) const {
  std::string joined;
  for (const auto& e : endpoints) joined += (joined.empty() ? "" : ",") + e;
  std::vector<std::string> argv = {MEDLEDGER_ETCDCTL_BIN,
                                   "--endpoints",
                                   joined,
                                   "--cacert",
                                   ca_file_.string(),
                                   "--dial-timeout",
                                   "2s",
                                   "--command-timeout",
                                   "5s"};
  if (credentials == Credentials::kClientCertificate) {
    argv.insert(argv.end(), {"--cert", client_cert_.string(), "--key", client_key_.string()});
  }
  // The caller's flags come last, so they override the defaults above.
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

CommandResult EtcdCluster::etcdctl(const std::vector<std::string>& args,
                                   Credentials credentials) const {
  std::vector<std::string> live;
  for (const Member& m : members_) {
    if (m.pid >= 0 && !m.paused) live.push_back(url(m.client_port));
  }
  if (live.empty()) return CommandResult{-1, "", "no live etcd member"};
  return run_etcdctl(live, args, credentials);
}

CommandResult EtcdCluster::etcdctl_at(int member, const std::vector<std::string>& args,
                                      Credentials credentials) const {
  return run_etcdctl({endpoint(member)}, args, credentials);
}

}  // namespace medledger::testing

// Real etcd members for tests: a private TLS PKI and N = 1 or 3 `etcd` child processes on
// free 127.0.0.1 ports, each with its own data directory and log file under one temporary
// directory. Client and peer ports both require a certificate from the cluster's CA.
//
// The cluster stops exactly the processes it started (SIGTERM, then SIGKILL after a bound)
// and reaps each one; a system etcd on the default ports is never used. Members also die
// with the thread that started them (PR_SET_PDEATHSIG), so a crashed test leaves none.
#pragma once

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "medledger/core/result.h"
#include "temp_dir.h"

namespace medledger::testing {

/// `count` distinct free 127.0.0.1 ports, released before they are returned (a process
/// that needs its port in its configuration before it starts; it may race another).
std::vector<int> free_ports(std::size_t count);

struct EtcdOptions {
  int members = 3;  // 1 or 3
  /// --quota-backend-bytes; 0 keeps etcd's default (2 GiB). A small quota lets a test
  /// raise the NOSPACE alarm.
  std::uint64_t quota_backend_bytes = 0;
  int snapshot_count = 1000;
  int heartbeat_interval_ms = 50;
  int election_timeout_ms = 500;
  /// --max-request-bytes; 0 keeps etcd's default (1.5 MiB).
  std::uint64_t max_request_bytes = 0;
  /// How long start() and restart_member() wait for the members to report healthy.
  std::chrono::milliseconds start_timeout{20000};
  /// PEM files of further CAs whose client certificates the members accept besides the
  /// cluster CA's (e.g. a hospital CA, so one node certificate serves etcd and peer
  /// nodes alike). Read when a member starts, so they may be written after construction.
  std::vector<std::filesystem::path> extra_trusted_ca_files{};
};

/// What a child command (etcdctl) did: exit status (128 + signal when killed; -1 when it
/// could not run or timed out), standard output and standard error.
struct CommandResult {
  int status = -1;
  std::string out;
  std::string err;
  bool ok() const { return status == 0; }
};

class EtcdCluster {
 public:
  /// Whether an etcdctl call presents the client certificate.
  enum class Credentials { kClientCertificate, kNone };

  explicit EtcdCluster(EtcdOptions options = {});
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  /// Makes the PKI (once), starts every member and waits until each is healthy. A start
  /// lost to a port race is retried on fresh ports.
  core::Result<void> start();
  /// SIGTERM to each member still running, the leader first and one at a time (they exit
  /// at once that way), SIGKILL after a bound; reaps each one.
  void stop();

  int size() const { return static_cast<int>(members_.size()); }
  /// "https://127.0.0.1:PORT" of every member, in member order (live or not).
  std::vector<std::string> endpoints() const;
  std::string endpoint(int member) const;
  int client_port(int member) const;
  int peer_port(int member) const;
  bool running(int member) const;
  pid_t pid(int member) const;
  const std::filesystem::path& log_file(int member) const;
  const std::filesystem::path& directory() const { return dir_.path(); }

  /// The cluster CA, and the client certificate (EKU clientAuth) a medledger node presents.
  const std::filesystem::path& ca_file() const { return ca_file_; }
  const std::filesystem::path& client_cert_file() const { return client_cert_; }
  const std::filesystem::path& client_key_file() const { return client_key_; }
  /// Another client certificate of the cluster CA (CN=`name`, EKU clientAuth), e.g. one per
  /// medledger node; written to directory()/name.pem and name.key.
  struct ClientCertificate {
    std::filesystem::path cert;
    std::filesystem::path key;
  };
  core::Result<ClientCertificate> issue_client_certificate(const std::string& name);

  /// The live member that reports itself leader, waiting up to `timeout` for one (an
  /// election after a leader died); nullopt if none within it.
  std::optional<int> leader(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  /// Whether `etcdctl endpoint health` succeeds on that member.
  bool healthy(int member) const;

  /// Sends `signal` to the member and reaps it (SIGKILL if it has not exited after a bound).
  void kill_member(int member, int signal = SIGKILL);
  /// SIGSTOP / SIGCONT: the member stays a process but stops answering (a hung host).
  void pause_member(int member);
  void resume_member(int member);
  /// Starts a stopped member again on its data directory (--initial-cluster-state existing)
  /// and waits until it is healthy.
  core::Result<void> restart_member(int member);

  /// etcdctl against every live member (or one), with the CA and, by default, the client
  /// certificate: e.g. etcdctl({"put", "k", "v"}), etcdctl({"alarm", "list"}).
  CommandResult etcdctl(const std::vector<std::string>& args,
                        Credentials credentials = Credentials::kClientCertificate) const;
  CommandResult etcdctl_at(int member, const std::vector<std::string>& args,
                           Credentials credentials = Credentials::kClientCertificate) const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
    bool paused = false;
    std::filesystem::path data_dir;
    std::filesystem::path log;
    std::filesystem::path cert;
    std::filesystem::path key;
  };

  core::Result<void> make_pki();
  core::Result<void> issue_leaf(const std::string& cn, const std::filesystem::path& cert,
                                const std::filesystem::path& key, const std::string& eku,
                                bool server) const;
  core::Result<void> start_once(int attempt, bool* port_race);
  core::Result<void> spawn(int member, bool existing);
  core::Result<void> wait_healthy(const std::vector<int>& members, bool* port_race);
  /// Reaps the member if it has exited; true if it has (pid becomes -1).
  bool reap_if_exited(Member& member);
  std::vector<std::string> member_args(int member, bool existing) const;
  CommandResult run_etcdctl(const std::vector<std::string>& endpoints,
                            const std::vector<std::string>& args, Credentials credentials) const;
  std::string log_tail(int member) const;
  /// The members' --trusted-ca-file: the cluster CA's, or with extra_trusted_ca_files a
  /// bundle of it and them under directory(), which write_client_trust_file() (re)writes.
  std::filesystem::path client_trust_file() const;
  core::Result<void> write_client_trust_file() const;
  /// Sends `signal` and reaps the member, with SIGKILL if it outlives a bound.
  void terminate(Member& member, int signal);

  EtcdOptions options_;
  TempDir dir_;
  std::filesystem::path ca_file_;
  std::filesystem::path ca_key_;
  std::filesystem::path client_cert_;
  std::filesystem::path client_key_;
  std::string token_;
  std::vector<Member> members_;
};

}  // namespace medledger::testing
